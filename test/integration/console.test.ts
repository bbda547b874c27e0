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
