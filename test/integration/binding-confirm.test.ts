import { startTestNode, type TestNode } from "../support/node";
import { calmBanks } from "../support/debit";

describe("binding confirm: attempts, replay, conflicts", () => {
  let node: TestNode;
  beforeEach(async () => {
    node = await startTestNode({ TEST_CLOCK: "1", SIGN_CONFIRM_MAX_ATTEMPTS: "2" });
    calmBanks(node);
  });
  afterEach(async () => {
    await node.stop();
  });
  const bind = (cardNo: string) => node.http("POST", "/api/v1/bindings", { customerId: "C1", cardNo, name: "Zhang San", idNo: "110101199001011234", mobile: "13800138000", channels: ["BANK_A"] });
  const wrongOf = (code: string) => (code === "000000" ? "111111" : "000000");

  it("wrong code → PENDING with an attempt; right code → ACTIVE; replay → first answer; other code → 409", async () => {
    const b = (await bind("6222020200112233445")).body;
    const url = `/api/v1/bindings/${b.bindingId}/confirm`;
    const wrong = await node.http("POST", url, { codes: { BANK_A: wrongOf(b.testCodes.BANK_A) } });
    expect(wrong.status).toBe(200);
    expect(wrong.body).toMatchObject({ status: "PENDING", agreements: [{ status: "PENDING", attempts: 1 }] });
    const ok = await node.http("POST", url, { codes: b.testCodes });
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe("ACTIVE");
    expect(JSON.stringify(ok.body)).not.toContain("codeHash");
    const replay = await node.http("POST", url, { codes: b.testCodes });
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual({ ...ok.body, replayed: true });
    const other = await node.http("POST", url, { codes: { BANK_A: wrongOf(b.testCodes.BANK_A) } });
    expect(other.status).toBe(409);
    expect(other.body.code ?? other.body.type).toBe("BINDING_STATE");
  });

  it("the limit fails the binding; concurrent wrong codes count each", async () => {
    const b = (await bind("6222020200112233446")).body;
    const url = `/api/v1/bindings/${b.bindingId}/confirm`;
    const w = { codes: { BANK_A: wrongOf(b.testCodes.BANK_A) } };
    const res = await Promise.all([node.http("POST", url, w), node.http("POST", url, w)]);
    expect(res.map((r) => r.status).sort()).toEqual([200, 422]);
    const got = await node.http("GET", `/api/v1/bindings/${b.bindingId}`);
    expect(got.body).toMatchObject({ status: "FAILED", agreements: [{ status: "FAILED", attempts: 2 }] });
  });
});
