/** Webhooks, pure part: the signature (checked against node's own HMAC), the back-off, type matching, URLs. */
import crypto from "node:crypto";
import {
  afterFailure,
  attemptOffsets,
  checkEndpointUrl,
  generateSecret,
  hmacHex,
  isSuccessStatus,
  matchesType,
  normalizeEventTypes,
  signatureHeader,
  signedRequest,
  truncateBody,
  verifySignature,
} from "../../../domain/webhooks";

const SECRET = "whsec_test_0123456789abcdef";
const ENVELOPE = { id: "EV0000000000010123456789abcdef", type: "order.synced", source: "order-sync", key: "O1", occurredAt: "2026-01-15T01:00:00.000Z", data: { orderId: "O1", amount: "1234.56" } };
const NOW = Date.UTC(2026, 0, 15, 1, 0, 0, 250);

describe("signature", () => {
  it("is v1=<hex HMAC-SHA256(secret, timestamp + '.' + raw body)>", () => {
    const body = JSON.stringify(ENVELOPE);
    const expected = crypto.createHmac("sha256", SECRET).update("1768438800." + body).digest("hex");
    expect(hmacHex(SECRET, 1768438800, body)).toBe(expected);
    expect(signatureHeader(SECRET, "1768438800", body)).toBe("v1=" + expected);
  });

  it("signs the exact body it sends, with the documented headers", () => {
    const req = signedRequest(ENVELOPE, "WH1:" + ENVELOPE.id, SECRET, NOW);
    expect(req.body).toBe(JSON.stringify(ENVELOPE));
    expect(req.headers).toMatchObject({
      "Content-Type": "application/json",
      "X-RepayMesh-Event": "order.synced",
      "X-RepayMesh-Event-Id": ENVELOPE.id,
      "X-RepayMesh-Delivery": "WH1:" + ENVELOPE.id,
      "X-RepayMesh-Timestamp": "1768438800",
    });
    const mac = crypto.createHmac("sha256", SECRET).update(req.headers["X-RepayMesh-Timestamp"] + "." + req.body).digest("hex");
    expect(req.headers["X-RepayMesh-Signature"]).toBe("v1=" + mac);
    expect(JSON.stringify(req.headers)).not.toContain(SECRET);
  });

  it("verifies as a consumer would: right secret and fresh timestamp only", () => {
    const req = signedRequest(ENVELOPE, "WH1:X", SECRET, NOW);
    const sig = req.headers["X-RepayMesh-Signature"];
    const ts = req.headers["X-RepayMesh-Timestamp"];
    expect(verifySignature(sig, ts, req.body, SECRET, NOW)).toBe(true);
    expect(verifySignature(sig, ts, req.body, SECRET, NOW + 299_000)).toBe(true);
    expect(verifySignature(sig, ts, req.body, SECRET, NOW + 301_000)).toBe(false); // older than 5 minutes
    expect(verifySignature(sig, ts, req.body, "another-secret-0123456", NOW)).toBe(false);
    expect(verifySignature(sig, ts, req.body + " ", SECRET, NOW)).toBe(false); // a changed byte
    expect(verifySignature(sig, String(Number(ts) + 1), req.body, SECRET, NOW)).toBe(false); // a moved timestamp
    expect(verifySignature("v0=" + sig.slice(3), ts, req.body, SECRET, NOW)).toBe(false);
    expect(verifySignature("v1=zz", ts, req.body, SECRET, NOW)).toBe(false);
    expect(verifySignature(undefined, ts, req.body, SECRET, NOW)).toBe(false);
    expect(verifySignature("v1=" + "0".repeat(64) + ", " + sig, ts, req.body, SECRET, NOW)).toBe(true); // any v1 value may match
  });

  it("generates long random secrets", () => {
    const a = generateSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(generateSecret()).not.toBe(a);
  });
});

describe("back-off", () => {
  const BACKOFF = [10_000, 30_000, 120_000, 600_000, 3_600_000, 21_600_000];

  it.each([
    [1, 10_000],
    [2, 30_000],
    [3, 120_000],
    [4, 600_000],
    [5, 3_600_000],
    [6, 21_600_000],
  ])("after failed attempt %i retries %i ms later", (failed, delay) => {
    expect(afterFailure(failed, BACKOFF, NOW)).toEqual({ status: "RETRYING", nextAttemptAt: NOW + delay });
  });

  it("fails after the last entry (1 + back-off length attempts in a cycle)", () => {
    expect(afterFailure(7, BACKOFF, NOW)).toEqual({ status: "FAILED" });
    expect(afterFailure(5, [50, 50, 50, 50], NOW)).toEqual({ status: "FAILED" });
    expect(afterFailure(1, [], NOW)).toEqual({ status: "FAILED" });
    expect(() => afterFailure(0, BACKOFF, NOW)).toThrow(RangeError);
  });

  it("lays out a cycle's attempts", () => {
    expect(attemptOffsets([50, 50, 50, 50])).toEqual([0, 50, 100, 150, 200]);
    expect(attemptOffsets(BACKOFF).at(-1)).toBe(25_960_000); // ~7.2 h from first try to giving up
  });

  it("counts only 2xx as success", () => {
    expect([199, 200, 204, 299, 300, 302, 400, 404, 500, 503].map(isSuccessStatus)).toEqual([false, true, true, true, false, false, false, false, false, false]);
  });

  it("keeps at most 500 characters of an answer", () => {
    expect(truncateBody("x".repeat(800))).toHaveLength(500);
    expect(truncateBody("ok")).toBe("ok");
  });
});

describe("type matching", () => {
  it.each<[string[], string, boolean]>([
    [["order.synced"], "order.synced", true],
    [["order.synced"], "plan.generated", false],
    [["order.synced", "trade.failed"], "trade.failed", true],
    [["*"], "plan.settled", true],
    [["*"], "webhook.ping", true],
    [[], "order.synced", false],
  ])("%j wants %s: %s", (types, type, want) => {
    expect(matchesType(types, type)).toBe(want);
  });

  it("stores * alone, other lists unique and sorted", () => {
    expect(normalizeEventTypes(["trade.failed", "*"])).toEqual(["*"]);
    expect(normalizeEventTypes(["trade.failed", "order.synced", "trade.failed"])).toEqual(["order.synced", "trade.failed"]);
  });
});

describe("endpoint URL", () => {
  it("accepts http and https", () => {
    expect(checkEndpointUrl("https://example.com/hooks?x=1")).toBe("https://example.com/hooks?x=1");
    expect(checkEndpointUrl(" http://127.0.0.1:8080/h ")).toBe("http://127.0.0.1:8080/h");
  });

  it.each([
    ["ftp", "ftp://example.com/x"],
    ["file", "file:///etc/passwd"],
    ["javascript", "javascript:alert(1)"],
    ["relative", "example.com/hook"],
    ["no host", "http://"],
    ["over 2000 characters", "https://" + "a".repeat(2000)],
  ])("refuses %s", (_name, url) => {
    expect(() => checkEndpointUrl(url)).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR" }));
  });
});
