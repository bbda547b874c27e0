/** The shared date and amount rules every contract uses, compiled by the broker's own validator. */
import { ServiceBroker } from "moleculer";
import { adjustPositionParams } from "../../../contracts/ledger.contract";
import { startRunParams, uploadRawParams } from "../../../contracts/reconciler.contract";
import { feesPauseParams } from "../../../contracts/servicing.contract";
import { dateRule, positiveAmountRule } from "../../../contracts/common";

const broker = new ServiceBroker({ logger: false, validator: true });
const compile = (schema: Record<string, unknown>) => (broker.validator as any).compile(schema) as (v: unknown) => true | Array<{ type: string; field: string }>;

describe("the shared rules", () => {
  it("takes real calendar dates only", () => {
    const check = compile({ $$strict: true, d: dateRule });
    for (const ok of ["2026-02-28", "2028-02-29", "2026-12-31", "0001-01-01"]) expect({ ok, r: check({ d: ok }) }).toEqual({ ok, r: true });
    for (const bad of ["2026-02-30", "2026-13-01", "0000-00-00", "2027-02-29", "2026-04-31", "2026-2-1", "20260201", ""]) {
      const r = check({ d: bad });
      expect({ bad, refused: Array.isArray(r) }).toEqual({ bad, refused: true });
    }
  });

  it("takes positive amounts with at most 15 integer digits and 2 decimals", () => {
    const check = compile({ $$strict: true, a: positiveAmountRule });
    for (const ok of ["0.01", "1", "1.5", "999999999999999.99"]) expect({ ok, r: check({ a: ok }) }).toEqual({ ok, r: true });
    for (const bad of ["0", "0.0", "0.00", "-1.00", "1.234", "1000000000000000.00", "1e3", " 1.00"]) expect({ bad, refused: Array.isArray(check({ a: bad })) }).toEqual({ bad, refused: true });
    expect(Array.isArray(check({ a: 1 }))).toBe(true); // a JSON number is never an amount
  });

  it("refuses a zero top-up, an unknown field of reconciliation, and coerced body values", () => {
    expect(Array.isArray(compile(adjustPositionParams)({ channel: "BANK_A", amount: "0.00", direction: "TOP_UP", reason: "float" }))).toBe(true);
    expect(compile(adjustPositionParams)({ channel: "BANK_A", amount: "10.00", direction: "TOP_UP", reason: "float" })).toBe(true);
    expect(Array.isArray(compile(startRunParams)({ channel: "BANK_A", date: "2026-02-15", extra: 1 }))).toBe(true);
    expect(Array.isArray(compile(startRunParams)({ channel: "BANK_A", date: "2026-02-15", wait: "true" }))).toBe(true);
    expect(compile(uploadRawParams)({ channel: "BANK_A", date: "2026-02-15", wait: "false" })).toBe(true); // from the query string
    for (const period of [true, [1], "1"]) expect(Array.isArray(compile(feesPauseParams)({ planId: "PL1", period, paused: true, reason: "dispute" }))).toBe(true);
  });
});
