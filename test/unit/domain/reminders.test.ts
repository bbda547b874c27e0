/** Reminder rules, pure: which reminders are owed on a date at a time, templates, quiet hours, keys. */
import {
  dueReminders,
  entryFires,
  horizonDays,
  inQuietHours,
  nextAllowedSend,
  reminderKey,
  renderTemplate,
  scanTimes,
  tradeMessageKey,
  unknownPlaceholders,
  type ReminderRule,
  type ReminderRuleEntry,
} from "../../../domain/reminders";
import { validateRuleContent } from "../../../domain/rules";

const TZ = "Asia/Shanghai";
const at = (local: string) => Date.parse(local + "+08:00");

describe("entryFires: an installment due 2026-02-10", () => {
  const before3: ReminderRuleEntry = { trigger: "BEFORE_DUE", offsetDays: 3, template: "x" };
  const due: ReminderRuleEntry = { trigger: "DUE", template: "x" };
  const list: ReminderRuleEntry = { trigger: "OVERDUE", overdueDays: [1, 3, 7], template: "x" };
  const every5: ReminderRuleEntry = { trigger: "OVERDUE", everyDays: 5, template: "x" };
  const legacy: ReminderRuleEntry = { trigger: "OVERDUE", offsetDays: 2, template: "x" };
  const event: ReminderRuleEntry = { trigger: "DEBIT_FAILURE", template: "x" };
  it.each([
    ["before due 3 days", before3, "2026-02-07", 0],
    ["before due: 2 days before is not 3", before3, "2026-02-08", null],
    ["before due: not on the due day", before3, "2026-02-10", null],
    ["due day", due, "2026-02-10", 0],
    ["due: not the day before", due, "2026-02-09", null],
    ["due: not the day after", due, "2026-02-11", null],
    ["overdue list day 1", list, "2026-02-11", 1],
    ["overdue list day 2 is not listed", list, "2026-02-12", null],
    ["overdue list day 3", list, "2026-02-13", 3],
    ["overdue list day 7", list, "2026-02-17", 7],
    ["overdue list day 8", list, "2026-02-18", null],
    ["overdue list never on the due day", list, "2026-02-10", null],
    ["every 5 days: day 1", every5, "2026-02-11", 1],
    ["every 5 days: day 5 is not", every5, "2026-02-15", null],
    ["every 5 days: day 6", every5, "2026-02-16", 6],
    ["every 5 days: day 11", every5, "2026-02-21", 11],
    ["every 5 days across a month end: day 21", every5, "2026-03-03", 21],
    ["legacy OVERDUE offsetDays 2: day 2", legacy, "2026-02-12", 2],
    ["legacy OVERDUE offsetDays 2: day 1 is not", legacy, "2026-02-11", null],
    ["event triggers are never scheduled", event, "2026-02-10", null],
  ])("%s", (_name, entry, date, daysOverdue) => {
    const r = entryFires(entry, "2026-02-10", date);
    expect(r === null ? null : r.daysOverdue).toBe(daysOverdue);
  });
});

describe("dueReminders", () => {
  const rule: ReminderRule = {
    rules: [
      { trigger: "BEFORE_DUE", offsetDays: 3, time: "10:00", template: "B {period}" },
      { trigger: "DUE", time: "09:00", template: "D {period}" },
      { trigger: "OVERDUE", overdueDays: [1, 3], time: "10:00", template: "O {period} {daysOverdue}" },
      { trigger: "DEBIT_FAILURE", template: "F" },
    ],
    quietHours: { start: "21:00", end: "08:00" },
    maxPerDay: 2,
  };
  const plan = {
    planId: "PL1",
    productCode: "P12",
    installments: [
      { period: 1, dueDate: "2026-02-10", outstanding: "100.00", status: "OVERDUE" },
      { period: 2, dueDate: "2026-02-13", outstanding: "100.00", status: "PENDING" },
      { period: 3, dueDate: "2026-02-11", outstanding: "0.00", status: "PAID" },
    ],
  };
  it("owes the entries whose time has passed, per unpaid installment, with their keys", () => {
    expect(dueReminders(plan, rule, "2026-02-10", "08:59")).toEqual([]);
    expect(dueReminders(plan, rule, "2026-02-10", "09:00").map((d) => d.key)).toEqual(["PL1:1:DUE:1:2026-02-10"]);
    expect(dueReminders(plan, rule, "2026-02-10", "10:00").map((d) => [d.key, d.time])).toEqual([
      ["PL1:1:DUE:1:2026-02-10", "09:00"],
      ["PL1:2:BEFORE_DUE:0:2026-02-10", "10:00"],
    ]);
    // The paid period 3 (due 02-11) owes nothing on 02-12 (its day 1); period 1 is 2 days overdue: not listed.
    expect(dueReminders(plan, rule, "2026-02-12", "23:59")).toEqual([]);
    const d13 = dueReminders(plan, rule, "2026-02-13", "10:00");
    expect(d13.map((d) => [d.trigger, d.period, d.daysOverdue])).toEqual([
      ["DUE", 2, 0],
      ["OVERDUE", 1, 3],
    ]);
  });
  it("scan times and horizon", () => {
    expect(scanTimes(rule)).toEqual(["09:00", "10:00"]);
    expect(horizonDays(rule)).toBe(3);
    expect(scanTimes({ rules: [{ trigger: "DUE", template: "x" }] })).toEqual(["09:00"]); // no time: the default
  });
});

describe("templates", () => {
  it.each([
    ["all variables", "{name}: #{period} {amount} due {dueDate}, {daysOverdue}d, {planId}/{productCode}", "Li Si: #2 8884.88 due 2026-02-15, 3d, PL9/P12"],
    ["repeated", "{amount} and {amount}", "8884.88 and 8884.88"],
    ["unknown left as written", "{name} {balance}", "Li Si {balance}"],
    ["no variables", "Hello", "Hello"],
    ["braces that are not variables", "{ name } {}", "{ name } {}"],
  ])("%s", (_n, template, text) => {
    expect(renderTemplate(template, { name: "Li Si", period: 2, amount: "8884.88", dueDate: "2026-02-15", daysOverdue: 3, planId: "PL9", productCode: "P12" })).toBe(text);
  });
  it("a variable without a value stays as written", () => {
    expect(renderTemplate("Dear {name}", {})).toBe("Dear {name}");
  });
  it("unknown variables are refused when the rule is saved", () => {
    expect(unknownPlaceholders("{name} {balance} {foo}")).toEqual(["balance", "foo"]);
    expect(() => validateRuleContent("REMINDER", { rules: [{ trigger: "DUE", time: "09:00", template: "{balance}" }] })).toThrow(/Unknown template variables \{balance\}/);
  });
});

describe("REMINDER rule content", () => {
  const ok = (content: unknown) => validateRuleContent("REMINDER", content);
  it("accepts the old shape (backward compatible) and the new fields", () => {
    expect(ok({ rules: [{ trigger: "OVERDUE", offsetDays: 1, time: "10:00", template: "x" }], quietHours: { start: "21:00", end: "08:00" } })).toBeTruthy();
    const v: any = ok({ rules: [{ trigger: "OVERDUE", overdueDays: [7, 1, 3], time: "10:00", template: "x" }], maxPerDay: 2 });
    expect(v.rules[0].overdueDays).toEqual([1, 3, 7]);
  });
  it.each([
    ["both a list and every N", { rules: [{ trigger: "OVERDUE", overdueDays: [1], everyDays: 5, template: "x" }] }],
    ["overdue days on DUE", { rules: [{ trigger: "DUE", overdueDays: [1], template: "x" }] }],
    ["duplicate overdue days", { rules: [{ trigger: "OVERDUE", overdueDays: [1, 1], template: "x" }] }],
    ["a time on an event trigger", { rules: [{ trigger: "DEBIT_FAILURE", time: "10:00", template: "x" }] }],
    ["empty quiet hours", { rules: [{ trigger: "DUE", template: "x" }], quietHours: { start: "08:00", end: "08:00" } }],
    ["a zero cap", { rules: [{ trigger: "DUE", template: "x" }], maxPerDay: 0 }],
  ])("refuses %s", (_n, content) => {
    expect(() => ok(content)).toThrow(expect.objectContaining({ code: "INVALID_RULE" }));
  });
});

describe("quiet hours", () => {
  const wrap = { start: "21:00", end: "08:00" };
  const day = { start: "12:00", end: "14:00" };
  it.each([
    [wrap, "20:59", false],
    [wrap, "21:00", true],
    [wrap, "23:59", true],
    [wrap, "00:00", true],
    [wrap, "07:59", true],
    [wrap, "08:00", false],
    [day, "11:59", false],
    [day, "12:00", true],
    [day, "13:59", true],
    [day, "14:00", false],
  ])("%j at %s: %s", (q, t, quiet) => {
    expect(inQuietHours(t, q)).toBe(quiet);
  });
  it.each([
    ["outside: now", "2026-02-14T20:00:00", "2026-02-14T20:00:00"],
    ["evening: the next morning", "2026-02-14T22:00:00", "2026-02-15T08:00:00"],
    ["after midnight: the same morning", "2026-02-15T03:30:00", "2026-02-15T08:00:00"],
    ["month end", "2026-02-28T23:00:00", "2026-03-01T08:00:00"],
  ])("next allowed send, %s", (_n, now, next) => {
    expect(nextAllowedSend(at(now), wrap, TZ)).toBe(at(next));
  });
  it("no quiet hours: now", () => {
    expect(nextAllowedSend(at("2026-02-14T23:00:00"), undefined, TZ)).toBe(at("2026-02-14T23:00:00"));
  });
});

describe("dedupe keys", () => {
  it("one per installment, rule entry and date; one per trade, trigger and entry", () => {
    expect(reminderKey("PL1", 2, "OVERDUE", 2, "2026-02-13")).toBe("PL1:2:OVERDUE:2:2026-02-13");
    expect(reminderKey("PL1", 2, "OVERDUE", 2, "2026-02-14")).not.toBe(reminderKey("PL1", 2, "OVERDUE", 2, "2026-02-13"));
    expect(tradeMessageKey("DT-1", "DEBIT_FAILURE", 3)).toBe("DT-1:DEBIT_FAILURE:3");
  });
});
