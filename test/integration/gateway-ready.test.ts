/**
 * The gateway's readiness, hygiene and OpenAPI document against a whole node: /api/v1/ready is 200
 * only when every REST route is served and documented (503 naming the missing ones otherwise); once
 * ready, every operation of the document is routed (no 404); every operation states its role; keys in
 * the query string are refused; security headers are on every answer, static files included.
 */
import { orderFixture, startTestNode, type TestNode } from "../support/node";
import { keyParamInQuery, loggableUrl } from "../../services/api.security";

jest.setTimeout(120_000);

describe("gateway readiness and hygiene", () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node?.stop();
  });

  it("is ready once started: nothing missing", async () => {
    const r = await node.http("GET", "/api/v1/ready", undefined, null);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ready: true, broker: "started", missing: { services: [], routes: [], openapi: [] } });
  });

  it("answers 503 naming the routes while the gateway's aliases are not built", async () => {
    const api = node.broker.getLocalService("api") as any;
    const saved = api.aliases;
    api.aliases = saved.filter((a: any) => a.route?.opts?.name !== "v1");
    try {
      const r = await node.http("GET", "/api/v1/ready", undefined, null);
      expect(r.status).toBe(503);
      expect(r.body.ready).toBe(false);
      expect(r.body.missing.routes).toEqual(expect.arrayContaining(["POST /api/v1/orders", "GET /api/v1/messages"]));
    } finally {
      api.aliases = saved;
    }
    expect((await node.http("GET", "/api/v1/ready", undefined, null)).status).toBe(200);
  });

  it("once ready, routes every operation of the OpenAPI document, and documents every route it serves", async () => {
    const doc = (await node.http("GET", "/api/v1/openapi.json", undefined, null)).body;
    const api = node.broker.getLocalService("api") as any;
    const ops: Array<[string, string]> = [];
    for (const [p, methods] of Object.entries<any>(doc.paths)) for (const m of Object.keys(methods)) ops.push([m.toUpperCase(), p]);
    expect(ops.length).toBeGreaterThan(70);
    expect(doc.paths["/api/v1/messages"]?.get).toBeDefined();
    for (const [method, p] of ops) {
      const concrete = p.replace(/\{\w+\}/g, "X-1");
      expect([method, p, !!api.resolveAlias(concrete, method)]).toEqual([method, p, true]);
    }
    // Reads without path parameters, over HTTP: none answers the router's 404.
    for (const [method, p] of ops.filter(([m, p]) => m === "GET" && !p.includes("{"))) {
      const r = await node.http(method, p);
      expect([p, r.status]).not.toEqual([p, 404]);
    }
    const documented = new Set(ops.map(([m, p]) => `${m} ${p.replace(/\{(\w+)\}/g, ":$1")}`));
    const served = (api.aliases as any[]).map((a) => `${a.method} ${a.fullPath}`).filter((r) => !r.startsWith("GET /vendor/"));
    expect(served.filter((r) => !documented.has(r))).toEqual([]);
  });

  it("states the effective role of every operation (public ones have none)", async () => {
    const doc = (await node.http("GET", "/api/v1/openapi.json", undefined, null)).body;
    const missing: string[] = [];
    for (const [p, methods] of Object.entries<any>(doc.paths)) {
      for (const [m, op] of Object.entries<any>(methods)) {
        const isPublic = Array.isArray(op.security) && op.security.length === 0;
        if (isPublic ? op["x-required-role"] !== undefined : !["viewer", "ops", "admin"].includes(op["x-required-role"])) missing.push(`${m} ${p}`);
        if (!isPublic && !String(op.description).includes(`${op["x-required-role"]} role`)) missing.push(`${m} ${p} (description)`);
      }
    }
    expect(missing).toEqual([]);
    expect(doc.paths["/api/v1/orders"].post["x-required-role"]).toBe("ops");
    expect(doc.paths["/api/v1/orders"].get["x-required-role"]).toBe("viewer");
    expect(doc.paths["/api/v1/ready"].get.security).toEqual([]);
  });

  it("documents schemas that compile (ajv) and patterns as written (backslashes kept)", async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Ajv = require("ajv").default;
    const ajv = new Ajv({ strict: false, allErrors: true });
    const doc = (await node.http("GET", "/api/v1/openapi.json", undefined, null)).body;
    expect(doc.openapi).toMatch(/^3\.0\.\d+$/);
    const bad: string[] = [];
    const patterns: string[] = [];
    const collect = (v: unknown) => {
      if (Array.isArray(v)) v.forEach(collect);
      else if (v && typeof v === "object") {
        for (const [k, x] of Object.entries(v)) {
          if (k === "pattern" && typeof x === "string") patterns.push(x);
          else collect(x);
        }
      }
    };
    for (const [p, methods] of Object.entries<any>(doc.paths)) {
      for (const [m, op] of Object.entries<any>(methods)) {
        expect(typeof op.operationId).toBe("string");
        expect(op.responses["200"]).toBeDefined();
        const schemas = [
          ...(op.parameters ?? []).map((x: any) => x.schema),
          op.requestBody?.content?.["application/json"]?.schema,
          op.responses["200"].content?.["application/json"]?.schema,
        ].filter(Boolean);
        for (const sc of schemas) {
          try {
            ajv.compile(sc);
          } catch (err) {
            bad.push(`${m} ${p}: ${(err as Error).message}`);
          }
          collect(sc);
        }
      }
    }
    expect(bad).toEqual([]);
    for (const pat of patterns) expect(() => new RegExp(pat)).not.toThrow();
    // The payout's account number pattern is ^\d{8,32}$ as written, not ^d{8,32}$.
    const payout = doc.paths["/api/v1/payouts"].post.requestBody.content["application/json"].schema;
    expect(payout.properties.beneficiary.properties.accountNo.pattern).toBe("^\\d{8,32}$");
    expect(new RegExp(payout.properties.beneficiary.properties.accountNo.pattern).test("62220000")).toBe(true);
  });

  it("is a valid OpenAPI 3.0 document (validated against the specification's schema by @apidevtools/swagger-parser)", async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const SwaggerParser = require("@apidevtools/swagger-parser");
    const doc = (await node.http("GET", "/api/v1/openapi.json", undefined, null)).body;
    await expect(SwaggerParser.validate(structuredClone(doc))).resolves.toMatchObject({ openapi: doc.openapi });
    // The validator refuses a broken document (the check can fail).
    const broken = structuredClone(doc);
    broken.paths["/api/v1/orders"].get.responses = { "200": { content: {} } }; // a response without its description
    await expect(SwaggerParser.validate(broken)).rejects.toThrow();
  });

  it.each(["apiKey", "api_key", "key", "X-Api-Key", "token"])("refuses a key in the query string (?%s=)", async (param) => {
    const r = await node.http("GET", `/api/v1/orders?${param}=test-admin-key-0123456789`);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: "API_KEY_IN_QUERY", details: { parameter: param } });
    expect(JSON.stringify(r.body)).not.toContain("test-admin-key");
  });

  it("finds key-like query parameters and logs URLs without their query", () => {
    expect(keyParamInQuery("/api/v1/orders?limit=5&apikey=abc")).toBe("apikey");
    expect(keyParamInQuery("/api/v1/orders?limit=5&keyword=x")).toBeUndefined();
    expect(keyParamInQuery("/api/v1/orders")).toBeUndefined();
    expect(loggableUrl("/api/v1/orders?api_key=secret")).toBe("/api/v1/orders?…");
  });

  it.each(["/api/v1/health", "/api/v1/orders", "/", "/index.html", "/js/core.js", "/vendor/chart.js", "/no-such-file"])("sends the security headers on %s", async (url) => {
    const res = await fetch(`http://127.0.0.1:${node.port}${url}`);
    await res.arrayBuffer();
    expect(res.headers.get("content-security-policy")).toMatch(/frame-ancestors 'none'/);
    expect(res.headers.get("content-security-policy")).toMatch(/script-src 'self'/);
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
  });
});

describe("sim-bank outage", () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node?.stop();
  });

  it("answers stored documents without store internals (payouts, trades, plans, orders, bindings)", async () => {
    const internal = ["_id", "_rev", "outbox", "claims", "openKey", "contentHash", "cardEnc", "idNoEnc", "mobileEnc", "liveKey"];
    const found: string[] = [];
    const walk = (where: string, v: unknown) => {
      if (Array.isArray(v)) v.forEach((x, i) => walk(`${where}[${i}]`, x));
      else if (v && typeof v === "object") {
        for (const [k, x] of Object.entries(v)) {
          if (internal.includes(k)) found.push(`${where}.${k}`);
          else walk(`${where}.${k}`, x);
        }
      }
    };
    expect((await node.http("POST", "/api/v1/positions/BANK_A/adjust", { amount: "1000.00", direction: "TOP_UP", reason: "test funds" })).status).toBe(200);
    const po = await node.http("POST", "/api/v1/payouts", { payoutNo: "PO-INT-1", amount: "10.00", beneficiary: { accountNo: "622200001111", accountName: "Li Si" } });
    expect(po.body.trades.length).toBeGreaterThan(0);
    const order = await node.http("POST", "/api/v1/orders", orderFixture());
    expect(order.status).toBe(200);
    const answers: Record<string, unknown> = {
      payout: po.body,
      getPayout: (await node.http("GET", "/api/v1/payouts/PO-INT-1")).body,
      trades: (await node.http("GET", "/api/v1/trades?kind=PAYOUT")).body,
      trade: (await node.http("GET", `/api/v1/trades/${po.body.trades[0].tradeNo}`)).body,
      order: order.body,
      orders: (await node.http("GET", "/api/v1/orders")).body,
      plan: (await node.http("GET", `/api/v1/plans/${order.body.planId}`)).body,
      plans: (await node.http("GET", "/api/v1/plans")).body,
      bindings: (await node.http("GET", "/api/v1/bindings")).body,
    };
    expect(answers.trade).toMatchObject({ tradeNo: po.body.trades[0].tradeNo });
    expect((answers.trades as any).rows?.length).toBeGreaterThan(0);
    for (const [k, v] of Object.entries(answers)) walk(k, v);
    expect(found).toEqual([]);

    // The same answers match the 200 schemas the OpenAPI document gives them.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ajv = new (require("ajv").default)({ strict: false, allErrors: true });
    const doc = (await node.http("GET", "/api/v1/openapi.json", undefined, null)).body;
    const schemaOf = (method: string, p: string) => doc.paths[p][method].responses["200"].content["application/json"].schema;
    const checks: Array<[string, string, unknown]> = [
      ["post", "/api/v1/payouts", answers.payout],
      ["get", "/api/v1/payouts/{payoutNo}", answers.getPayout],
      ["get", "/api/v1/trades", answers.trades],
      ["get", "/api/v1/trades/{tradeNo}", answers.trade],
      ["post", "/api/v1/orders", answers.order],
      ["get", "/api/v1/orders", answers.orders],
      ["get", "/api/v1/plans/{planId}", answers.plan],
      ["get", "/api/v1/plans", answers.plans],
      ["get", "/api/v1/bindings", answers.bindings],
    ];
    for (const [m, p, body] of checks) {
      const schema = schemaOf(m, p);
      expect([p, Object.keys(schema.properties ?? {}).length > 0]).toEqual([p, true]);
      const validate = ajv.compile(schema);
      expect([m, p, validate(body) ? null : validate.errors]).toEqual([m, p, null]);
    }
  });

  it("answers a statement asked during an outage with 503 and a code", async () => {
    expect((await node.http("GET", "/api/v1/sim-banks/BANK_A/statement?date=2026-01-15")).status).toBe(200);
    expect((await node.http("PUT", "/api/v1/sim-banks/BANK_A", { outage: true })).status).toBe(200);
    const r = await node.http("GET", "/api/v1/sim-banks/BANK_A/statement?date=2026-01-15");
    expect(r.status).toBe(503);
    expect(typeof r.body.code).toBe("string");
  });
});
