import { generateSchedule, validatePlanInput, type PlanInput } from "../../../domain/amortization";
import { DomainError } from "../../../domain/errors";

const EI: PlanInput = { principal: "10000.00", annualRate: "0.12", term: 12, repaymentMethod: "EQUAL_INSTALLMENT", startDate: "2025-01-15" };
const LEASE: PlanInput = { ...EI, repaymentMethod: "LEASE_ANNUITY" };
const BULLET_DAYS: PlanInput = { ...EI, repaymentMethod: "BULLET", termUnit: "DAY", term: 90 };
const CUSTOM: PlanInput = {
  principal: "1000.00",
  annualRate: "0",
  term: 2,
  repaymentMethod: "CUSTOM",
  startDate: "2025-01-15",
  customLines: [
    { dueDate: "2025-02-15", principal: "400.00" },
    { dueDate: "2025-03-15", principal: "600.00", interest: "10.00" },
  ],
};
const lines = (...l: NonNullable<PlanInput["customLines"]>) => ({ customLines: l, term: l.length });

// `as unknown as PlanInput`: these inputs are deliberately outside the type, as JSON callers send them.
const bad = (base: PlanInput, patch: Record<string, unknown>) => ({ ...base, ...patch }) as unknown as PlanInput;

const invalid: Array<[name: string, input: PlanInput, code: string, field: string]> = [
  // method
  ["unknown method", bad(EI, { repaymentMethod: "BALLOON" }), "UNSUPPORTED_METHOD", "repaymentMethod"],
  ["missing method", bad(EI, { repaymentMethod: undefined }), "UNSUPPORTED_METHOD", "repaymentMethod"],
  ["lower-case method", bad(EI, { repaymentMethod: "bullet" }), "UNSUPPORTED_METHOD", "repaymentMethod"],
  // principal
  ["zero principal", bad(EI, { principal: "0" }), "INVALID_AMOUNT", "principal"],
  ["zero principal with decimals", bad(EI, { principal: "0.00" }), "INVALID_AMOUNT", "principal"],
  ["negative principal", bad(EI, { principal: "-100.00" }), "INVALID_AMOUNT", "principal"],
  ["three decimals", bad(EI, { principal: "100.001" }), "INVALID_AMOUNT", "principal"],
  ["exponent notation", bad(EI, { principal: "1e5" }), "INVALID_AMOUNT", "principal"],
  ["number instead of string", bad(EI, { principal: 10000 }), "INVALID_AMOUNT", "principal"],
  ["16 integer digits", bad(EI, { principal: "1000000000000000" }), "INVALID_AMOUNT", "principal"],
  // rate
  ["rate 1", bad(EI, { annualRate: "1" }), "INVALID_RATE", "annualRate"],
  ["rate 1.5", bad(EI, { annualRate: "1.5" }), "INVALID_RATE", "annualRate"],
  ["negative rate", bad(EI, { annualRate: "-0.1" }), "INVALID_RATE", "annualRate"],
  ["percent", bad(EI, { annualRate: "12%" }), "INVALID_RATE", "annualRate"],
  ["11 decimals", bad(EI, { annualRate: "0.12345678901" }), "INVALID_RATE", "annualRate"],
  ["number rate", bad(EI, { annualRate: 0.12 }), "INVALID_RATE", "annualRate"],
  // term
  ["term 0", bad(EI, { term: 0 }), "INVALID_TERM", "term"],
  ["term 601", bad(EI, { term: 601 }), "INVALID_TERM", "term"],
  ["fractional term", bad(EI, { term: 12.5 }), "INVALID_TERM", "term"],
  ["string term", bad(EI, { term: "12" }), "INVALID_TERM", "term"],
  ["NaN term", bad(EI, { term: Number.NaN }), "INVALID_TERM", "term"],
  ["3651 days", bad(BULLET_DAYS, { term: 3651 }), "INVALID_TERM", "term"],
  ["termUnit DAY with EQUAL_INSTALLMENT", bad(EI, { termUnit: "DAY" }), "INVALID_TERM", "termUnit"],
  ["termUnit DAY with LEASE_ANNUITY", bad(LEASE, { termUnit: "DAY" }), "INVALID_TERM", "termUnit"],
  ["unknown termUnit", bad(EI, { termUnit: "YEAR" }), "INVALID_TERM", "termUnit"],
  // dates
  ["2025-02-30", bad(EI, { startDate: "2025-02-30" }), "INVALID_DATE", "startDate"],
  ["2025-13-01", bad(EI, { startDate: "2025-13-01" }), "INVALID_DATE", "startDate"],
  ["2023-02-29", bad(EI, { startDate: "2023-02-29" }), "INVALID_DATE", "startDate"],
  ["slashes", bad(EI, { startDate: "2025/01/15" }), "INVALID_DATE", "startDate"],
  ["missing start date", bad(EI, { startDate: undefined }), "INVALID_DATE", "startDate"],
  ["plan ending after 9999", bad(EI, { startDate: "9999-06-01" }), "INVALID_DATE", "startDate"],
  ["day bill ending after 9999", bad(BULLET_DAYS, { startDate: "9999-12-01", term: 31 }), "INVALID_DATE", "startDate"],
  ["dueDay 0", bad(EI, { dueDay: 0 }), "INVALID_DATE", "dueDay"],
  ["dueDay 32", bad(EI, { dueDay: 32 }), "INVALID_DATE", "dueDay"],
  ["dueDay 1.5", bad(EI, { dueDay: 1.5 }), "INVALID_DATE", "dueDay"],
  ["dueDay as string", bad(EI, { dueDay: "5" }), "INVALID_DATE", "dueDay"],
  ["dueDay with a DAY term", bad(BULLET_DAYS, { dueDay: 5 }), "VALIDATION_ERROR", "dueDay"],
  ["dueDay with CUSTOM", bad(CUSTOM, { dueDay: 5 }), "VALIDATION_ERROR", "dueDay"],
  // conventions
  ["unknown interestBasis", bad(EI, { interestBasis: "WEEKLY" }), "VALIDATION_ERROR", "interestBasis"],
  ["MONTHLY basis with a DAY term", bad(BULLET_DAYS, { interestBasis: "MONTHLY" }), "VALIDATION_ERROR", "interestBasis"],
  ["interestBasis with CUSTOM", bad(CUSTOM, { interestBasis: "DAILY" }), "VALIDATION_ERROR", "interestBasis"],
  ["unknown dayCount", bad(EI, { dayCount: "ACT/ACT" }), "VALIDATION_ERROR", "dayCount"],
  ["dayCount with CUSTOM", bad(CUSTOM, { dayCount: "ACT/365" }), "VALIDATION_ERROR", "dayCount"],
  // lease options
  ["leaseTiming without LEASE_ANNUITY", bad(EI, { leaseTiming: "ADVANCE" }), "VALIDATION_ERROR", "leaseTiming"],
  ["unknown leaseTiming", bad(LEASE, { leaseTiming: "UPFRONT" }), "VALIDATION_ERROR", "leaseTiming"],
  ["residual without LEASE_ANNUITY", bad(EI, { residual: "100.00" }), "VALIDATION_ERROR", "residual"],
  ["residual equal to principal", bad(LEASE, { residual: "10000.00" }), "INVALID_AMOUNT", "residual"],
  ["residual above principal", bad(LEASE, { residual: "10000.01" }), "INVALID_AMOUNT", "residual"],
  ["negative residual", bad(LEASE, { residual: "-1" }), "INVALID_AMOUNT", "residual"],
  // P/(1+r) = 10000/1.01 = 9900.990…: a larger residual in advance means rents below the interest.
  ["advance residual above P/(1+r)", bad(LEASE, { leaseTiming: "ADVANCE", residual: "9901.00" }), "INVALID_AMOUNT", "residual"],
  ["residual with 3 decimals", bad(LEASE, { residual: "1.001" }), "INVALID_AMOUNT", "residual"],
  // fee
  ["negative fee", bad(EI, { fee: "-1.00" }), "INVALID_AMOUNT", "fee"],
  ["fee with 3 decimals", bad(EI, { fee: "1.005" }), "INVALID_AMOUNT", "fee"],
  ["numeric fee", bad(EI, { fee: 5 }), "INVALID_AMOUNT", "fee"],
  // custom lines
  ["customLines without CUSTOM", bad(EI, { customLines: CUSTOM.customLines }), "VALIDATION_ERROR", "customLines"],
  ["CUSTOM without lines", bad(CUSTOM, { customLines: undefined }), "INVALID_SCHEDULE", "customLines"],
  ["CUSTOM with no line", bad(CUSTOM, { customLines: [] }), "INVALID_SCHEDULE", "customLines"],
  ["CUSTOM lines not an array", bad(CUSTOM, { customLines: { dueDate: "2025-02-15", principal: "1000" } }), "INVALID_SCHEDULE", "customLines"],
  ["CUSTOM over 600 lines", bad(CUSTOM, { term: 600, customLines: Array.from({ length: 601 }, () => ({ dueDate: "2025-02-15", principal: "1" })) }), "INVALID_SCHEDULE", "customLines"],
  ["CUSTOM term differs from the lines", bad(CUSTOM, { term: 3 }), "INVALID_TERM", "term"],
  ["principals sum below", bad(CUSTOM, lines({ dueDate: "2025-02-15", principal: "400.00" }, { dueDate: "2025-03-15", principal: "599.99" })), "INVALID_SCHEDULE", "customLines"],
  ["principals sum above", bad(CUSTOM, lines({ dueDate: "2025-02-15", principal: "400.01" }, { dueDate: "2025-03-15", principal: "600.00" })), "INVALID_SCHEDULE", "customLines"],
  ["due date equal to start", bad(CUSTOM, lines({ dueDate: "2025-01-15", principal: "400.00" }, { dueDate: "2025-03-15", principal: "600.00" })), "INVALID_SCHEDULE", "customLines[0].dueDate"],
  ["due date before start", bad(CUSTOM, lines({ dueDate: "2025-01-14", principal: "1000.00" })), "INVALID_SCHEDULE", "customLines[0].dueDate"],
  ["due dates equal", bad(CUSTOM, lines({ dueDate: "2025-02-15", principal: "400.00" }, { dueDate: "2025-02-15", principal: "600.00" })), "INVALID_SCHEDULE", "customLines[1].dueDate"],
  ["due dates decreasing", bad(CUSTOM, lines({ dueDate: "2025-03-15", principal: "400.00" }, { dueDate: "2025-02-15", principal: "600.00" })), "INVALID_SCHEDULE", "customLines[1].dueDate"],
  ["impossible due date", bad(CUSTOM, lines({ dueDate: "2025-02-15", principal: "400.00" }, { dueDate: "2025-02-29", principal: "600.00" })), "INVALID_DATE", "customLines[1].dueDate"],
  ["negative line principal", bad(CUSTOM, lines({ dueDate: "2025-02-15", principal: "1100.00" }, { dueDate: "2025-03-15", principal: "-100.00" })), "INVALID_AMOUNT", "customLines[1].principal"],
  ["line interest with 3 decimals", bad(CUSTOM, lines({ dueDate: "2025-02-15", principal: "1000.00", interest: "0.001" })), "INVALID_AMOUNT", "customLines[0].interest"],
  ["negative line fee", bad(CUSTOM, lines({ dueDate: "2025-02-15", principal: "1000.00", fee: "-1" })), "INVALID_AMOUNT", "customLines[0].fee"],
  ["a line with nothing to pay", bad(CUSTOM, lines({ dueDate: "2025-02-15", principal: "0" }, { dueDate: "2025-03-15", principal: "1000.00" })), "INVALID_SCHEDULE", "customLines[0]"],
  ["a line that is not an object", bad(CUSTOM, lines({ dueDate: "2025-02-15", principal: "1000.00" }, null as never)), "INVALID_SCHEDULE", "customLines[1]"],
  // input
  ["not an object", "EQUAL_INSTALLMENT" as unknown as PlanInput, "VALIDATION_ERROR", "input"],
  ["null", null as unknown as PlanInput, "VALIDATION_ERROR", "input"],
];

describe("every invalid input is refused with its code and field", () => {
  test.each(invalid.map(([name, input, code, field]) => [name, code, field, input] as const))("%s → %s (%s)", (_name, code, field, input) => {
    const matcher = expect.objectContaining({ code, data: expect.objectContaining({ field }) });
    expect(() => validatePlanInput(input)).toThrow(matcher);
    expect(() => generateSchedule(input)).toThrow(matcher);
  });

  test("errors are DomainErrors with a 422 status and a readable message", () => {
    expect.assertions(4);
    try {
      generateSchedule(bad(EI, { term: 0 }));
    } catch (err) {
      expect(err).toBeInstanceOf(DomainError);
      const e = err as DomainError;
      expect(e.status).toBe(422);
      expect(e.message).toMatch(/term/);
      expect(e.data).toEqual({ field: "term" });
    }
  });

  test("the custom sum error carries the expected and actual totals", () => {
    expect(() => generateSchedule(bad(CUSTOM, lines({ dueDate: "2025-02-15", principal: "999.99" })))).toThrow(
      expect.objectContaining({ code: "INVALID_SCHEDULE", data: { field: "customLines", expected: "1000.00", actual: "999.99" } }),
    );
  });
});

describe("valid edge inputs are accepted", () => {
  test.each<[string, PlanInput]>([
    ["rate 0", { ...EI, annualRate: "0" }],
    ["rate 0.9999999999", { ...EI, annualRate: "0.9999999999" }],
    ["principal 0.01", { ...EI, principal: "0.01" }],
    ["principal 999999999999999.99", { ...EI, principal: "999999999999999.99" }],
    ["term 1", { ...EI, term: 1 }],
    ["term 600", { ...EI, term: 600 }],
    ["3650-day bill", { ...BULLET_DAYS, term: 3650 }],
    ["1-day bill, DAILY basis spelled out", { ...BULLET_DAYS, term: 1, interestBasis: "DAILY" }],
    ["dueDay 31 from a mid-month start", { ...EI, dueDay: 31 }],
    ["residual 0", { ...LEASE, residual: "0" }],
    ["residual just below principal (arrears)", { ...LEASE, residual: "9999.99" }],
  ["advance residual at P/(1+r) rounded down", { ...LEASE, leaseTiming: "ADVANCE", residual: "9900.99" }],
    ["optional fields as null (JSON callers)", bad(EI, { dueDay: null, fee: null, dayCount: null, interestBasis: null, residual: null, leaseTiming: null, customLines: null, termUnit: null })],
    ["CUSTOM with a zero-principal line that pays interest", { ...CUSTOM, ...lines({ dueDate: "2025-02-15", principal: "0", interest: "5.00" }, { dueDate: "2025-03-15", principal: "1000.00" }) }],
    ["CUSTOM with 600 lines", { ...CUSTOM, ...lines(...Array.from({ length: 600 }, (_, i) => ({ dueDate: `${2026 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, "0")}-01`, principal: i === 0 ? "401.00" : "1.00" }))) }],
  ])("%s", (_name, input) => {
    expect(() => validatePlanInput(input)).not.toThrow();
    const s = generateSchedule(input);
    expect(s.totalPrincipal).toBe(input.principal.includes(".") ? input.principal : `${input.principal}.00`);
  });
});
