/**
 * The web console as the gateway serves it: the page and every script/stylesheet it references,
 * Chart.js from /vendor, and the gateway behaviour the console relies on (error shape, the
 * harmless probes it uses to show the signed-in role).
 */
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { startTestNode, type TestNode } from "../support/node";

const PUBLIC = path.join(__dirname, "..", "..", "public");

describe("web console", () => {
  let node: TestNode;
  let base: string;
  beforeAll(async () => {
    node = await startTestNode();
    base = `http://127.0.0.1:${node.port}`;
  });
  afterAll(async () => {
    await node.stop();
  });

  const get = async (url: string) => {
    const res = await fetch(base + url);
    return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() };
  };

  it("serves index.html at / without a key, and every local asset it references", async () => {
    const page = await get("/");
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/text\/html/);
    const refs = [...page.text.matchAll(/(?:src|href)="([^"#][^"]*)"/g)].map((m) => m[1]).filter((r) => !r.startsWith("data:") && !r.startsWith("/vendor/"));
    expect(refs).toEqual(expect.arrayContaining(["app.css", "app.js", "js/core.js"]));
    for (const ref of refs) {
      const asset = await get("/" + ref.replace(/^\//, ""));
      expect({ ref, status: asset.status }).toEqual({ ref, status: 200 });
      expect(asset.text).toBe(fs.readFileSync(path.join(PUBLIC, ref), "utf8"));
    }
  });

  it("loads Chart.js from /vendor/chart.js (no CDN)", async () => {
    const page = await get("/");
    expect(page.text).toContain('<script src="/vendor/chart.js"></script>');
    const chart = await get("/vendor/chart.js");
    expect(chart.status).toBe(200);
    expect(chart.type).toMatch(/javascript/);
    expect(chart.text).toMatch(/Chart/);
  });

  it("ships scripts that parse as classic browser scripts", () => {
    const files = ["app.js", ...fs.readdirSync(path.join(PUBLIC, "js")).map((f) => "js/" + f)].filter((f) => f.endsWith(".js"));
    for (const f of files) expect(() => new vm.Script(fs.readFileSync(path.join(PUBLIC, f), "utf8"), { filename: f })).not.toThrow();
  });

  it("serves the collection & payout pages (runs, trades, flows, bindings, payouts, channels, collection, transfers) as JavaScript", async () => {
    const page = await get("/");
    for (const f of ["js/trades.js", "js/runs.js", "js/bindings.js", "js/payouts.js", "js/channels.js", "js/collection.js", "js/transfers.js"]) {
      expect(page.text).toContain(`<script src="${f}"></script>`);
      const asset = await get("/" + f);
      expect({ f, status: asset.status }).toEqual({ f, status: 200 });
      expect(asset.type).toMatch(/javascript/);
      expect(() => new vm.Script(asset.text, { filename: f })).not.toThrow();
    }
  });

  it("runs every page script in page order and registers the hash routes", () => {
    const html = fs.readFileSync(path.join(PUBLIC, "index.html"), "utf8");
    const scripts = [...html.matchAll(/<script src="([^"]+)"><\/script>/g)].map((m) => m[1]).filter((s) => !s.startsWith("/vendor/"));
    const routes: string[] = [];
    // A bare browser-like global: the scripts only define things at load time (no DOM work before boot).
    const sandbox: Record<string, any> = {
      console,
      URLSearchParams,
      setTimeout,
      addEventListener: () => undefined,
      document: { readyState: "loading", addEventListener: () => undefined },
      location: { hash: "" },
      localStorage: { getItem: () => null, setItem: () => undefined, removeItem: () => undefined },
      sessionStorage: { getItem: () => null, setItem: () => undefined, removeItem: () => undefined },
    };
    sandbox.window = sandbox;
    vm.createContext(sandbox);
    for (const s of scripts) {
      vm.runInContext(fs.readFileSync(path.join(PUBLIC, s), "utf8"), sandbox, { filename: s });
      if (s === "js/core.js") {
        const route = sandbox.RM.route;
        sandbox.RM.route = (pattern: string, render: unknown, nav?: string) => {
          routes.push(pattern);
          return route(pattern, render, nav);
        };
      }
    }
    expect(routes).toEqual(
      expect.arrayContaining([
        "/dashboard",
        "/plans/:planId",
        "/runs",
        "/runs/:runId",
        "/trades",
        "/trades/:tradeNo",
        "/flows",
        "/bindings",
        "/bindings/new",
        "/bindings/:bindingId",
        "/payouts",
        "/channels",
        "/collection",
        "/transfers",
        "/transfers/:transferNo",
        "/funders",
        "/remittances",
      ]),
    );
    // "/bindings/new" must win over "/bindings/:bindingId" (first match wins).
    expect(routes.indexOf("/bindings/new")).toBeLessThan(routes.indexOf("/bindings/:bindingId"));
    expect(typeof sandbox.RM.onLeave).toBe("function");
    // Operation numbers (idempotency keys of manual operations) fit the API's 4-48 [A-Za-z0-9_-].
    const no = sandbox.RM.opNo("REP");
    expect(no).toMatch(/^REP-[A-Za-z0-9_-]{4,44}$/);
    expect(no.length).toBeLessThanOrEqual(48);
    expect(sandbox.RM.opNo("REP")).not.toBe(no);
    expect(typeof sandbox.RM.plans.pauseButton).toBe("function");
    expect(sandbox.RM.decCmp("10.5", "10.50")).toBe(0);
    expect(sandbox.RM.decCmp("99999999999999999.01", "99999999999999999.1")).toBe(-1);
  });

  it("answers the role probes the console header relies on without writing anything", async () => {
    const before = await node.http("GET", "/api/v1/rules-audit?pageSize=1", undefined, "admin");
    // viewer vs ops: an empty POST /rules is refused by authorization (403) or by validation (422)
    expect((await node.http("POST", "/api/v1/rules", {}, "viewer")).status).toBe(403);
    expect((await node.http("POST", "/api/v1/rules", {}, "ops")).body).toMatchObject({ code: "VALIDATION_ERROR" });
    expect((await node.http("POST", "/api/v1/rules", {}, "admin")).status).toBe(422);
    // ops vs admin: deleting a rule id that cannot exist
    expect((await node.http("DELETE", "/api/v1/rules/RS-console-role-probe-0", undefined, "ops")).body).toMatchObject({ code: "FORBIDDEN" });
    expect((await node.http("DELETE", "/api/v1/rules/RS-console-role-probe-0", undefined, "admin")).status).toBe(404);
    const after = await node.http("GET", "/api/v1/rules-audit?pageSize=1", undefined, "admin");
    expect(after.body.total).toBe(before.body.total);
  });

  it("gives the console the error shape it displays: { code, message, details }", async () => {
    const res = await node.http("POST", "/api/v1/plans/preview", { principal: "1.001", annualRate: "0.12", term: 12, repaymentMethod: "EQUAL_INSTALLMENT", startDate: "2026-01-15" }, "viewer");
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: "VALIDATION_ERROR", message: expect.any(String), details: [expect.objectContaining({ field: "principal", message: expect.any(String) })] });
  });
});
