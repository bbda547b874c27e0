import { orderFixture, startTestNode, type TestNode } from "../../support/node";

describe("business clock and test clock", () => {
  let node: TestNode | undefined;
  afterEach(async () => {
    await node?.stop();
    node = undefined;
  });

  it("is off by default: reads real time, refuses moves with TEST_CLOCK_DISABLED", async () => {
    node = await startTestNode();
    const view: any = await node.broker.call("clock.get");
    expect(view.testClock).toBe(false);
    expect(Math.abs(Date.parse(view.now) - Date.now())).toBeLessThan(5000);
    await expect(node.broker.call("clock.move", { advanceDays: 1 })).rejects.toMatchObject({ code: 403, type: "TEST_CLOCK_DISABLED" });
    const http = await node.http("POST", "/api/v1/test-clock", { advanceDays: 1 });
    expect(http).toMatchObject({ status: 403, body: { code: "TEST_CLOCK_DISABLED" } });
  });

  it("freezes, moves forward, refuses to go back, and every service reads the moved time", async () => {
    node = await startTestNode({ TEST_CLOCK: "1", TIME_ZONE: "Asia/Shanghai" });
    const frozen = await node.http("POST", "/api/v1/test-clock", { to: "2026-03-31T23:30:00+08:00", frozen: true });
    expect(frozen.body).toMatchObject({ businessDate: "2026-03-31", localTime: "23:30", frozen: true, version: 1 });
    await new Promise((r) => setTimeout(r, 30));
    expect(((await node.broker.call("clock.get")) as any).now).toBe(frozen.body.now);

    const moved = await node.http("POST", "/api/v1/test-clock", { advanceSeconds: 3600 });
    // 00:30 on April 1st in Shanghai is still March 31st in UTC: the business date follows the zone.
    expect(moved.body).toMatchObject({ businessDate: "2026-04-01", localTime: "00:30", version: 2 });

    const back = await node.http("POST", "/api/v1/test-clock", { to: "2026-01-01T00:00:00+08:00" });
    expect(back).toMatchObject({ status: 422, body: { code: "CLOCK_BACKWARDS" } });

    const order: any = await node.broker.call("order-sync.sync", orderFixture());
    expect(order.createdAt).toBe("2026-03-31T16:30:00.000Z");
    // The rules service stamps with the same clock.
    const rule: any = await node.broker.call("rules.create", { kind: "ALLOCATION", name: "x", scope: { funderId: "FZ" }, content: { order: ["PENALTY", "FEE", "INTEREST", "PRINCIPAL"] } });
    expect(rule.effectiveFrom).toBe("2026-04-01");
  });

  it("keeps the test clock across a restart", async () => {
    node = await startTestNode({ TEST_CLOCK: "1" });
    await node.http("POST", "/api/v1/test-clock", { to: "2030-06-01T09:00:00+08:00", frozen: true });
    node = await node.restart();
    expect(((await node.broker.call("clock.get")) as any).businessDate).toBe("2030-06-01");
  });

  it("rejects an empty or malformed move", async () => {
    node = await startTestNode({ TEST_CLOCK: "1" });
    expect((await node.http("POST", "/api/v1/test-clock", {})).body.code).toBe("VALIDATION_ERROR");
    expect((await node.http("POST", "/api/v1/test-clock", { to: "yesterday-ish" })).body.code).toBe("INVALID_DATE");
    expect((await node.http("POST", "/api/v1/test-clock", { advanceDays: -1 })).body.code).toBe("VALIDATION_ERROR");
    expect((await node.http("POST", "/api/v1/test-clock", { advanceDays: 1 }, "ops")).status).toBe(403);
  });
});
