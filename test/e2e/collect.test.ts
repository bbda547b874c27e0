/**
 * Collect one plan now (主动还款), on a real node: what is due today, or an amount up to what is
 * owed, debited under the never-twice rules — a replay of the request number answers the first
 * result, 20 concurrent copies make one debit at the bank, and bad requests are refused.
 */
import { startTestNode, type TestNode, WAIT_SCALE } from "../support/node";
import { bankDebits, bindCard, calmBanks, dueOrder } from "../support/debit";

jest.setTimeout(60_000 * WAIT_SCALE);

async function at(node: TestNode, date: string, time = "10:00") {
  expect((await node.http("POST", "/api/v1/test-clock", { to: `${date}T${time}:00+08:00`, frozen: true })).status).toBe(200);
}

describe("collect one plan now", () => {
  let node: TestNode;
  const plans: Record<"due" | "race" | "amount", string> = { due: "", race: "", amount: "" };
  beforeAll(async () => {
    node = await startTestNode({ TEST_CLOCK: "1" });
    calmBanks(node);
    // Three plans whose first installment (8884.88) falls due on 2026-02-15; the clock only moves forward.
    await at(node, "2026-01-20");
    for (const [i, k] of (["due", "race", "amount"] as const).entries()) {
      const customer = { id: `C-COL${i}`, name: "Zhang San", idNo: "110101199001011234", mobile: "13800138000" };
      const bindingId = await bindCard(node, { customerId: customer.id, cardNo: `622202020017777000${i}` });
      plans[k] = (await dueOrder(node, bindingId, { customer })).planId;
    }
  });
  afterAll(async () => {
    await node?.stop();
  });

  const collect = (planId: string, body: Record<string, unknown>) => node.http("POST", `/api/v1/plans/${planId}/collect`, body, "ops");
  const plan = async (planId: string) => (await node.http("GET", `/api/v1/plans/${planId}`)).body;

  it("collects a given amount up to what is owed, and refuses more", async () => {
    const planId = plans.amount; // 2026-01-20: nothing due yet
    const res = await collect(planId, { requestNo: "COL-AMT1", amount: "1000.00" });
    expect(res.body).toMatchObject({ result: "SUCCEEDED", amount: "1000.00" });
    expect((await plan(planId)).installments[0].paidTotal).toBe("1000.00");
    const other = await collect(planId, { requestNo: "COL-AMT1", amount: "2000.00" });
    expect({ status: other.status, code: other.body.code }).toEqual({ status: 409, code: "OPERATION_CONFLICT" });
    const tooMuch = await collect(planId, { requestNo: "COL-AMT2", amount: "999999.00" });
    expect({ status: tooMuch.status, code: tooMuch.body.code, owed: typeof tooMuch.body.details?.owed }).toEqual({ status: 422, code: "OVERPAYMENT", owed: "string" });
    expect(bankDebits(node, planId).map((t) => t.amount)).toEqual(["1000.00"]);
  });

  it("debits what is due today once; a replay answers the first result", async () => {
    const planId = plans.due;
    expect((await collect(planId, { requestNo: "COL-0001" })).body).toMatchObject({ result: "NOTHING_DUE", trades: [] });
    await at(node, "2026-02-15"); // 10:00: no debit slot is open, the request is the only debit
    const first = await collect(planId, { requestNo: "COL-0002" });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ planId, requestNo: "COL-0002", result: "SUCCEEDED", amount: "8884.88" });
    expect(first.body.trades).toHaveLength(1);
    expect(bankDebits(node, planId).filter((t) => t.moved).map((t) => t.amount)).toEqual(["8884.88"]);
    expect((await plan(planId)).installments[0]).toMatchObject({ status: "PAID", paidTotal: "8884.88" });

    const replay = await collect(planId, { requestNo: "COL-0002" });
    expect(replay.body).toMatchObject({ result: "SUCCEEDED", replayed: true, trades: first.body.trades });
    expect(bankDebits(node, planId)).toHaveLength(1);
    // Nothing more is due today: a new request debits nothing.
    expect((await collect(planId, { requestNo: "COL-0003" })).body).toMatchObject({ result: "NOTHING_DUE" });
  });

  it("20 concurrent copies of one request make one debit at the bank", async () => {
    const planId = plans.race; // the clock is on 2026-02-15, 10:00
    const answers = await Promise.all(Array.from({ length: 20 }, () => collect(planId, { requestNo: "COL-RACE" })));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    for (const a of answers) expect(["SUCCEEDED", "IN_FLIGHT"]).toContain(a.body.result);
    expect(bankDebits(node, planId)).toHaveLength(1);
    expect((await collect(planId, { requestNo: "COL-RACE" })).body).toMatchObject({ result: "SUCCEEDED", replayed: true });
    expect((await plan(planId)).installments[0].status).toBe("PAID");
  });

  it("refuses bad requests with a code", async () => {
    const cases: Array<[string, Record<string, unknown>, number, string]> = [
      ["PL0000000000000000000000", { requestNo: "COL-X1" }, 404, "NOT_FOUND"],
      ["PL0000000000000000000000", { requestNo: "x" }, 422, "VALIDATION_ERROR"],
      ["PL0000000000000000000000", { requestNo: "COL-X2", amount: "1.234" }, 422, "VALIDATION_ERROR"],
      ["PL0000000000000000000000", { requestNo: "COL-X3", extra: true }, 422, "VALIDATION_ERROR"],
    ];
    for (const [planId, body, status, code] of cases) {
      const res = await collect(planId, body);
      expect({ body, status: res.status, code: res.body.code }).toEqual({ body, status, code });
    }
    expect((await node.http("POST", "/api/v1/plans/PL0000000000000000000000/collect", { requestNo: "COL-X4" }, "viewer")).status).toBe(403);
  });
});
