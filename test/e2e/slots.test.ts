/**
 * A month of debit slots driven by the test clock: the scheduler starts each slot by itself at the
 * rule's time points, each plan is debited on its due date exactly once, a borrower-side failure at
 * 12:00 is retried at 18:00, and a rule change applies without a restart.
 *
 * Never missed: a slot is one run record (SLOT-<slot>-<rule>) with every partition's state; the
 * schedule service away for a while is waited for; a node restarted within the slot's grace runs it
 * on the partitions not DONE — all without a manual run.
 */
import type { Middleware } from "moleculer";
import { addDays } from "../../domain/calendar";
import { startTestNode, type TestNode, WAIT_SCALE, TEST_PARTITIONS } from "../support/node";
import { bankDebits, banks, bindCard, calmBanks, until } from "../support/debit";

const SLOT_RUN = "SLOT-20260305T1200-RS-default-debit-time-points";

/** schedule.dueWork refused (as by a data node that is down) while `away.on`, or for the partitions in `away.partitions`. */
function dueWorkAway(away: { on: boolean; partitions: Set<number> }): Middleware {
  return {
    name: "DueWorkAway",
    call(next: any) {
      return (name: string, params: any, opts: any) => {
        if (name === "schedule.dueWork" && (away.on || away.partitions.has(params?.partition))) {
          return Promise.reject(Object.assign(new Error("Service 'schedule' is not available."), { code: 404, type: "SERVICE_NOT_AVAILABLE", retryable: true }));
        }
        return next(name, params, opts);
      };
    },
  } as unknown as Middleware;
}

/** Plans whose first installment falls due on 2026-03-05, one card each; with the partition each lives in. */
async function duePlans(node: TestNode, n: number): Promise<Array<{ planId: string; partition: number }>> {
  const out = [];
  for (let i = 0; i < n; i++) {
    const bindingId = await bindCard(node, { customerId: `N${i}`, cardNo: `62220202005566778${String(i).padStart(2, "0")}`, channels: ["BANK_A"] });
    const res = await node.http("POST", "/api/v1/orders", {
      source: "SLOTS", orderNo: `NM-${i}`, bizType: "CONSUMER", funderId: "F1", productCode: "P1",
      customer: { id: `N${i}`, name: "N", idNo: "110101199001011234", mobile: "13800138000" },
      principal: "12000.00", annualRate: "0.12", term: 12, repaymentMethod: "EQUAL_INSTALLMENT", startDate: "2026-02-05", bindingId,
    });
    expect(res.status).toBe(200);
    const plan = (await node.http("GET", `/api/v1/plans/${res.body.planId}`)).body;
    out.push({ planId: res.body.planId, partition: plan.partition });
  }
  return out;
}

async function slotRecord(node: TestNode): Promise<any> {
  const r = await node.http("GET", `/api/v1/runs/${SLOT_RUN}`);
  return r.status === 200 ? r.body : null;
}

jest.setTimeout(120_000 * WAIT_SCALE);

describe("scheduled debit slots over a month", () => {
  let node: TestNode;
  afterEach(async () => {
    await node?.stop();
  });

  async function at(date: string, time: string) {
    await node.http("POST", "/api/v1/test-clock", { to: `${date}T${time}:20+08:00` });
  }

  async function slotRuns(): Promise<any[]> {
    return (await node.http("GET", "/api/v1/runs?job=debitSlot&pageSize=500")).body.rows;
  }

  it("debits each plan once on its due date at the rule's time points", async () => {
    node = await startTestNode({ TEST_CLOCK: "1", JOB_TICK_MS: "50" });
    calmBanks(node);
    await node.http("POST", "/api/v1/test-clock", { to: "2026-03-01T08:00:00+08:00", frozen: true });
    // Three plans due on the 5th, 12th and 20th of each month; the third borrower is short at noon.
    const plans: Array<{ planId: string; card: string; dueDay: number }> = [];
    for (const [i, dueDay] of [5, 12, 20].entries()) {
      const card = `62220202001122334${40 + i}`;
      const bindingId = await bindCard(node, { customerId: `C${i}`, cardNo: card, channels: ["BANK_A"], balance: i === 2 ? "100.00" : "100000.00" });
      const res = await node.http("POST", "/api/v1/orders", {
        source: "SLOTS", orderNo: `S-${i}`, bizType: "CONSUMER", funderId: "F1", productCode: "P1",
        customer: { id: `C${i}`, name: "N", idNo: "110101199001011234", mobile: "13800138000" },
        principal: "12000.00", annualRate: "0.12", term: 12, repaymentMethod: "EQUAL_INSTALLMENT",
        startDate: `2026-02-${String(dueDay).padStart(2, "0")}`, bindingId,
      });
      expect(res.status).toBe(200);
      plans.push({ planId: res.body.planId, card, dueDay });
    }

    let date = "2026-03-01";
    for (let day = 0; day < 31; day++) {
      for (const time of ["12:00", "18:00"]) {
        const before = (await slotRuns()).length;
        if (date === "2026-03-20" && time === "18:00") banks(node).get("BANK_A")!.setBalance(plans[2].card, "100000.00");
        await at(date, time);
        // The scheduler notices the slot within a tick and runs it.
        await until(slotRuns, (rows) => rows.length > before && rows.every((r: any) => r.status !== "RUNNING"), 10_000);
      }
      date = addDays(date, 1);
    }

    for (const p of plans) {
      const debits = bankDebits(node, p.planId);
      const moved = debits.filter((t) => t.moved);
      expect(moved).toHaveLength(1);
      expect(moved[0].tradeNo).toContain(`202603${String(p.dueDay).padStart(2, "0")}`);
      const plan = (await node.http("GET", `/api/v1/plans/${p.planId}`)).body;
      expect(plan.installments[0].status).toBe("PAID");
      expect(plan.installments[1].status).toBe("PENDING");
    }
    // The short borrower: declined at 12:00 (insufficient balance, no other channel tried), paid at 18:00.
    const third = bankDebits(node, plans[2].planId);
    expect(third.map((t) => [t.tradeNo.slice(-14), t.moved])).toEqual([
      ["202603201200-1", false],
      ["202603201800-1", true],
    ]);
    // 62 slots started by the scheduler, none by hand.
    // (A slot due on the real clock before the test clock was set may also have run: not counted.)
    expect((await slotRuns()).filter((r: any) => r.trigger === "SCHEDULE" && r.startedAt.startsWith("2026-03"))).toHaveLength(62);
  });

  it("waits for a schedule service that is away for a while: one run record, every partition DONE, exact totals", async () => {
    const away = { on: false, partitions: new Set<number>() };
    node = await startTestNode({ TEST_CLOCK: "1", JOB_TICK_MS: "50" }, undefined, { middlewares: [dueWorkAway(away)] });
    calmBanks(node);
    await node.http("POST", "/api/v1/test-clock", { to: "2026-03-01T08:00:00+08:00", frozen: true });
    const plans = await duePlans(node, 5);
    away.on = true;
    await node.http("POST", "/api/v1/test-clock", { to: "2026-03-05T12:00:20+08:00", frozen: true });
    // The slot is tried, over and over, far beyond three tries in 750 ms.
    const waiting = await until(() => slotRecord(node), (r) => r?.totals.attempts >= 3 * TEST_PARTITIONS, 20_000);
    expect(waiting).toMatchObject({ status: "RUNNING", trigger: "SCHEDULE", slotId: "2026-03-05T12:00", totals: { partitionsDone: 0 } });
    for (const p of plans) expect(bankDebits(node, p.planId)).toHaveLength(0);

    away.on = false; // back
    const done = await until(() => slotRecord(node), (r) => r?.status === "DONE", 30_000);
    expect(done.totals).toMatchObject({ partitions: TEST_PARTITIONS, partitionsDone: TEST_PARTITIONS, partitionsFailed: 0, partitionsRunning: 0, due: 5, sent: 5, succeeded: 5 });
    expect(done.notDone).toEqual([]);
    expect(done.until).toBe("2026-03-05T04:30:00.000Z"); // 12:00 + 30 minutes of grace, Asia/Shanghai
    for (const p of plans) {
      expect(bankDebits(node, p.planId).filter((t) => t.moved)).toHaveLength(1);
      expect(done.partitions[p.partition]).toMatchObject({ status: "DONE", counters: { succeeded: expect.any(Number) } });
    }
    // One record for the slot, started by the scheduler: no manual run, no per-node records.
    const rows = (await node.http("GET", "/api/v1/runs?job=debitSlot&pageSize=500")).body.rows.filter((r: any) => r.startedAt.startsWith("2026-03"));
    expect(rows.map((r: any) => r.runId)).toEqual([SLOT_RUN]);
  });

  it("a node restarted within the slot's grace runs it on the partitions not DONE, and only on those", async () => {
    const away = { on: false, partitions: new Set<number>() };
    node = await startTestNode({ TEST_CLOCK: "1", JOB_TICK_MS: "50" }, undefined, { middlewares: [dueWorkAway(away)] });
    calmBanks(node);
    await node.http("POST", "/api/v1/test-clock", { to: "2026-03-01T08:00:00+08:00", frozen: true });
    const plans = await duePlans(node, 4);
    for (const p of plans.slice(0, 2)) away.partitions.add(p.partition); // these partitions cannot be worked on before the restart
    await node.http("POST", "/api/v1/test-clock", { to: "2026-03-05T12:00:20+08:00", frozen: true });
    const before = await until(() => slotRecord(node), (r) => r?.totals.partitionsDone === TEST_PARTITIONS - away.partitions.size, 20_000);
    expect(before.status).toBe("RUNNING");
    for (const p of plans.slice(2)) expect(bankDebits(node, p.planId).filter((t) => t.moved)).toHaveLength(1);

    node = await node.restart(); // on the same data, without the fault; the clock is still within the grace
    calmBanks(node);
    const done = await until(() => slotRecord(node), (r) => r?.status === "DONE", 30_000);
    for (const p of plans) expect(bankDebits(node, p.planId).filter((t) => t.moved)).toHaveLength(1);
    expect(done.totals).toMatchObject({ partitionsDone: TEST_PARTITIONS, due: 4, succeeded: 4, sent: 4 });
    for (const part of away.partitions) {
      const executions = Object.values(done.partitions[part].executions) as any[];
      expect(executions.map((e) => e.status).sort()).toEqual(["DONE", "FAILED"]); // one per node instance
    }
    // The partitions DONE before the restart were not run again.
    const others = Object.entries(done.partitions).filter(([p]) => !away.partitions.has(Number(p)));
    for (const [, part] of others) expect(Object.keys((part as any).executions)).toHaveLength(1);
  });

  it("applies a changed time point without a restart", async () => {
    node = await startTestNode({ TEST_CLOCK: "1", JOB_TICK_MS: "50" });
    calmBanks(node);
    await node.http("POST", "/api/v1/test-clock", { to: "2026-03-05T08:00:00+08:00", frozen: true });
    const bindingId = await bindCard(node, { channels: ["BANK_A"] });
    const order = await node.http("POST", "/api/v1/orders", {
      source: "SLOTS", orderNo: "R-1", bizType: "CONSUMER", funderId: "F1", productCode: "P9",
      customer: { id: "C1", name: "N", idNo: "110101199001011234", mobile: "13800138000" },
      principal: "12000.00", annualRate: "0.12", term: 12, repaymentMethod: "EQUAL_INSTALLMENT", startDate: "2026-02-05", bindingId,
    });
    const rule = await node.http("POST", "/api/v1/rules", { kind: "DEBIT_TIME_POINTS", name: "P9 at 10:00", scope: { productCode: "P9" }, effectiveFrom: "2026-03-01", content: { times: ["10:00"] } });
    expect(rule.status).toBe(200);
    await at("2026-03-05", "10:00");
    await until(() => Promise.resolve(bankDebits(node, order.body.planId).length), (n) => n === 1, 10_000);
    expect(bankDebits(node, order.body.planId)[0].tradeNo).toContain("202603051000");
  });
});
