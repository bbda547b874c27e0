import { orderFixture, startTestNode, type TestNode } from "../support/node";

describe("REST gateway", () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node.stop();
  });

  const counts = async () => ({
    orders: await (node.broker.getLocalService("order-sync") as any).store.count({}),
    plans: await (node.broker.getLocalService("schedule") as any).store.count({}),
  });

  describe("auth", () => {
    it("serves health and the OpenAPI document without a key", async () => {
      const h = await node.http("GET", "/api/v1/health", undefined, null);
      expect(h.status).toBe(200);
      expect(h.body).toMatchObject({ status: "ok", mode: "embedded", services: expect.arrayContaining(["order-sync", "schedule", "rules"]) });
      const doc = await node.http("GET", "/api/v1/openapi.json", undefined, null);
      expect(doc.status).toBe(200);
      expect(doc.body.openapi).toMatch(/^3\./);
    });

    it("refuses a missing or wrong key with 401 UNAUTHORIZED", async () => {
      const none = await node.http("GET", "/api/v1/orders", undefined, null);
      expect(none).toMatchObject({ status: 401, body: { code: "UNAUTHORIZED" } });
      const res = await fetch(`http://127.0.0.1:${node.port}/api/v1/orders`, { headers: { "X-Api-Key": "test-admin-key-0123456788" } });
      expect(res.status).toBe(401);
    });

    it("lets viewers read and preview but not write", async () => {
      expect((await node.http("GET", "/api/v1/plans", undefined, "viewer")).status).toBe(200);
      const { source, orderNo, bizType, funderId, productCode, customer, ...terms } = orderFixture();
      expect((await node.http("POST", "/api/v1/plans/preview", terms, "viewer")).status).toBe(200);
      const write = await node.http("POST", "/api/v1/orders", orderFixture(), "viewer");
      expect(write).toMatchObject({ status: 403, body: { code: "FORBIDDEN" } });
      const rule = await node.http("POST", "/api/v1/rules", { kind: "ALLOCATION", name: "x", content: { order: ["PENALTY", "FEE", "INTEREST", "PRINCIPAL"] } }, "viewer");
      expect(rule.status).toBe(403);
      void [source, orderNo, bizType, funderId, productCode, customer];
    });

    it("keeps rule deletion for admins", async () => {
      const created = await node.http("POST", "/api/v1/rules", { kind: "ALLOCATION", name: "ops rule", scope: { funderId: "FX" }, content: { order: ["PENALTY", "FEE", "INTEREST", "PRINCIPAL"] } }, "ops");
      expect(created.status).toBe(200);
      const byOps = await node.http("DELETE", `/api/v1/rules/${created.body.id}`, undefined, "ops");
      expect(byOps.status).toBe(403);
      const byAdmin = await node.http("DELETE", `/api/v1/rules/${created.body.id}`, undefined, "admin");
      expect(byAdmin).toMatchObject({ status: 200, body: { deleted: true } });
    });
  });

  describe("orders and plans", () => {
    it("syncs, replays, conflicts and reads over REST", async () => {
      const order = orderFixture();
      const first = await node.http("POST", "/api/v1/orders", order, "ops");
      expect(first.status).toBe(200);
      expect(first.body.planId).toMatch(/^PL/);
      const replay = await node.http("POST", "/api/v1/orders", order, "ops");
      expect(replay.body).toEqual(first.body);
      const conflict = await node.http("POST", "/api/v1/orders", { ...order, term: 24 }, "ops");
      expect(conflict).toMatchObject({ status: 409, body: { code: "ORDER_CONFLICT", message: expect.any(String), details: expect.any(Object) } });

      const got = await node.http("GET", `/api/v1/orders/${order.source}/${order.orderNo}`);
      expect(got.body).toEqual(first.body);
      const plan = await node.http("GET", `/api/v1/plans/${first.body.planId}`, undefined, "viewer");
      expect(plan.status).toBe(200);
      const i1 = plan.body.installments[0];
      expect(Object.keys(i1)).toEqual(
        expect.arrayContaining(["period", "dueDate", "principal", "interest", "fee", "penalty", "total", "paidTotal", "status"]),
      );
      expect(i1).toMatchObject({ period: 1, dueDate: "2026-02-15", total: "8884.88", penalty: "0.00", paidTotal: "0.00", status: "PENDING" });
      const list = await node.http("GET", `/api/v1/plans?funderId=F001&pageSize=1`);
      expect(list.body).toMatchObject({ page: 1, pageSize: 1, rows: [expect.objectContaining({ funderId: "F001" })] });
    });

    it("answers 404 NOT_FOUND for unknown orders and plans", async () => {
      expect(await node.http("GET", "/api/v1/orders/NOPE/none")).toMatchObject({ status: 404, body: { code: "NOT_FOUND" } });
      expect(await node.http("GET", "/api/v1/plans/PLNOPE")).toMatchObject({ status: 404, body: { code: "NOT_FOUND" } });
    });

    it("previews a schedule without saving anything", async () => {
      const before = await counts();
      const { source, orderNo, bizType, funderId, productCode, customer, ...terms } = orderFixture({ repaymentMethod: "EQUAL_PRINCIPAL" });
      void [source, orderNo, bizType, funderId, productCode, customer];
      const res = await node.http("POST", "/api/v1/plans/preview", terms, "viewer");
      expect(res.status).toBe(200);
      expect(res.body.lines).toHaveLength(12);
      expect(res.body.totalPrincipal).toBe("100000.00");
      expect(await counts()).toEqual(before);
    });
  });

  describe("bad input: a 4xx with a code, nothing written", () => {
    const base = orderFixture({ orderNo: "BAD-1" });
    const cases: Array<[string, Record<string, unknown> | string, number, string]> = [
      ["negative principal", { ...base, principal: "-100.00" }, 422, "VALIDATION_ERROR"],
      ["zero principal", { ...base, principal: "0.00" }, 422, "INVALID_AMOUNT"],
      ["principal as a JS number", { ...base, principal: 1000 }, 422, "VALIDATION_ERROR"],
      ["principal with 3 decimals", { ...base, principal: "100.005" }, 422, "VALIDATION_ERROR"],
      ["principal not decimal", { ...base, principal: "1e5" }, 422, "VALIDATION_ERROR"],
      ["rate of 1", { ...base, annualRate: "1" }, 422, "VALIDATION_ERROR"],
      ["rate of 1.5", { ...base, annualRate: "1.5" }, 422, "VALIDATION_ERROR"],
      ["negative rate", { ...base, annualRate: "-0.1" }, 422, "VALIDATION_ERROR"],
      ["term 0", { ...base, term: 0 }, 422, "VALIDATION_ERROR"],
      ["term 601", { ...base, term: 601 }, 422, "INVALID_TERM"],
      ["fractional term", { ...base, term: 1.5 }, 422, "VALIDATION_ERROR"],
      ["term as text", { ...base, term: "12" }, 422, "VALIDATION_ERROR"],
      ["impossible date", { ...base, startDate: "2026-02-30" }, 422, "VALIDATION_ERROR"], // the shared date rule (contracts/common.ts) refuses it before any action runs
      ["malformed date", { ...base, startDate: "15/01/2026" }, 422, "VALIDATION_ERROR"],
      ["unknown method", { ...base, repaymentMethod: "BALLOON_ONLY" }, 422, "VALIDATION_ERROR"],
      ["unknown biz type", { ...base, bizType: "MORTGAGE" }, 422, "VALIDATION_ERROR"],
      ["unknown field", { ...base, discount: "5.00" }, 422, "VALIDATION_ERROR"],
      ["unknown customer field", { ...base, customer: { ...base.customer, email: "a@b.c" } }, 422, "VALIDATION_ERROR"],
      ["missing customer", { ...base, customer: undefined }, 422, "VALIDATION_ERROR"],
      ["dueDay 32", { ...base, dueDay: 32 }, 422, "VALIDATION_ERROR"],
      ["residual without lease", { ...base, residual: "100.00" }, 422, "VALIDATION_ERROR"],
      ["day term on an annuity", { ...base, termUnit: "DAY" }, 422, "INVALID_TERM"],
      ["custom lines not summing", { ...base, repaymentMethod: "CUSTOM", term: 2, customLines: [{ dueDate: "2026-02-15", principal: "10.00" }, { dueDate: "2026-03-15", principal: "10.00" }] }, 422, "INVALID_SCHEDULE"],
      ["not JSON", "{not json", 400, "INVALID_REQUEST_BODY"],
    ];

    it.each(cases)("%s", async (_name, body, status, code) => {
      const before = await counts();
      const res = await node.http("POST", "/api/v1/orders", body, "ops");
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({ code, message: expect.any(String) });
      expect(await counts()).toEqual(before);
    });

    it("never echoes an ID number back in an error", async () => {
      const res = await node.http("POST", "/api/v1/orders", { ...base, customer: { ...base.customer, idNo: "110101-19900101" } }, "ops");
      expect(res.status).toBe(422);
      expect(JSON.stringify(res.body)).not.toContain("110101-19900101");
    });

    it("rejects bad query parameters on lists", async () => {
      expect(await node.http("GET", "/api/v1/orders?pageSize=100000")).toMatchObject({ status: 422, body: { code: "VALIDATION_ERROR" } });
      expect(await node.http("GET", "/api/v1/plans?status=WHATEVER")).toMatchObject({ status: 422 });
      expect(await node.http("GET", "/api/v1/plans?bogus=1")).toMatchObject({ status: 422 });
    });
  });

  describe("OpenAPI", () => {
    it("lists every REST route the gateway serves, from the action definitions", async () => {
      const doc = (await node.http("GET", "/api/v1/openapi.json", undefined, null)).body;
      const gateway = node.broker.getLocalService("api") as any;
      const served: string[] = gateway.aliases
        .filter((a: any) => a.route.opts.name !== "vendor")
        .map((a: any) => `${a.method.toLowerCase()} ${a.route.path}${a.path ? "/" + a.path : ""}`.replace(/\/+/g, "/").replace(/:(\w+)/g, "{$1}"));
      expect(served.length).toBeGreaterThan(15);
      const documented = Object.entries(doc.paths).flatMap(([p, ops]: [string, any]) => Object.keys(ops).map((m) => `${m} ${p}`));
      expect(documented.sort()).toEqual([...new Set(served)].sort());
      const sync = doc.paths["/api/v1/orders"].post;
      expect(sync.requestBody.content["application/json"].schema.required).toEqual(expect.arrayContaining(["source", "orderNo", "principal"]));
      expect(sync.requestBody.content["application/json"].schema.properties.principal.pattern).toBeDefined();
      expect(doc.paths["/api/v1/plans/{planId}"].get.parameters[0]).toMatchObject({ name: "planId", in: "path" });
    });
  });
});
