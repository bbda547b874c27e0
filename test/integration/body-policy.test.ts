/**
 * The gateway's body policy on every write operation of the OpenAPI document: a body that is not
 * JSON (a form, text, no content type), not one object (array, string, number, null), or that holds
 * a prototype key (`__proto__`, `constructor`, `prototype`, at the top or nested) or a `null` is refused with a
 * 4xx and a code before any action runs; a wrong value in any documented field (wrong type, a
 * coercible look-alike, an impossible date or amount, over-long text, out of range) is a 422 naming
 * that field; and nothing is written in any store of the node (but the run records its own schedulers write).
 */
import { orderFixture, startTestNode, type TestNode } from "../support/node";
import { bodyFault } from "../../services/api.body-policy";

async function raw(node: TestNode, method: string, url: string, body: string | undefined, contentType?: string) {
  const headers: Record<string, string> = { "X-Api-Key": "test-admin-key-0123456789" };
  if (contentType) headers["Content-Type"] = contentType;
  const res = await fetch(`http://127.0.0.1:${node.port}${url}`, { method, headers, body });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed };
}

/** Documents in every store of every data service on the node. */
async function storeCounts(node: TestNode): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const svc of node.broker.services as any[]) {
    const stores: Record<string, any> = svc.stores ?? (svc.store ? { [svc.store.collection]: svc.store } : {});
    // Job run records are written by the node's own schedulers (debit slots, daily jobs) as the clock
    // passes their times: each request's refusal is asserted by its answer (a 415/422 runs no action).
    for (const [name, store] of Object.entries(stores)) if (!/runs$/i.test(name)) out[`${svc.name}.${name}`] = await store.count({});
  }
  return out;
}

const BAD_BODIES: Array<[string, string | undefined, string | undefined, number, string]> = [
  ["a form body", "productCode=P-NONE&slotTime=12%3A00", "application/x-www-form-urlencoded", 415, "UNSUPPORTED_MEDIA_TYPE"],
  ["text/plain JSON", '{"slotTime":"12:00"}', "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"],
  ["a body without a content type", '{"slotTime":"12:00"}', undefined, 415, "UNSUPPORTED_MEDIA_TYPE"],
  ["an array", '[{"slotTime":"12:00"}]', "application/json", 422, "INVALID_REQUEST_BODY"],
  ["a string", '"12:00"', "application/json", 422, "INVALID_REQUEST_BODY"],
  ["a number", "12", "application/json", 422, "INVALID_REQUEST_BODY"],
  ["null", "null", "application/json", 422, "INVALID_REQUEST_BODY"],
  ["a top-level __proto__", '{"__proto__":{"term":600,"slotTime":"12:00"}}', "application/json", 422, "INVALID_REQUEST_BODY"],
  ["a nested constructor", '{"customer":{"constructor":{"prototype":{"x":1}}}}', "application/json", 422, "INVALID_REQUEST_BODY"],
  ["a prototype key in an array", '{"planIds":[{"prototype":1}]}', "application/json", 422, "INVALID_REQUEST_BODY"],
  ["a null field", '{"enabled":null,"url":null,"latencyMs":null,"slotTime":null}', "application/json", 422, "INVALID_REQUEST_BODY"],
  ["a null in an array", '{"planIds":[null]}', "application/json", 422, "INVALID_REQUEST_BODY"],
  ["an unknown field", '{"zzUnknownField":1}', "application/json", 422, "VALIDATION_ERROR"],
  ["broken JSON", '{"slotTime":', "application/json", 400, "INVALID_REQUEST_BODY"],
];

describe("the gateway's body policy", () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({ TEST_CLOCK: "1" });
    // Something in the stores, so a write of any kind would show.
    expect((await node.http("POST", "/api/v1/orders", orderFixture())).status).toBe(200);
  });
  afterAll(async () => {
    await node.stop();
  });

  it("finds prototype keys, nulls and excess depth anywhere", () => {
    expect(bodyFault(JSON.parse('{"a":{"b":[{"__proto__":1}]}}'))).toEqual({ field: "a.b[0].__proto__", why: "PROTOTYPE_KEY" });
    expect(bodyFault({ a: { constructor: 1 } })).toEqual({ field: "a.constructor", why: "PROTOTYPE_KEY" });
    expect(bodyFault({ enabled: null })).toEqual({ field: "enabled", why: "NULL" });
    expect(bodyFault({ a: [1, null] })).toEqual({ field: "a[1]", why: "NULL" });
    expect(bodyFault({ a: { b: [1, "x", false, 0, ""] } })).toBeNull();
    let deep: any = {};
    for (let i = 0; i < 40; i++) deep = { d: deep };
    expect(bodyFault(deep)?.why).toBe("TOO_DEEP");
  });

  it("refuses every bad body on every write operation with a code, and writes nothing", async () => {
    const doc = (await node.http("GET", "/api/v1/openapi.json", undefined, null)).body;
    const ops: Array<[string, string]> = [];
    for (const [p, item] of Object.entries<any>(doc.paths)) {
      // The raw statement upload takes the file itself as its body (a stream alias): test/e2e/reconciliation.test.ts.
      if (p.endsWith("/reconciliations/upload/{channel}/{date}")) continue;
      for (const m of Object.keys(item)) if (["post", "put", "patch", "delete"].includes(m)) ops.push([m.toUpperCase(), p.replace(/\{[^}]+\}/g, "X1")]);
    }
    expect(ops.length).toBeGreaterThanOrEqual(40);
    const before = await storeCounts(node);
    const wrong: string[] = [];
    for (const [method, url] of ops) {
      for (const [what, body, type, status, code] of BAD_BODIES) {
        const res = await raw(node, method, url, body, type);
        if (res.status !== status || res.body?.code !== code) wrong.push(`${method} ${url} with ${what}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(await storeCounts(node)).toEqual(before);
  });

  it("refuses a wrong value in every documented field of every write operation, naming the field", async () => {
    const doc = (await node.http("GET", "/api/v1/openapi.json", undefined, null)).body;
    /** Values no field of this schema takes: wrong types, coercible look-alikes, impossible dates and amounts, over-long text. */
    const wrongValues = (sc: any): unknown[] => {
      const out: unknown[] = [];
      if (sc.type === "string") {
        out.push(true, 12, ["x"], {});
        if (typeof sc.maxLength === "number") out.push("x".repeat(sc.maxLength + 1));
        if (typeof sc.pattern === "string" && sc.pattern.includes("\\d{4}-\\d{2}-\\d{2}")) out.push("2026-02-30", "0000-00-00");
        if (typeof sc.pattern === "string" && new RegExp(sc.pattern).test("12.34") && !new RegExp(sc.pattern).test("12.345")) out.push("-1.00", "12.345", "1e3", "1234567890123456.00");
        if (Array.isArray(sc.enum)) out.push("NOT_ONE_OF_THEM");
      } else if (sc.type === "number" || sc.type === "integer") {
        out.push("1", true, [1], {});
        if (sc.type === "integer") out.push(1.5);
        if (typeof sc.minimum === "number") out.push(sc.minimum - 1);
        if (typeof sc.maximum === "number") out.push(sc.maximum + 1);
      } else if (sc.type === "boolean") {
        out.push("true", 1, [true]);
      } else if (sc.type === "array") {
        out.push("x", 1, { a: 1 });
      } else if (sc.type === "object") {
        out.push("x", 1, [1]);
      }
      return out;
    };
    const before = await storeCounts(node);
    const wrong: string[] = [];
    let sent = 0;
    for (const [p, item] of Object.entries<any>(doc.paths)) {
      if (p.endsWith("/reconciliations/upload/{channel}/{date}")) continue;
      for (const [m, op] of Object.entries<any>(item)) {
        if (!["post", "put", "patch", "delete"].includes(m)) continue;
        const props = op.requestBody?.content?.["application/json"]?.schema?.properties ?? {};
        for (const [field, sc] of Object.entries<any>(props)) {
          for (const value of wrongValues(sc)) {
            sent++;
            const res = await raw(node, m.toUpperCase(), p.replace(/\{[^}]+\}/g, "X1"), JSON.stringify({ [field]: value }), "application/json");
            const named = res.status === 422 && res.body?.code === "VALIDATION_ERROR" && (res.body.details ?? []).some((d: any) => d.field === field || String(d.field).startsWith(`${field}.`) || String(d.field).startsWith(`${field}[`));
            if (!named) wrong.push(`${m.toUpperCase()} ${p} {${field}: ${JSON.stringify(value).slice(0, 40)}}: ${res.status} ${JSON.stringify(res.body).slice(0, 160)}`);
          }
        }
      }
    }
    expect(sent).toBeGreaterThan(300);
    expect(wrong).toEqual([]);
    expect(await storeCounts(node)).toEqual(before);
  });

  it("never shows a pattern garbled in a validation error", async () => {
    const res = await node.http("POST", "/api/v1/bindings", { customerId: "C1", cardNo: "12ab", name: "Zhang San", idNo: "110101199001011234", mobile: "13800138000", channels: ["BANK_A"] });
    expect(res.status).toBe(422);
    expect(res.body.details).toEqual([expect.objectContaining({ type: "stringPattern", field: "cardNo", message: "'cardNo' must be 12-19 digits" })]);
    expect(JSON.stringify(res.body)).not.toContain("d{12,19}");
    expect(JSON.stringify(res.body)).not.toContain("12ab"); // nor the value sent
  });

  it("still takes a JSON object, an empty body and a body-less write", async () => {
    const { source, orderNo, bizType, funderId, productCode, customer, ...terms } = orderFixture();
    void [source, orderNo, bizType, funderId, productCode, customer];
    const ok = await raw(node, "POST", "/api/v1/plans/preview", JSON.stringify(terms), "application/json; charset=utf-8");
    expect(ok.status).toBe(200);
    expect(ok.body.lines).toHaveLength(12);
    // A preview whose term hid in __proto__ was 600 periods before: now refused.
    const hidden = await raw(node, "POST", "/api/v1/plans/preview", JSON.stringify({ ...terms, term: undefined }).replace("{", '{"__proto__":{"term":600},'), "application/json");
    expect({ status: hidden.status, code: hidden.body.code }).toEqual({ status: 422, code: "INVALID_REQUEST_BODY" });
    // A write without a body needs no content type; an empty JSON object is an object.
    expect((await raw(node, "POST", "/api/v1/remittances/runs", undefined)).status).toBeLessThan(300);
    expect((await raw(node, "POST", "/api/v1/remittances/runs", "{}", "application/json")).status).toBeLessThan(300);
  });
});
