/**
 * No document grows without bound, through the API of a whole node (file store, or MONGO_URI's
 * server): a payout position keeps its last moves and GET /positions/:channel/history pages all of
 * them; a position written before the history collection is copied whole at start.
 */
import { POSITION_HISTORY_KEEP } from "../../domain/ledger-core";
import { startTestNode, type TestNode } from "../support/node";

jest.setTimeout(120_000);

describe("bounded documents, whole histories", () => {
  let node: TestNode;
  beforeEach(async () => {
    node = await startTestNode({ SERVICES: "clock,rules,ledger,api" });
  });
  afterEach(async () => {
    await node?.stop();
  });

  it("a position keeps its last moves; its history lists every one, newest first, a page at a time", async () => {
    for (let i = 1; i <= 30; i++) {
      const res = await node.http("POST", "/api/v1/positions/BANK_A/adjust", { amount: "10.00", direction: i % 3 ? "TOP_UP" : "WITHDRAW", reason: `move ${i}` }, "admin");
      expect(res.status).toBe(200);
    }
    const positions = (await node.http("GET", "/api/v1/positions")).body;
    const pos = positions.find((p: any) => p.channel === "BANK_A");
    expect(pos).toMatchObject({ balance: "100.00", available: "100.00" }); // 20 top-ups, 10 withdrawals
    expect(pos).not.toHaveProperty("historyCopied");
    expect(pos.history).toHaveLength(POSITION_HISTORY_KEEP);
    const stored = await (node.broker.getLocalService("ledger") as any).stores.positions.findById("BANK_A");
    expect(stored.history).toHaveLength(POSITION_HISTORY_KEEP);

    const page1 = (await node.http("GET", "/api/v1/positions/BANK_A/history?pageSize=8")).body;
    expect(page1).toMatchObject({ total: 30, page: 1, pageSize: 8, totalPages: 4 });
    expect(page1.rows.map((r: any) => r.reason)).toEqual(Array.from({ length: 8 }, (_, i) => `move ${30 - i}`));
    expect(page1.rows[0]).toEqual({ channel: "BANK_A", seq: 30, at: expect.any(String), by: "alice", action: "WITHDRAW", amount: "10.00", balance: "100.00", reason: "move 30" });
    const page4 = (await node.http("GET", "/api/v1/positions/BANK_A/history?pageSize=8&page=4")).body;
    expect(page4.rows.map((r: any) => [r.seq, r.action, r.balance])).toEqual([
      [6, "WITHDRAW", "20.00"],
      [5, "TOP_UP", "30.00"],
      [4, "TOP_UP", "20.00"],
      [3, "WITHDRAW", "10.00"],
      [2, "TOP_UP", "20.00"],
      [1, "TOP_UP", "10.00"],
    ]);
    expect((await node.http("GET", "/api/v1/positions/BANK_Z/history")).status).toBe(404);
    expect((await node.http("GET", "/api/v1/positions/bank-a/history")).status).toBe(422);
  });

  it("copies a position's moves from before the history collection when the node starts", async () => {
    const ledger: any = node.broker.getLocalService("ledger");
    const history = Array.from({ length: 40 }, (_, i) => ({ at: "2025-06-01T00:00:00.000Z", by: "ops", action: "TOP_UP", amount: "1.00", balance: `${i + 1}.00`, reason: "as stored before" }));
    await ledger.stores.positions.insert({ _id: "BANK_B", channel: "BANK_B", balance: "40.00", reserved: "0.00", reservations: {}, lowWatermark: "0.00", version: 40, history, updatedAt: "2025-06-01T00:00:00.000Z" });
    node = await node.restart();
    expect(await (node.broker.getLocalService("ledger") as any).stores.positionMoves.count({ channel: "BANK_B" })).toBe(40);
    expect((await node.http("POST", "/api/v1/positions/BANK_B/adjust", { amount: "1.00", direction: "TOP_UP", reason: "new" }, "admin")).status).toBe(200);
    const all = (await node.http("GET", "/api/v1/positions/BANK_B/history?pageSize=100")).body;
    expect(all.total).toBe(41);
    expect(all.rows.map((r: any) => r.balance)).toEqual(Array.from({ length: 41 }, (_, i) => `${41 - i}.00`));
  });
});
