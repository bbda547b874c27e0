/**
 * A month of reminders under the test clock, on a whole node (TEST_CLOCK=1, JOB_TICK_MS=50): the
 * scheduled scan starts by itself at each rule time; debit results arrive as envelopes on the durable
 * events channel; the full message log is compared with a table written out by hand from the rule.
 *
 * Rule (funder F001): BEFORE_DUE 3 days at 10:00, DUE at 09:00, OVERDUE days [1, 3] at 10:00,
 * DEBIT_FAILURE (event-driven), quiet hours 21:00–08:00, at most 2 messages per borrower per day.
 *
 * Plans (first installment 8884.88 each, the fixture's):
 *   A — Zhang San (C1), due 02-10, never paid
 *   C — Zhang San (C1), due 02-13, never paid
 *   B — Li Si (C2),     due 02-15, paid offline on 02-12 at 23:00 (before its due date)
 * Events: a debit of A fails on 02-10 at 12:30 (C1's third message that day → CAP); a debit of B fails
 * on 02-12 at 22:00 (quiet → SCHEDULED for 08:00, then B pays at 23:00 → SUPPRESSED PAID); a debit
 * of C fails on 02-14 at 22:00 (quiet → sent at 08:00 on 02-15, counted on 02-15).
 */
import { EVENTS_CHANNEL } from "../../contracts/events.contract";
import { startTestNode, orderFixture, type TestNode, WAIT_SCALE, TEST_PARTITIONS } from "../support/node";
import { until } from "../support/debit";

jest.setTimeout(240_000 * WAIT_SCALE);

const RULE = {
  kind: "REMINDER",
  name: "F001 reminders",
  scope: { funderId: "F001" },
  effectiveFrom: "2026-01-01",
  content: {
    rules: [
      { trigger: "BEFORE_DUE", offsetDays: 3, time: "10:00", template: "{name}: installment {period} of {amount} is due on {dueDate}." },
      { trigger: "DUE", time: "09:00", template: "{name}: {amount} for installment {period} is due today." },
      { trigger: "OVERDUE", overdueDays: [1, 3], time: "10:00", template: "{name}: installment {period} is {daysOverdue} days overdue; {amount} outstanding." },
      { trigger: "DEBIT_FAILURE", template: "{name}: we could not collect {amount} for installment {period}." },
    ],
    quietHours: { start: "21:00", end: "08:00" },
    maxPerDay: 2,
  },
};

const ZHANG = { id: "C1", name: "Zhang San", idNo: "110101199001011234", mobile: "13800138000" };
const LI = { id: "C2", name: "Li Si", idNo: "110101199202021234", mobile: "13900139000" };

async function clockTo(node: TestNode, date: string, time: string) {
  const res = await node.http("POST", "/api/v1/test-clock", { to: `${date}T${time}+08:00`, frozen: true });
  expect(res.status).toBe(200);
}

async function messages(node: TestNode, q = ""): Promise<any[]> {
  const res = await node.http("GET", `/api/v1/messages?pageSize=500${q}`);
  expect(res.status).toBe(200);
  return res.body.rows;
}

async function scanRuns(node: TestNode): Promise<any[]> {
  return (await node.http("GET", "/api/v1/runs?job=reminderScan&pageSize=500")).body.rows;
}

function debitFailed(planId: string, tradeNo: string, occurredAt: string) {
  return {
    id: "EV-" + tradeNo,
    type: "trade.failed",
    source: "ledger",
    key: tradeNo,
    occurredAt,
    data: { tradeNo, kind: "DEBIT", state: "FAILED", planId, amount: "8884.88", periods: [1], failure: { code: "INSUFFICIENT_FUNDS", message: "insufficient funds" } },
  };
}

describe("reminders over a month", () => {
  let node: TestNode;
  afterEach(async () => {
    await node?.stop();
  });

  it("match the rules: before due, due, overdue list, debit failure, quiet hours, cap, suppression, dedupe", async () => {
    node = await startTestNode({ TEST_CLOCK: "1", JOB_TICK_MS: "50" });
    await clockTo(node, "2026-01-10", "08:00:00");
    const rule = await node.http("POST", "/api/v1/rules", RULE);
    expect(rule.status).toBe(200);

    const order = async (startDate: string, customer: object) => {
      const res = await node.http("POST", "/api/v1/orders", orderFixture({ startDate, customer }));
      expect(res.status).toBe(200);
      return res.body as { planId: string; orderId: string };
    };
    const A = (await order("2026-01-10", ZHANG)).planId;
    const C = (await order("2026-01-13", ZHANG)).planId;
    const B = (await order("2026-01-15", LI)).planId;
    const plans: Record<string, string> = { [A]: "A", [B]: "B", [C]: "C" };
    for (const [id, due] of [[A, "2026-02-10"], [C, "2026-02-13"], [B, "2026-02-15"]]) {
      const p = (await node.http("GET", `/api/v1/plans/${id}`)).body;
      expect(p.installments[0]).toMatchObject({ period: 1, dueDate: due, outstanding: "8884.88" });
    }
    // Whatever ran at start on the real clock has finished before the month starts.
    await until(() => scanRuns(node), (rows) => rows.every((r) => r.status !== "RUNNING"), 20_000);

    const seen = new Set<string>((await scanRuns(node)).map((r) => r.runId));
    /** Move to a rule time and wait for the scan it starts by itself. */
    const scanAt = async (date: string, time: string) => {
      await clockTo(node, date, time + ":30");
      const fresh = await until(
        async () => (await scanRuns(node)).filter((r) => !seen.has(r.runId)),
        (rows) => rows.length >= 1 && rows.every((r) => r.status === "DONE"),
        20_000,
      );
      expect(fresh.map((r) => r.trigger)).toEqual(["SCHEDULE"]);
      for (const r of fresh) seen.add(r.runId);
    };
    const send = (env: object) => (node.broker as any).sendToChannel(EVENTS_CHANNEL, env);
    const one = async (q: string, ok: (m: any) => boolean) => (await until(() => messages(node, q), (rows) => rows.length === 1 && ok(rows[0]), 10_000))[0];

    for (let day = 1; day <= 28; day++) {
      const date = `2026-02-${String(day).padStart(2, "0")}`;
      if (date === "2026-02-15") {
        // C's debit failure of last night goes out when the quiet hours end.
        await clockTo(node, date, "08:00:30");
        const m = await one(`&planId=${C}&trigger=DEBIT_FAILURE`, (x) => x.status === "SENT");
        expect(m).toMatchObject({ date: "2026-02-14", sentAt: "2026-02-15T00:00:30.000Z", sentDate: "2026-02-15" });
      }
      await scanAt(date, "09:00");
      await scanAt(date, "10:00");

      if (date === "2026-02-10") {
        // C1's third message of the day: over the cap. The same envelope twice is one message.
        await clockTo(node, date, "12:30:00");
        const env = debitFailed(A, "DT-A-0210", "2026-02-10T04:30:00.000Z");
        await send(env);
        await send(env);
        await one(`&planId=${A}&trigger=DEBIT_FAILURE`, (x) => x.status === "SUPPRESSED");
        await new Promise((r) => setTimeout(r, 300));
        expect(await messages(node, `&planId=${A}&trigger=DEBIT_FAILURE`)).toHaveLength(1);
      }
      if (date === "2026-02-12") {
        await clockTo(node, date, "22:00:00");
        await send(debitFailed(B, "DT-B-0212", "2026-02-12T14:00:00.000Z"));
        const m = await one(`&planId=${B}&trigger=DEBIT_FAILURE`, (x) => x.status === "SCHEDULED");
        expect(m).toMatchObject({ reason: "QUIET_HOURS", scheduledFor: "2026-02-13T00:00:00.000Z" });
        // B pays the installment offline before it is due: the queued message is suppressed.
        await clockTo(node, date, "23:00:00");
        const paid = await node.http("POST", `/api/v1/plans/${B}/repayments`, { repaymentNo: "OFF-B-0001", amount: "8884.88" }, "ops");
        expect(paid.status).toBe(200);
        await one(`&planId=${B}&trigger=DEBIT_FAILURE`, (x) => x.status === "SUPPRESSED" && x.reason === "PAID");
      }
      if (date === "2026-02-13") {
        // A scan replayed by hand the same day creates nothing new.
        const before = (await messages(node)).length;
        const run = await node.http("POST", "/api/v1/reminders/runs", {}, "ops");
        expect(run.status).toBe(200);
        seen.add(run.body.runId);
        const done = await until(async () => (await node.http("GET", `/api/v1/runs/${run.body.runId}`)).body, (r: any) => r.status === "DONE", 20_000);
        expect(done.totals).toMatchObject({ created: 0, duplicate: 2, sent: 0, failed: 0 });
        expect((await messages(node)).length).toBe(before);
      }
      if (date === "2026-02-14") {
        await clockTo(node, date, "22:00:00");
        await send(debitFailed(C, "DT-C-0214", "2026-02-14T14:00:00.000Z"));
        await one(`&planId=${C}&trigger=DEBIT_FAILURE`, (x) => x.status === "SCHEDULED" && x.reason === "QUIET_HOURS");
      }
    }

    // The whole log, by hand from the rule: [date, trigger, plan, period, status, reason, text].
    const expected = [
      ["2026-02-07", "BEFORE_DUE", "A", 1, "SENT", null, "Zhang San: installment 1 of 8884.88 is due on 2026-02-10."],
      ["2026-02-10", "DUE", "A", 1, "SENT", null, "Zhang San: 8884.88 for installment 1 is due today."],
      ["2026-02-10", "BEFORE_DUE", "C", 1, "SENT", null, "Zhang San: installment 1 of 8884.88 is due on 2026-02-13."],
      ["2026-02-10", "DEBIT_FAILURE", "A", 1, "SUPPRESSED", "CAP", "Zhang San: we could not collect 8884.88 for installment 1."],
      ["2026-02-11", "OVERDUE", "A", 1, "SENT", null, "Zhang San: installment 1 is 1 days overdue; 8884.88 outstanding."],
      ["2026-02-12", "BEFORE_DUE", "B", 1, "SENT", null, "Li Si: installment 1 of 8884.88 is due on 2026-02-15."],
      ["2026-02-12", "DEBIT_FAILURE", "B", 1, "SUPPRESSED", "PAID", "Li Si: we could not collect 8884.88 for installment 1."],
      ["2026-02-13", "DUE", "C", 1, "SENT", null, "Zhang San: 8884.88 for installment 1 is due today."],
      ["2026-02-13", "OVERDUE", "A", 1, "SENT", null, "Zhang San: installment 1 is 3 days overdue; 8884.88 outstanding."],
      ["2026-02-14", "OVERDUE", "C", 1, "SENT", null, "Zhang San: installment 1 is 1 days overdue; 8884.88 outstanding."],
      ["2026-02-14", "DEBIT_FAILURE", "C", 1, "SENT", null, "Zhang San: we could not collect 8884.88 for installment 1."],
      ["2026-02-16", "OVERDUE", "C", 1, "SENT", null, "Zhang San: installment 1 is 3 days overdue; 8884.88 outstanding."],
    ];
    const all = await messages(node);
    const key = (r: any[]) => r.slice(0, 3).join("|");
    const actual = all.map((m) => [m.date, m.trigger, plans[m.planId], m.period, m.status, m.reason, m.text]);
    expect(actual.sort((a, b) => key(a).localeCompare(key(b)))).toEqual(expected.sort((a, b) => key(a).localeCompare(key(b))));
    // B's DUE and OVERDUE reminders were never created: it was paid first.
    expect(all.filter((m) => m.planId === B).map((m) => m.trigger).sort()).toEqual(["BEFORE_DUE", "DEBIT_FAILURE"]);

    // What the provider got: the SENT messages, once each; numbers are never stored, only masked.
    const outbox: any[] = await node.broker.call("notifier.simSent", {});
    const sent = all.filter((m) => m.status === "SENT");
    expect(outbox.map((o) => o.messageId).sort()).toEqual(sent.map((m) => m.messageId).sort());
    for (const m of sent) expect(m).toMatchObject({ provider: "sim", attempts: 1, toMasked: expect.stringMatching(/^[*\d]+[*]+\d{4}$/) });
    expect(JSON.stringify(all)).not.toMatch(/13800138000|13900139000/);

    // Reading one message, counts by status, and bad input.
    const m0 = sent[0];
    const got = await node.http("GET", `/api/v1/messages/${encodeURIComponent(m0.messageId)}`);
    expect(got.body).toEqual(m0);
    expect((await node.http("GET", "/api/v1/messages/NOPE")).status).toBe(404);
    const stats = (await node.http("GET", "/api/v1/messages-stats")).body;
    expect(stats).toMatchObject({ total: 12, byStatus: { SENT: 10, SUPPRESSED: 2, SCHEDULED: 0, FAILED: 0 } });
    expect((await messages(node, `&customerId=C2`)).length).toBe(2);
    expect((await messages(node, `&status=SUPPRESSED&date=2026-02-10`)).map((m) => plans[m.planId])).toEqual(["A"]);
    for (const q of ["status=NOPE", "trigger=SOMETIME", "date=2026-13-45", "page=0", "pageSize=9999", "colour=red"]) {
      const bad = await node.http("GET", `/api/v1/messages?${q}`);
      expect({ q, status: bad.status }).toEqual({ q, status: 422 });
    }
    expect((await node.http("POST", "/api/v1/reminders/runs", {}, "viewer")).status).toBe(403);
    expect((await node.http("POST", "/api/v1/reminders/runs", { partitions: [TEST_PARTITIONS] }, "ops")).status).toBe(422);
  });

  it("provider failures are retried then FAILED; a restart re-runs the day's scan and creates nothing", async () => {
    node = await startTestNode({ TEST_CLOCK: "1", JOB_TICK_MS: "50" });
    await clockTo(node, "2026-01-15", "08:00:00");
    const { planId } = (await node.http("POST", "/api/v1/orders", orderFixture({ startDate: "2026-01-15" }))).body;
    // The default rule: BEFORE_DUE 3 days at 10:00 → 02-12.
    await clockTo(node, "2026-02-12", "10:00:30");
    const first = await until(() => messages(node, `&planId=${planId}`), (rows) => rows.length === 1 && rows[0].status === "SENT", 20_000);
    expect(first[0]).toMatchObject({ trigger: "BEFORE_DUE", date: "2026-02-12", text: "Your installment 1 of 8884.88 is due on 2026-02-15." });

    const provider = (node.broker.getLocalService("notifier") as any).provider;
    const send = (env: object) => (node.broker as any).sendToChannel(EVENTS_CHANNEL, env);
    provider.failNext(3);
    await send(debitFailed(planId, "DT-F-1", "2026-02-12T04:00:00.000Z"));
    const failed = await until(() => messages(node, `&trigger=DEBIT_FAILURE`), (rows) => rows.length === 1 && rows[0].status === "FAILED", 10_000);
    expect(failed[0]).toMatchObject({ reason: "PROVIDER_ERROR", attempts: 3, error: expect.stringContaining("SIM_FAILURE") });
    provider.failNext(1);
    await send(debitFailed(planId, "DT-F-2", "2026-02-12T04:05:00.000Z"));
    await until(() => messages(node, `&trigger=DEBIT_FAILURE&status=SENT`), (rows) => rows.length === 1 && rows[0].attempts === 2, 10_000);

    const before = (await messages(node)).map((m) => [m.messageId, m.status]);
    const runsBefore = new Set((await scanRuns(node)).map((r) => r.runId));
    node = await node.restart();
    // At start past 10:00 the day's scan runs again (catch-up): the dedupe keys make it a no-op.
    const fresh = async () => (await scanRuns(node)).filter((r) => !runsBefore.has(r.runId));
    const runs = await until(fresh, (rows) => rows.length === 1 && rows[0].status === "DONE", 20_000);
    expect(runs[0].totals).toMatchObject({ created: 0, duplicate: 1 });
    expect((await messages(node)).map((m) => [m.messageId, m.status])).toEqual(before);
  });
});

