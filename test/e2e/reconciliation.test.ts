/**
 * Reconciliation end to end on a test node: trades made by real debit runs against the simulated
 * bank A (one of them UNKNOWN, settled at the bank later), the bank's own statement pulled, a crafted
 * statement with one of each discrepancy kind uploaded, resolution with audit, a rerun without
 * duplicates, and malformed files refused with nothing applied.
 */
import { Readable } from "node:stream";
import { KEYS, startTestNode, type TestNode, WAIT_SCALE } from "../support/node";
import { banks, bindCard, calmBanks, dueOrder, runSlot, until } from "../support/debit";
import { bankAMapper } from "../../channels/bank-a/mapper";
import type { StatementLine } from "../../channels/channel";

jest.setTimeout(120_000 * WAIT_SCALE);

const DATE = "2026-02-15";
const CLOCK = { to: "2026-02-15T12:00:05+08:00", frozen: true };
const AMOUNT = "8884.88";

async function freshNode(): Promise<TestNode> {
  const node = await startTestNode({ TEST_CLOCK: "1" });
  calmBanks(node);
  await node.http("POST", "/api/v1/test-clock", CLOCK);
  return node;
}

/** n plans with one card each on bank A, debited by one run. */
async function debitedPlans(node: TestNode, n: number, tag: string): Promise<string[]> {
  const planIds: string[] = [];
  for (let i = 0; i < n; i++) {
    const customerId = `C${tag}${i}`;
    const bindingId = await bindCard(node, { customerId, cardNo: `62220202001${tag}${String(i).padStart(7, "0")}`.slice(0, 19), channels: ["BANK_A"] });
    const { planId } = await dueOrder(node, bindingId, { customer: { id: customerId, name: "Zhang San", idNo: "110101199001011234", mobile: "13800138000" } });
    planIds.push(planId);
  }
  await runSlot(node);
  return planIds;
}

async function tradeOf(node: TestNode, planId: string) {
  const rows = (await node.http("GET", `/api/v1/trades?planId=${planId}`)).body.rows;
  expect(rows).toHaveLength(1);
  return rows[0];
}

const line = (t: any, over: Partial<StatementLine> = {}): StatementLine => ({ tradeNo: t.tradeNo, channelRef: t.channelRef ?? "A-REF", kind: "DEBIT", amount: t.amount, fee: "0.50", status: "SUCCESS", date: DATE, time: "12:00:05", ...over });

describe("reconciliation", () => {
  let node: TestNode;
  afterEach(async () => {
    await node?.stop();
  });

  it("classifies one of each discrepancy, settles the UNKNOWN trade once, resolves with audit, reruns without duplicates", async () => {
    node = await freshNode();
    const events: any[] = [];
    const alerts: any[] = [];
    const spy = (type: string) => (ctx: any) => void events.push({ type, ...ctx.params });
    node.broker.createService({
      name: "recon-spy",
      events: {
        "reconciliation.completed": spy("reconciliation.completed"),
        "reconciliation.discrepancy": spy("reconciliation.discrepancy"),
        "reconciliation.trade_settled": spy("reconciliation.trade_settled"),
        "ops.alert": (ctx: any) => void alerts.push(ctx.params),
      },
    });
    const [p1, p2, p3, p4, p5] = await debitedPlans(node, 5, "1");
    // One more plan whose debit comes back UNKNOWN; the bank settles it (SUCCESS) 20 s later.
    banks(node).get("BANK_A")!.configure({ unknownRate: 1, unknownSettleMs: 20_000 });
    const [pU] = await debitedPlans(node, 1, "2");
    banks(node).get("BANK_A")!.configure({ unknownRate: 0 });
    const [t1, t2, t3, t4, t5, tU] = await Promise.all([p1, p2, p3, p4, p5, pU].map((p) => tradeOf(node, p)));
    expect([t1.state, tU.state]).toEqual(["SUCCESS", "UNKNOWN"]);

    // Pulled before the bank settled it: the UNKNOWN trade is only ours, nothing settled.
    const early = await node.http("POST", "/api/v1/reconciliations", { channel: "BANK_A", date: DATE }, "ops");
    expect(early.status).toBe(200);
    expect(early.body).toMatchObject({ status: "DONE", source: "PULL", settled: { success: 0, failed: 0 } });
    expect(early.body.summary.MATCHED.count).toBe(5);
    expect(early.body.summary.ONLY_OURS).toEqual({ count: 1, amount: AMOUNT, theirAmount: "0.00" });

    // The crafted statement: p1 matches, p2's amount differs, p3 failed at the bank, p4 dated the day
    // before, p5 missing, a trade we never made, and the UNKNOWN trade settled.
    await node.http("POST", "/api/v1/test-clock", { advanceSeconds: 30 }); // the bank has settled it; our first query is due at 60 s
    const crafted = bankAMapper().formatStatement(
      [
        line(t1),
        line(t2, { amount: "8884.89" }),
        line(t3, { status: "FAILED", fee: "0.00" }),
        line(t4, { date: "2026-02-14" }),
        line({ tradeNo: "DB-NOT-OURS-1", amount: "77.00", channelRef: "A-X" }),
        line(tU),
      ],
      DATE,
    );
    const up = await node.http("POST", "/api/v1/reconciliations/upload", { channel: "BANK_A", date: DATE, content: crafted }, "ops");
    expect(up.status).toBe(200);
    const s = up.body.summary;
    expect(s.MATCHED).toEqual({ count: 2, amount: "17769.76", theirAmount: "17769.76" });
    expect(s.AMOUNT_DIFFERS).toEqual({ count: 1, amount: AMOUNT, theirAmount: "8884.89" });
    expect(s.STATUS_DIFFERS.count).toBe(1);
    expect(s.DATE_DIFFERS.count).toBe(1);
    expect(s.ONLY_OURS).toEqual({ count: 1, amount: AMOUNT, theirAmount: "0.00" });
    expect(s.ONLY_THEIRS).toEqual({ count: 1, amount: "0.00", theirAmount: "77.00" });
    expect(up.body.settled).toEqual({ success: 1, failed: 0 });
    // Five new; the early run's ONLY_OURS of the (now settled) UNKNOWN trade is cleared.
    expect(up.body.discrepancies).toMatchObject({ new: 5, seen: 0, cleared: 1, open: 5 });
    expect((await node.http("GET", `/api/v1/discrepancies?runId=${early.body.runId}`)).body.rows).toEqual([
      expect.objectContaining({ tradeNo: tU.tradeNo, category: "ONLY_OURS", status: "RESOLVED", resolution: expect.objectContaining({ action: "CLEARED_BY_RERUN", by: "system" }) }),
    ]);

    // The UNKNOWN trade is settled, its repayment applied once, audited.
    const settledTrade = await tradeOf(node, pU);
    expect(settledTrade).toMatchObject({ state: "SUCCESS", applied: true });
    expect(settledTrade.history.at(-1)).toMatchObject({ from: "UNKNOWN", to: "SUCCESS", note: `statement ${up.body.runId}` });
    const plan = (await node.http("GET", `/api/v1/plans/${pU}`)).body;
    expect(plan.installments[0]).toMatchObject({ status: "PAID", paidTotal: AMOUNT });
    expect(Object.keys(plan.appliedTrades)).toEqual([tU.tradeNo]);
    const run = (await node.http("GET", `/api/v1/reconciliations/${up.body.runId}`)).body;
    expect(run.settlements).toEqual([expect.objectContaining({ tradeNo: tU.tradeNo, from: "UNKNOWN", to: "SUCCESS", status: "DONE", repaymentApplied: true })]);
    // Money never moves by itself the other way: p3 stays SUCCESS.
    expect((await tradeOf(node, p3)).state).toBe("SUCCESS");

    const list = (await node.http("GET", `/api/v1/discrepancies?channel=BANK_A&date=${DATE}&status=OPEN&pageSize=50`)).body;
    expect(list.rows.map((d: any) => [d.tradeNo, d.category]).sort()).toEqual(
      [
        [t2.tradeNo, "AMOUNT_DIFFERS"],
        [t3.tradeNo, "STATUS_DIFFERS"],
        [t4.tradeNo, "DATE_DIFFERS"],
        [t5.tradeNo, "ONLY_OURS"],
        ["DB-NOT-OURS-1", "ONLY_THEIRS"],
      ].sort(),
    );

    // Resolve with audit; viewers may not; twice is refused.
    const target = list.rows.find((d: any) => d.category === "ONLY_THEIRS");
    const path = `/api/v1/discrepancies/${encodeURIComponent(target.id)}/resolve`;
    expect((await node.http("POST", path, { action: "WRITE_OFF", note: "not ours" }, "viewer")).status).toBe(403);
    const resolved = await node.http("POST", path, { action: "ACCEPT_BANK", note: "bank test trade, refunded by the bank" }, "ops");
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({ status: "RESOLVED", resolution: { action: "ACCEPT_BANK", by: "olivia", note: "bank test trade, refunded by the bank" } });
    expect((await node.http("POST", path, { action: "WRITE_OFF", note: "again" }, "ops")).body.code).toBe("DISCREPANCY_RESOLVED");

    // Rerun of the same file: no duplicates, nothing settled twice, the resolved one stays resolved.
    const again = await node.http("POST", "/api/v1/reconciliations/upload", { channel: "BANK_A", date: DATE, content: crafted }, "ops");
    expect(again.body).toMatchObject({ status: "DONE", attempt: 3, settled: { success: 0, failed: 0 }, discrepancies: { new: 0, seen: 5, cleared: 0, open: 4 } });
    expect((await node.http("GET", `/api/v1/discrepancies?channel=BANK_A&date=${DATE}&pageSize=50`)).body.total).toBe(6);
    expect(Object.keys((await node.http("GET", `/api/v1/plans/${pU}`)).body.appliedTrades)).toHaveLength(1);
    const runs = (await node.http("GET", `/api/v1/reconciliations?channel=BANK_A&date=${DATE}`)).body;
    expect(runs.total).toBe(3);

    // Events, through the outbox.
    await new Promise((r) => setTimeout(r, 300));
    // (the daily job may also have reconciled some earlier day when the node started: not counted here)
    expect(events.filter((e) => e.type === "reconciliation.completed" && e.date === DATE).map((e) => e.runId).sort()).toEqual([early.body.runId, up.body.runId, again.body.runId].sort());
    expect(events.filter((e) => e.type === "reconciliation.discrepancy")).toHaveLength(6);
    expect(events.filter((e) => e.type === "reconciliation.trade_settled")).toEqual([expect.objectContaining({ tradeNo: tU.tradeNo, to: "SUCCESS", amount: AMOUNT })]);

    // Open more than 2 days: ops are alerted.
    expect(await node.broker.call("reconciler.checkAlerts", {})).toEqual({ open: 0, alerted: false });
    await node.http("POST", "/api/v1/test-clock", { advanceSeconds: 3 * 86_400 });
    expect(await node.broker.call("reconciler.checkAlerts", {})).toEqual({ open: 4, alerted: true });
    await new Promise((r) => setTimeout(r, 100));
    // (the daily job, due again on the new day, may alert too: the same four)
    expect(alerts.length).toBeGreaterThanOrEqual(1);
    for (const a of alerts) expect(a).toMatchObject({ kind: "RECONCILIATION_UNRESOLVED", count: 4 });
  });

  it("a FAILED trade the statement shows SUCCESS becomes an audited late success: alerted, flow written, plan credited once", async () => {
    node = await freshNode();
    const alerts: any[] = [];
    node.broker.createService({ name: "late-spy", events: { "ops.alert": (ctx: any) => void alerts.push(ctx.params) } });
    // Bank A declines on its side; the installment is debited on bank B instead.
    const bindingId = await bindCard(node, { channels: ["BANK_A", "BANK_B"] });
    const { planId } = await dueOrder(node, bindingId);
    banks(node).get("BANK_A")!.configure({ successRate: 0, failureMix: { CHANNEL_ERROR: 1 } });
    await runSlot(node);
    const rows = (await node.http("GET", `/api/v1/trades?planId=${planId}`)).body.rows;
    const failedA = rows.find((t: any) => t.channel === "BANK_A");
    expect(failedA).toMatchObject({ state: "FAILED" });
    expect(rows.find((t: any) => t.channel === "BANK_B")).toMatchObject({ state: "SUCCESS" });

    // Bank A's statement says the money moved after all.
    const statement = bankAMapper().formatStatement([line(failedA, { channelRef: "A-LATE-1" })], DATE);
    const up = await node.http("POST", "/api/v1/reconciliations/upload", { channel: "BANK_A", date: DATE, content: statement }, "ops");
    expect(up.status).toBe(200);
    expect(up.body.summary.STATUS_DIFFERS.count).toBe(1);
    expect(up.body.settled).toEqual({ success: 1, failed: 0 });
    const late = (await node.http("GET", `/api/v1/trades/${encodeURIComponent(failedA.tradeNo)}`)).body;
    expect(late).toMatchObject({ state: "SUCCESS", lateSuccess: expect.objectContaining({ source: "STATEMENT" }) });
    expect(alerts.some((a) => a.kind === "LATE_SUCCESS" && a.tradeNo === failedA.tradeNo)).toBe(true);

    // The sweep finishes its steps once: one flow, the plan credited, the surplus kept and alerted.
    await node.broker.call("deduction-executor.repairNow");
    await node.broker.call("deduction-executor.repairNow");
    const flows = (await node.http("GET", `/api/v1/flows?planId=${planId}`)).body.rows;
    expect(flows.filter((f: any) => f.tradeNo === failedA.tradeNo)).toHaveLength(1);
    expect(flows).toHaveLength(2);
    const plan = (await node.http("GET", `/api/v1/plans/${planId}`)).body;
    expect(Object.keys(plan.appliedTrades).sort()).toEqual(rows.map((t: any) => t.tradeNo).sort());
    // The late money pays what the plan owes next (the next installment, early); only money beyond the
    // plan's total would be a surplus (OVERPAYMENT alert). Ops were told by the LATE_SUCCESS alert.
    expect(plan.installments.slice(0, 3).map((i: any) => i.status)).toEqual(["PAID", "PAID", "PENDING"]);
    expect(plan.appliedTrades[failedA.tradeNo]).toMatchObject({ amount: AMOUNT, applied: AMOUNT, surplus: "0.00" });
    expect(alerts.filter((a) => a.kind === "OVERPAYMENT")).toEqual([]);
    expect((await node.http("GET", `/api/v1/trades/${encodeURIComponent(failedA.tradeNo)}`)).body.pending).toEqual([]);

    // A rerun of the same statement changes nothing.
    const again = await node.http("POST", "/api/v1/reconciliations/upload", { channel: "BANK_A", date: DATE, content: statement }, "ops");
    expect(again.body.settled).toEqual({ success: 0, failed: 0 });
    expect((await node.http("GET", `/api/v1/flows?planId=${planId}`)).body.rows).toHaveLength(2);
  });

  it("refuses malformed statements with a clear code and applies nothing", async () => {
    node = await freshNode();
    banks(node).get("BANK_A")!.configure({ unknownRate: 1, unknownSettleMs: 1000 });
    const [pU] = await debitedPlans(node, 1, "3");
    await node.http("POST", "/api/v1/test-clock", { advanceSeconds: 30 });
    const tU = await tradeOf(node, pU);
    expect(tU.state).toBe("UNKNOWN");
    const good = bankAMapper().formatStatement([line(tU), line({ tradeNo: "DB-GHOST-1", amount: "1.00" })], DATE);
    const rows = good.trimEnd().split("\n");
    const bad: Array<[string, Record<string, unknown>, string, number | undefined]> = [
      ["bad columns", { content: rows.map((r, i) => (i === 2 ? r.split(",").slice(0, 5).join(",") : r)).join("\n") }, "COLUMNS", 3],
      ["an amount with three decimals", { content: rows.map((r, i) => (i === 2 ? r.replace(/,100,/, ",1.005,") : r)).join("\n") + "\n" }, "AMOUNT", 3],
      ["a GBK file", { content: Buffer.concat([Buffer.from(good), Buffer.from([0xb3, 0xc9, 0xb9, 0xa6])]).toString("base64"), encoding: "base64" }, "ENCODING", 4],
      ["an empty file", { content: "" }, "EMPTY", 1],
      ["another bank's layout", { content: "ORDER_ID|BANK_SEQ|TYPE|AMOUNT|FEE|STATUS|DATETIME\nTOTAL|0|0.00|0.00\n" }, "HEADER", 1],
    ];
    for (const [name, body, reason, lineNo] of bad) {
      const res = await node.http("POST", "/api/v1/reconciliations/upload", { channel: "BANK_A", date: DATE, ...body }, "ops");
      expect([name, res.status, res.body.code, res.body.details?.reason ?? res.body.data?.reason]).toEqual([name, 422, "STATEMENT_INVALID", reason]);
      if (lineNo) expect(res.body.message).toContain(`line ${lineNo}`);
    }
    // A streamed upload (any size) is refused the same way.
    const raw = node.broker.call("reconciler.uploadRaw", { channel: "BANK_A", date: DATE }, { stream: Readable.from([Buffer.from(rows[0] + "\n"), Buffer.from([0xc9, 0xcc, 0xbb, 0xa7, 0x0a])]) } as any);
    await expect(raw).rejects.toMatchObject({ code: 422, type: "STATEMENT_INVALID", data: expect.objectContaining({ line: 2, reason: "ENCODING" }) });
    // And over REST, the file as the raw request body.
    const rest = await fetch(`http://127.0.0.1:${node.port}/api/v1/reconciliations/upload/BANK_A/${DATE}`, {
      method: "POST",
      headers: { "X-Api-Key": KEYS.ops, "Content-Type": "application/octet-stream" },
      body: Buffer.concat([Buffer.from(rows[0] + "\n"), Buffer.from("X,1,12.345,0,SUCCESS\n")]),
    });
    const restBody: any = await rest.json();
    expect([rest.status, restBody.code]).toEqual([422, "STATEMENT_INVALID"]);

    // Nothing applied: no discrepancy, the trade still UNKNOWN, every run FAILED with the reason.
    expect((await node.http("GET", "/api/v1/discrepancies")).body.total).toBe(0);
    expect((await tradeOf(node, pU)).state).toBe("UNKNOWN");
    const runs = (await node.http("GET", `/api/v1/reconciliations?channel=BANK_A&date=${DATE}&pageSize=50`)).body.rows;
    expect(runs).toHaveLength(7);
    expect(runs.every((r: any) => r.status === "FAILED" && r.error.code === "STATEMENT_INVALID")).toBe(true);

    // The same file, well formed, streamed in small chunks: settles the trade.
    const bytes = Buffer.from(good);
    const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => bytes.subarray(i * 7, i * 7 + 7));
    const okRun: any = await node.broker.call("reconciler.uploadRaw", { channel: "BANK_A", date: DATE }, { stream: Readable.from(chunks) } as any);
    expect([okRun.status, okRun.settled, okRun.summary.ONLY_THEIRS.count]).toEqual(["DONE", { success: 1, failed: 0 }, 1]);
    expect((await tradeOf(node, pU)).state).toBe("SUCCESS");
  });
});

describe("daily reconciliation job", () => {
  let node: TestNode | undefined;
  afterEach(async () => {
    await node?.stop();
  });

  it("reconciles yesterday at the configured time and catches up the two days before, once", async () => {
    node = await startTestNode({ TEST_CLOCK: "1", JOB_TICK_MS: "50", RECONCILE_TIME: "06:00" });
    // The node starts on the real clock (past 06:00 or not): let that day's job finish first.
    const all = async () => (await node!.http("GET", "/api/v1/reconciliations?pageSize=100")).body.rows as any[];
    await new Promise((r) => setTimeout(r, 500));
    await until(all, (rows) => rows.every((r) => r.status !== "RUNNING"), 15_000);
    await node.http("POST", "/api/v1/test-clock", { to: "2026-03-05T05:00:00+08:00", frozen: true });
    const runsOf = async (date: string) => (await node!.http("GET", `/api/v1/reconciliations?date=${date}&pageSize=50`)).body.rows as any[];
    await new Promise((r) => setTimeout(r, 300));
    expect(await runsOf("2026-03-04")).toHaveLength(0); // before 06:00: not yet
    await node.http("POST", "/api/v1/test-clock", { to: "2026-03-05T06:01:00+08:00", frozen: true });
    const channels = ["BANK_A", "BANK_B", "BANK_C", "BANK_D"];
    for (const date of ["2026-03-02", "2026-03-03", "2026-03-04"]) {
      const rows = await until(() => runsOf(date), (r) => r.filter((x) => x.status === "DONE").length === channels.length, 15_000);
      expect(rows.map((r) => r.channel).sort()).toEqual(channels);
    }
    expect(await runsOf("2026-03-01")).toHaveLength(0); // three days back, no further
    // The next day: only the new yesterday is reconciled (the others are DONE).
    await node.http("POST", "/api/v1/test-clock", { to: "2026-03-06T06:01:00+08:00", frozen: true });
    await until(() => runsOf("2026-03-05"), (r) => r.filter((x) => x.status === "DONE").length === channels.length, 15_000);
    for (const date of ["2026-03-03", "2026-03-04"]) expect(await runsOf(date)).toHaveLength(channels.length);
  });
});
