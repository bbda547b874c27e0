/** Table tests of the small pure modules: money, partition, order identity, auth, clock, rules, config. */
import { Dec, fmt, money, parseAmount, parseRate, roundCent, sum } from "../../../domain/money";
import { fnv1a32, partitionOf } from "../../../domain/partition";
import { canonicalJson, contentHash, orderIdOf, planIdOf } from "../../../domain/order";
import { hashKey, maskMobile, maskTail, roleAllows, verifyKey } from "../../../domain/auth";
import { BusinessClock, moveClock, SYSTEM_CLOCK } from "../../../domain/clock";
import { resolveRule, scopeKey, validateRuleContent, type RuleSet } from "../../../domain/rules";
import { ConfigError, loadConfig, parseApiKeys } from "../../../config";
import { ruleToJsonSchema } from "../../../services/api.openapi";

describe("money", () => {
  it("refuses JS numbers", () => {
    expect(() => (Dec as any)(1.1)).toThrow();
    expect(() => money(5 as any)).toThrow(expect.objectContaining({ code: "INVALID_AMOUNT" }));
  });
  it.each([
    ["1.005", "1.01"],
    ["1.004", "1.00"],
    ["2.675", "2.68"], // 2.675 as a double is 2.67499…; decimal rounding gets 2.68
    ["0.125", "0.13"],
    ["999999999999999.995", "1000000000000000.00"],
  ])("rounds %s half-up to %s", (input, expected) => {
    expect(fmt(roundCent(Dec(input)))).toBe(expected);
  });
  it("adds exactly where floats do not", () => {
    expect(fmt(sum(["0.10", "0.20"]))).toBe("0.30");
    expect(0.1 + 0.2).not.toBe(0.3);
  });
  it.each([["0"], ["-1.00"], ["1.001"], ["01.00"], ["1e3"], [" 1.00"], [""], ["1."]])("rejects amount %j", (v) => {
    expect(() => parseAmount(v)).toThrow(expect.objectContaining({ code: "INVALID_AMOUNT" }));
  });
  it("accepts zero only when asked", () => {
    expect(fmt(parseAmount("0.00", "x", { allowZero: true }))).toBe("0.00");
  });
  it.each([["1"], ["1.0"], ["-0.1"], ["0.12345678901"], ["abc"]])("rejects rate %j", (v) => {
    expect(() => parseRate(v)).toThrow(expect.objectContaining({ code: "INVALID_RATE" }));
  });
});

describe("partition", () => {
  it("matches published FNV-1a 32-bit vectors", () => {
    // Vectors from the FNV reference (isthe.com/chongo/tech/comp/fnv): "" and "a" and "foobar".
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968);
  });
  it("spreads plan ids over every partition", () => {
    const counts = new Array(64).fill(0);
    for (let i = 0; i < 64_000; i++) counts[partitionOf(planIdOf("S", `O${i}`), 64)]++;
    expect(Math.min(...counts)).toBeGreaterThan(800);
    expect(Math.max(...counts)).toBeLessThan(1200);
  });
});

describe("order identity", () => {
  it("derives stable ids from (source, orderNo)", () => {
    expect(orderIdOf("A", "1")).toBe(orderIdOf("A", "1"));
    expect(orderIdOf("A", "1")).not.toBe(orderIdOf("A", "2"));
    // No ambiguity between "A/B"+"C" and "A"+"B/C": the source cannot contain "/".
    expect(planIdOf("A", "1")).toMatch(/^PL[0-9A-F]{22}$/);
  });
  it("fingerprints content regardless of key order", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { y: 1, x: 2 }], c: undefined } })).toBe('{"a":{"d":[2,{"x":2,"y":1}]},"b":1}');
    const a = { source: "S", orderNo: "1", principal: "1.00" } as any;
    expect(contentHash(a)).toBe(contentHash({ principal: "1.00", orderNo: "1", source: "S" } as any));
    expect(contentHash(a)).not.toBe(contentHash({ ...a, principal: "1.01" }));
  });
});

describe("auth", () => {
  const keys = [
    { name: "a", role: "admin" as const, hash: hashKey("k-admin") },
    { name: "v", role: "viewer" as const, hash: hashKey("k-viewer") },
  ];
  it("finds the principal of a presented key and nothing else", () => {
    expect(verifyKey(keys, "k-viewer")).toEqual({ name: "v", role: "viewer" });
    expect(verifyKey(keys, "k-viewer ")).toBeNull();
    expect(verifyKey(keys, undefined)).toBeNull();
    expect(verifyKey(keys, "")).toBeNull();
  });
  it.each([
    ["admin", "ops", true],
    ["ops", "ops", true],
    ["viewer", "ops", false],
    ["ops", "admin", false],
    ["viewer", "viewer", true],
  ] as const)("%s may act as %s: %s", (have, need, ok) => {
    expect(roleAllows(have, need)).toBe(ok);
  });
  it("masks", () => {
    expect(maskTail("6222020200112233445")).toBe("***************3445");
    expect(maskMobile("13800138000")).toBe("138****8000");
    expect(maskTail("12")).toBe("**");
  });
});

describe("business clock", () => {
  const real = Date.parse("2026-06-01T00:00:00Z");
  it("takes the first move to any instant, then only forward", () => {
    const s1 = moveClock(SYSTEM_CLOCK, { to: "2020-01-01T00:00:00Z", frozen: true }, real, "UTC");
    expect(s1).toEqual({ offsetMs: 0, frozenAt: Date.parse("2020-01-01T00:00:00Z"), version: 1 });
    expect(() => moveClock(s1, { to: "2019-12-31T23:59:59Z" }, real, "UTC")).toThrow(expect.objectContaining({ code: "CLOCK_BACKWARDS" }));
    const s2 = moveClock(s1, { advanceDays: 2, frozen: false }, real, "UTC");
    expect(s2.frozenAt).toBeNull();
    expect(real + s2.offsetMs).toBe(Date.parse("2020-01-03T00:00:00Z"));
  });
  it("reads the business date in its time zone and applies only newer states", () => {
    let now = Date.parse("2026-01-31T16:30:00Z");
    const clock = new BusinessClock("Asia/Shanghai", () => now);
    expect(clock.today()).toBe("2026-02-01");
    expect(clock.localTime()).toBe("00:30");
    expect(clock.apply({ offsetMs: 86_400_000, frozenAt: null, version: 2 })).toBe(true);
    expect(clock.apply({ offsetMs: 0, frozenAt: null, version: 1 })).toBe(false);
    expect(clock.today()).toBe("2026-02-02");
    now += 1000;
    expect(clock.nowMs()).toBe(now + 86_400_000);
  });
  it("reads a zone-less instant in the business zone", () => {
    const s = moveClock(SYSTEM_CLOCK, { to: "2026-03-01T08:00:00", frozen: true }, real, "Asia/Shanghai");
    expect(new Date(s.frozenAt as number).toISOString()).toBe("2026-03-01T00:00:00.000Z");
  });
});

describe("rules", () => {
  const rule = (id: string, scope: RuleSet["scope"], effectiveFrom: string, extra: Partial<RuleSet> = {}): RuleSet => ({
    _id: id,
    kind: "FEE",
    name: id,
    scope,
    effectiveFrom,
    enabled: true,
    content: {},
    version: 1,
    deleted: false,
    ...extra,
  });
  const rules = [
    rule("global", {}, "2000-01-01"),
    rule("consumer", { bizType: "CONSUMER" }, "2026-01-01"),
    rule("funder", { funderId: "F1" }, "2026-01-01"),
    rule("funder-later", { funderId: "F1" }, "2026-06-01"),
    rule("product", { funderId: "F1", productCode: "P1" }, "2026-03-01"),
    rule("product-off", { productCode: "P2" }, "2026-01-01", { enabled: false }),
    rule("deleted", { productCode: "P3" }, "2026-01-01", { deleted: true }),
  ];
  it.each([
    [{ funderId: "F9" }, "2026-05-01", "global"],
    [{ bizType: "CONSUMER", funderId: "F9" }, "2026-05-01", "consumer"],
    [{ bizType: "CONSUMER", funderId: "F1" }, "2026-05-01", "funder"],
    [{ funderId: "F1" }, "2026-06-01", "funder-later"],
    [{ funderId: "F1", productCode: "P1" }, "2026-02-28", "funder"],
    [{ funderId: "F1", productCode: "P1" }, "2026-03-01", "product"],
    [{ productCode: "P2" }, "2026-05-01", "global"],
    [{ productCode: "P3" }, "2026-05-01", "global"],
    [{}, "1999-12-31", null],
  ])("resolves %j on %s to %s", (target, date, expected) => {
    expect(resolveRule(rules, "FEE", target, date)?._id ?? null).toBe(expected);
  });
  it("keys a scope uniquely", () => {
    expect(scopeKey("FEE", { funderId: "F1" }, "2026-01-01")).toBe("FEE|*|F1|*|2026-01-01");
  });
  it("fills defaults and sorts time points", () => {
    expect(validateRuleContent("DEBIT_TIME_POINTS", { times: ["18:00", "12:00"] })).toEqual({ times: ["12:00", "18:00"], misfireGraceMinutes: 30 });
  });
});

describe("config", () => {
  it("parses API keys and refuses weak or malformed ones", () => {
    expect(parseApiKeys("a:0123456789abcdef:admin, b:0123456789abcdeg:viewer")).toHaveLength(2);
    expect(() => parseApiKeys("a:short:admin")).toThrow(ConfigError);
    expect(() => parseApiKeys("a:0123456789abcdef:root")).toThrow(/role/);
    expect(() => parseApiKeys("a:0123456789abcdef")).toThrow(/name:key:role/);
  });
  it("has embedded defaults and validates the rest", () => {
    const cfg = loadConfig({});
    expect(cfg).toMatchObject({ port: 3000, partitions: 64, timeZone: "Asia/Shanghai", testClock: false, transporter: undefined, mongoUri: undefined });
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(() => loadConfig({ PARTITIONS: "0" })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: "http" })).toThrow(ConfigError);
    expect(() => loadConfig({ TIME_ZONE: "Mars/Olympus" })).toThrow(ConfigError);
    expect(loadConfig({ TEST_CLOCK: "1", SERVICES: "api, rules" })).toMatchObject({ testClock: true, services: ["api", "rules"] });
  });
});

describe("OpenAPI schema conversion", () => {
  it.each([
    [{ type: "string", pattern: "^a$", min: 1, max: 3 }, { type: "string", pattern: "^a$", minLength: 1, maxLength: 3 }],
    [{ type: "number", integer: true, min: 1, max: 600 }, { type: "integer", minimum: 1, maximum: 600 }],
    [{ type: "enum", values: ["A", "B"] }, { type: "string", enum: ["A", "B"] }],
    [
      { type: "object", strict: true, props: { a: { type: "boolean" }, b: { type: "string", optional: true } } },
      { type: "object", properties: { a: { type: "boolean" }, b: { type: "string" } }, required: ["a"], additionalProperties: false },
    ],
    [{ type: "array", items: { type: "string" }, max: 2 }, { type: "array", items: { type: "string" }, maxItems: 2 }],
  ])("converts %j", (rule, schema) => {
    expect(ruleToJsonSchema(rule)).toEqual(schema);
  });
});
