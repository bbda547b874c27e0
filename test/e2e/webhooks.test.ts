/**
 * Webhooks on a real node against real local HTTP endpoints: retries on the configured back-off
 * until a 2xx, a signature on every attempt that verifies with the documented algorithm, redelivery
 * by hand, FAILED after the last retry (with an alert), type filtering, dedupe of a replayed event,
 * a delivery left SENDING by a dead node taken over, queued deliveries cancelled on disable, the subscription's life (disable, rotate, ping,
 * delete), and bad input (4xx with a code, nothing written).
 */
import crypto from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { EVENTS_CHANNEL, type EventEnvelope } from "../../contracts/events.contract";
import { startTestNode, orderFixture, type TestNode, WAIT_SCALE } from "../support/node";
import { until } from "../support/debit";

jest.setTimeout(60_000 * WAIT_SCALE);

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  status: number;
}

interface Endpoint {
  url: string;
  requests: Received[];
  /** Event ids the consumer processed (its own dedupe by X-RepayMesh-Event-Id). */
  processed: Set<string>;
  close(): Promise<void>;
}

/**
 * A webhook consumer on 127.0.0.1: `answer(n)` gives the status of the n-th request (1-based), or
 * "hang" to never answer. It dedupes by event id the way a consumer should.
 */
async function endpoint(answer: (n: number) => number | "hang" = () => 200): Promise<Endpoint> {
  const requests: Received[] = [];
  const processed = new Set<string>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const a = answer(requests.length + 1);
      requests.push({ headers: req.headers, body, status: a === "hang" ? 0 : a });
      if (a === "hang") return;
      if (a >= 200 && a < 300) processed.add(String(req.headers["x-repaymesh-event-id"]));
      res.writeHead(a, { "Content-Type": "text/plain" });
      res.end(a >= 200 && a < 300 ? "ok" : "boom ".repeat(200)); // 1000 characters: the log keeps 500
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    requests,
    processed,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** What a consumer does with a request: the documented check (HMAC over "<timestamp>.<raw body>", 5 minutes). */
function verifies(r: Received, secret: string): boolean {
  const ts = String(r.headers["x-repaymesh-timestamp"]);
  const sig = String(r.headers["x-repaymesh-signature"]);
  if (!/^\d+$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const expected = "v1=" + crypto.createHmac("sha256", secret).update(ts + "." + r.body).digest("hex");
  return sig.length === expected.length && crypto.timingSafeEqual(Buffer.from(sig), Buffer.from(expected));
}

async function subscribe(node: TestNode, body: Record<string, unknown>) {
  const res = await node.http("POST", "/api/v1/webhooks", body, "admin");
  expect(res.status).toBe(200);
  expect(typeof res.body.secret).toBe("string");
  return res.body as { id: string; secret: string; url: string; eventTypes: string[] };
}

async function delivery(node: TestNode, id: string) {
  const res = await node.http("GET", `/api/v1/webhooks/deliveries/${encodeURIComponent(id)}`);
  expect(res.status).toBe(200);
  return res.body;
}

async function deliveries(node: TestNode, query = "") {
  const res = await node.http("GET", `/api/v1/webhooks/deliveries${query}`);
  expect(res.status).toBe(200);
  return res.body as { rows: any[]; total: number };
}

function envelope(over: Partial<EventEnvelope> = {}): EventEnvelope {
  return { id: "EV" + crypto.randomBytes(12).toString("hex"), type: "order.synced", source: "test", key: "O-1", occurredAt: new Date().toISOString(), data: { orderId: "O-1" }, ...over };
}

describe("webhook deliveries", () => {
  let node: TestNode;
  const endpoints: Endpoint[] = [];
  afterEach(async () => {
    await node?.stop();
    for (const e of endpoints.splice(0)) await e.close();
  });

  it("retries on the back-off until a 2xx, signs every attempt, and redelivers by hand", async () => {
    node = await startTestNode({ WEBHOOK_BACKOFF_MS: "50,50,50,50" });
    const flaky = await endpoint((n) => (n <= 3 ? 500 : 200));
    const other = await endpoint();
    endpoints.push(flaky, other);
    const sub = await subscribe(node, { url: flaky.url, eventTypes: ["order.synced"], description: "lender's ERP" });
    expect(sub.secret).toMatch(/^whsec_/);
    const elsewhere = await subscribe(node, { url: other.url, eventTypes: ["plan.settled"], secret: "a-secret-of-our-own-choosing" });
    expect(elsewhere.secret).toBe("a-secret-of-our-own-choosing");

    // The secret is shown once: never in reads.
    const read = await node.http("GET", `/api/v1/webhooks/${sub.id}`, undefined, "viewer");
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: sub.id, url: flaky.url, eventTypes: ["order.synced"], enabled: true, deleted: false, createdBy: "alice" });
    expect(JSON.stringify(read.body)).not.toContain(sub.secret);
    expect(JSON.stringify((await node.http("GET", "/api/v1/webhooks")).body)).not.toContain(sub.secret);

    const fixture = orderFixture();
    const order = await node.http("POST", "/api/v1/orders", fixture);
    expect(order.status).toBe(200);

    const rows = await until(async () => (await deliveries(node, `?subscriptionId=${sub.id}`)).rows, (r) => r.length === 1 && r[0].status === "SUCCEEDED", 15_000);
    const d = await delivery(node, rows[0].id);
    expect(d).toMatchObject({ subscriptionId: sub.id, type: "order.synced", status: "SUCCEEDED", attempts: 4, lastStatus: 200 });
    expect(d.id).toBe(`${sub.id}:${d.eventId}`);
    expect(d.envelope).toMatchObject({ id: d.eventId, type: "order.synced", source: "order-sync", data: { orderNo: fixture.orderNo, planId: order.body.planId } });
    expect(d.log).toHaveLength(4);
    expect(d.log.map((e: any) => [e.kind, e.attempt, e.httpStatus])).toEqual([
      ["ATTEMPT", 1, 500],
      ["ATTEMPT", 2, 500],
      ["ATTEMPT", 3, 500],
      ["ATTEMPT", 4, 200],
    ]);
    expect(d.log[0].response).toHaveLength(500);
    expect(d.log[0].error).toBe("HTTP 500");
    expect(d.log.every((e: any) => typeof e.ms === "number" && typeof e.at === "string")).toBe(true);
    // Retries wait for the back-off (50 ms each).
    const at = d.log.map((e: any) => Date.parse(e.at));
    for (let i = 1; i < at.length; i++) expect(at[i] - at[i - 1]).toBeGreaterThanOrEqual(45);
    expect(JSON.stringify(d)).not.toContain(sub.secret);

    // The endpoint saw 4 requests for one event and one delivery, each signed; it processed the event once.
    expect(flaky.requests.map((r) => r.status)).toEqual([500, 500, 500, 200]);
    expect(new Set(flaky.requests.map((r) => r.headers["x-repaymesh-event-id"]))).toEqual(new Set([d.eventId]));
    expect(new Set(flaky.requests.map((r) => r.headers["x-repaymesh-delivery"]))).toEqual(new Set([d.id]));
    for (const r of flaky.requests) {
      expect(r.headers).toMatchObject({ "content-type": "application/json", "x-repaymesh-event": "order.synced" });
      expect(verifies(r, sub.secret)).toBe(true);
      expect(verifies(r, elsewhere.secret)).toBe(false);
      expect(JSON.parse(r.body)).toEqual(d.envelope);
    }
    expect(flaky.processed.size).toBe(1);

    // Redeliver by hand (ops; viewers may not): the same event again, audited in the log.
    const denied = await node.http("POST", `/api/v1/webhooks/deliveries/${d.id}/redeliver`, {}, "viewer");
    expect({ status: denied.status, code: denied.body.code }).toEqual({ status: 403, code: "FORBIDDEN" });
    const again = await node.http("POST", `/api/v1/webhooks/deliveries/${d.id}/redeliver`, { reason: "consumer lost it" }, "ops");
    expect(again.status).toBe(200);
    await until(async () => flaky.requests.length, (n) => n === 5, 10_000);
    const after = await until(() => delivery(node, d.id), (x: any) => x.status === "SUCCEEDED" && x.attempts === 5, 10_000);
    expect(after.log.map((e: any) => e.kind)).toEqual(["ATTEMPT", "ATTEMPT", "ATTEMPT", "ATTEMPT", "REDELIVER", "ATTEMPT"]);
    expect(after.log[4]).toMatchObject({ by: "olivia", reason: "consumer lost it" });
    expect(flaky.requests[4].headers["x-repaymesh-event-id"]).toBe(d.eventId);
    expect(verifies(flaky.requests[4], sub.secret)).toBe(true);
    expect(flaky.processed.size).toBe(1); // the consumer's dedupe: still one event

    // The subscription to another type got nothing.
    expect(other.requests).toHaveLength(0);
    expect((await deliveries(node, `?subscriptionId=${elsewhere.id}`)).total).toBe(0);
    // Filters.
    expect((await deliveries(node, `?eventId=${d.eventId}&status=SUCCEEDED&type=order.synced`)).total).toBe(1);
    expect((await deliveries(node, "?status=FAILED")).total).toBe(0);
  });

  it("ends FAILED after the configured retries (time-outs count) and alerts ops", async () => {
    node = await startTestNode({ WEBHOOK_BACKOFF_MS: "50,50,50,50", WEBHOOK_TIMEOUT_MS: "300" });
    const alerts: any[] = [];
    node.broker.createService({ name: "alert-spy", events: { "ops.alert": (ctx: any) => void alerts.push(ctx.params) } });
    const down = await endpoint((n) => (n % 2 ? 503 : "hang"));
    endpoints.push(down);
    const sub = await subscribe(node, { url: down.url, eventTypes: ["order.synced"] });
    const ev = envelope();
    await (node.broker as any).sendToChannel(EVENTS_CHANNEL, ev);
    const id = `${sub.id}:${ev.id}`;
    const d = await until(
      () => node.http("GET", `/api/v1/webhooks/deliveries/${id}`).then((r) => r.body),
      (x: any) => x?.status === "FAILED",
      15_000,
    );
    expect(d.attempts).toBe(5); // the first try and 4 retries
    expect(d.log.map((e: any) => e.httpStatus ?? e.error)).toEqual([503, "timed out after 300 ms", 503, "timed out after 300 ms", 503]);
    expect(down.requests).toHaveLength(5);
    await until(async () => alerts.length, (n) => n >= 1, 5000);
    expect(alerts[0]).toMatchObject({ kind: "WEBHOOK_FAILED", deliveryId: id, attempts: 5 });
    expect(JSON.stringify(alerts)).not.toContain(sub.secret);

    // Nothing more happens by itself.
    await new Promise((r) => setTimeout(r, 300));
    expect(down.requests).toHaveLength(5);
    // Redelivery starts a new cycle.
    expect((await node.http("POST", `/api/v1/webhooks/deliveries/${id}/redeliver`, {}, "ops")).status).toBe(200);
    await until(async () => down.requests.length, (n) => n >= 6, 10_000);
  });

  it("queues one delivery for an event replayed into the channel twice, and only for matching, enabled subscriptions", async () => {
    node = await startTestNode({ WEBHOOK_BACKOFF_MS: "50,50,50,50" });
    const a = await endpoint();
    const b = await endpoint();
    const off = await endpoint();
    endpoints.push(a, b, off);
    const subA = await subscribe(node, { url: a.url, eventTypes: ["trade.failed", "order.synced"] });
    const subB = await subscribe(node, { url: b.url, eventTypes: ["plan.settled"] });
    const subOff = await subscribe(node, { url: off.url, eventTypes: ["*"] });
    const disabled = await node.http("PATCH", `/api/v1/webhooks/${subOff.id}`, { enabled: false }, "admin");
    expect(disabled.body).toMatchObject({ enabled: false, version: 2 });

    const ev = envelope({ type: "trade.failed", key: "T-1", data: { tradeNo: "T-1" } });
    await (node.broker as any).sendToChannel(EVENTS_CHANNEL, ev);
    await (node.broker as any).sendToChannel(EVENTS_CHANNEL, ev);
    await until(async () => a.requests.length, (n) => n >= 1, 10_000);
    await (node.broker as any).sendToChannel(EVENTS_CHANNEL, ev); // after it was delivered, too
    await new Promise((r) => setTimeout(r, 400));
    expect((await deliveries(node, `?eventId=${ev.id}`)).rows.map((r) => r.subscriptionId)).toEqual([subA.id]);
    expect(a.requests).toHaveLength(1);
    expect(a.requests[0].headers["x-repaymesh-event"]).toBe("trade.failed");
    expect(verifies(a.requests[0], subA.secret)).toBe(true);
    expect(b.requests).toHaveLength(0);
    expect(off.requests).toHaveLength(0);
    expect((await deliveries(node, `?subscriptionId=${subB.id}`)).total).toBe(0);
  });

  it("takes over a delivery left SENDING by a node that died mid-send once its lease ran out", async () => {
    node = await startTestNode({ WEBHOOK_BACKOFF_MS: "50" });
    const ep = await endpoint();
    endpoints.push(ep);
    const sub = await subscribe(node, { url: ep.url, eventTypes: ["order.synced"] });
    const svc = node.broker.getLocalService("webhooks") as any;
    const ev = envelope();
    const past = new Date(Date.now() - 60_000).toISOString();
    const future = new Date(Date.now() + 60_000).toISOString();
    const base = { subscriptionId: sub.id, type: ev.type, status: "SENDING", attempts: 1, cycleStart: 0, nextAttemptAt: past, claimedBy: "dead-node", log: [], createdAt: past, updatedAt: past, version: 2 };
    await svc.stores.webhookDeliveries.insert({ ...base, _id: `${sub.id}:${ev.id}`, eventId: ev.id, envelope: ev, claimedUntil: past });
    const live = envelope();
    await svc.stores.webhookDeliveries.insert({ ...base, _id: `${sub.id}:${live.id}`, eventId: live.id, envelope: live, claimedUntil: future });
    const d = await until(() => delivery(node, `${sub.id}:${ev.id}`), (x: any) => x.status === "SUCCEEDED", 10_000);
    expect(d).toMatchObject({ attempts: 2 });
    expect(d.claimedUntil).toBeUndefined();
    expect(ep.requests.map((r) => r.headers["x-repaymesh-event-id"])).toEqual([ev.id]); // the one still leased is left alone
    expect((await delivery(node, `${sub.id}:${live.id}`)).status).toBe("SENDING");
    // Redelivering what another node is sending right now is refused.
    const busy = await node.http("POST", `/api/v1/webhooks/deliveries/${sub.id}:${live.id}/redeliver`, {}, "ops");
    expect({ status: busy.status, code: busy.body.code }).toEqual({ status: 409, code: "WEBHOOK_STATE" });

    // Disabling cancels what is queued (not what is in flight); redelivery waits for it to be enabled.
    const queued = envelope();
    await svc.stores.webhookDeliveries.insert({ ...base, _id: `${sub.id}:${queued.id}`, eventId: queued.id, envelope: queued, status: "RETRYING", nextAttemptAt: future });
    await node.http("PATCH", `/api/v1/webhooks/${sub.id}`, { enabled: false }, "admin");
    const cancelled = await delivery(node, `${sub.id}:${queued.id}`);
    expect(cancelled.status).toBe("CANCELLED");
    expect(cancelled.log.at(-1)).toMatchObject({ kind: "CANCELLED", reason: "subscription disabled by alice" });
    expect((await delivery(node, `${sub.id}:${live.id}`)).status).toBe("SENDING");
    const notYet = await node.http("POST", `/api/v1/webhooks/deliveries/${sub.id}:${queued.id}/redeliver`, {}, "ops");
    expect({ status: notYet.status, code: notYet.body.code }).toEqual({ status: 409, code: "WEBHOOK_STATE" });
    await node.http("PATCH", `/api/v1/webhooks/${sub.id}`, { enabled: true }, "admin");
    expect((await node.http("POST", `/api/v1/webhooks/deliveries/${sub.id}:${queued.id}/redeliver`, {}, "ops")).status).toBe(200);
    await until(() => delivery(node, `${sub.id}:${queued.id}`), (x: any) => x.status === "SUCCEEDED", 10_000);
    expect(ep.requests.map((r) => r.headers["x-repaymesh-event-id"])).toEqual([ev.id, queued.id]);
  });
});

describe("webhook subscriptions", () => {
  let node: TestNode;
  const endpoints: Endpoint[] = [];
  afterEach(async () => {
    await node?.stop();
    for (const e of endpoints.splice(0)) await e.close();
  });

  it("pings, rotates the secret (shown once), disables, re-enables and deletes, with history", async () => {
    node = await startTestNode({ WEBHOOK_BACKOFF_MS: "50" });
    const ep = await endpoint();
    endpoints.push(ep);
    const sub = await subscribe(node, { url: ep.url, eventTypes: ["order.synced", "*"] });
    expect(sub.eventTypes).toEqual(["*"]);
    // "*" also gets whatever the node's own services publish meanwhile: look only at our events.
    const ours = new Set<string>();
    const seen = () => ep.requests.filter((r) => ours.has(String(r.headers["x-repaymesh-event-id"])));

    const ping = await node.http("POST", `/api/v1/webhooks/${sub.id}/ping`, {}, "ops");
    expect(ping.status).toBe(200);
    expect(ping.body).toMatchObject({ type: "webhook.ping", status: "PENDING", subscriptionId: sub.id });
    ours.add(ping.body.eventId);
    await until(async () => seen().length, (n) => n === 1, 10_000);
    expect(seen()[0].headers["x-repaymesh-event"]).toBe("webhook.ping");
    expect(verifies(seen()[0], sub.secret)).toBe(true);

    const denied = await node.http("POST", `/api/v1/webhooks/${sub.id}/rotate-secret`, {}, "ops");
    expect({ status: denied.status, code: denied.body.code }).toEqual({ status: 403, code: "FORBIDDEN" });
    const rotated = await node.http("POST", `/api/v1/webhooks/${sub.id}/rotate-secret`, {}, "admin");
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(sub.secret);
    expect(JSON.stringify((await node.http("GET", `/api/v1/webhooks/${sub.id}`)).body)).not.toContain(rotated.body.secret);
    ours.add((await node.http("POST", `/api/v1/webhooks/${sub.id}/ping`, {}, "ops")).body.eventId);
    await until(async () => seen().length, (n) => n === 2, 10_000);
    expect(verifies(seen()[1], rotated.body.secret)).toBe(true);
    expect(verifies(seen()[1], sub.secret)).toBe(false);

    // Disabled: no new deliveries, no ping, no redelivery; enabled again: they flow.
    const off = await node.http("PATCH", `/api/v1/webhooks/${sub.id}`, { enabled: false, description: "maintenance" }, "admin");
    expect(off.body).toMatchObject({ enabled: false, description: "maintenance" });
    const missed = envelope();
    ours.add(missed.id);
    await (node.broker as any).sendToChannel(EVENTS_CHANNEL, missed);
    const refused = await node.http("POST", `/api/v1/webhooks/${sub.id}/ping`, {}, "ops");
    expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 409, code: "WEBHOOK_STATE" });
    await new Promise((r) => setTimeout(r, 300));
    expect(seen()).toHaveLength(2);
    expect((await deliveries(node, `?eventId=${missed.id}`)).total).toBe(0);
    expect((await node.http("PATCH", `/api/v1/webhooks/${sub.id}`, { enabled: true, url: ep.url + "?v=2" }, "admin")).status).toBe(200);
    const ev = envelope();
    ours.add(ev.id);
    await (node.broker as any).sendToChannel(EVENTS_CHANNEL, ev);
    await until(async () => seen().length, (n) => n === 3, 10_000);
    expect(seen()[2].headers["x-repaymesh-event-id"]).toBe(ev.id);

    const del = await node.http("DELETE", `/api/v1/webhooks/${sub.id}`, undefined, "admin");
    expect(del.body).toMatchObject({ enabled: false, deleted: true });
    expect((await node.http("GET", "/api/v1/webhooks")).body.total).toBe(0);
    expect((await node.http("GET", "/api/v1/webhooks?includeDeleted=true")).body.total).toBe(1);
    const got = await node.http("GET", `/api/v1/webhooks/${sub.id}`);
    expect(got.body.history.map((h: any) => h.action)).toEqual(["CREATED", "SECRET_ROTATED", "UPDATED", "UPDATED", "DELETED"]);
    expect(got.body.history.every((h: any) => h.by === "alice")).toBe(true);
    for (const [method, path] of [
      ["PATCH", `/api/v1/webhooks/${sub.id}`],
      ["POST", `/api/v1/webhooks/${sub.id}/rotate-secret`],
      ["POST", `/api/v1/webhooks/${sub.id}/ping`],
    ]) {
      const r = await node.http(method, path, method === "PATCH" ? { enabled: true } : {}, "admin");
      expect({ path, status: r.status, code: r.body.code }).toEqual({ path, status: 409, code: "WEBHOOK_STATE" });
    }
  });

  it("refuses bad input with a 4xx and a code, and writes nothing", async () => {
    node = await startTestNode();
    const ep = await endpoint();
    endpoints.push(ep);
    const sub = await subscribe(node, { url: ep.url, eventTypes: ["order.synced"] });
    const before = JSON.stringify((await node.http("GET", "/api/v1/webhooks?includeDeleted=true")).body);
    const ok = { url: ep.url, eventTypes: ["order.synced"] };
    const cases: Array<[string, string, string, unknown, "admin" | "ops" | "viewer", number, string]> = [
      ["ftp url", "POST", "/api/v1/webhooks", { ...ok, url: "ftp://example.com/hook" }, "admin", 422, "VALIDATION_ERROR"],
      ["file url", "POST", "/api/v1/webhooks", { ...ok, url: "file:///etc/passwd" }, "admin", 422, "VALIDATION_ERROR"],
      ["no host", "POST", "/api/v1/webhooks", { ...ok, url: "http://" }, "admin", 422, "VALIDATION_ERROR"],
      ["url over 2000", "POST", "/api/v1/webhooks", { ...ok, url: "https://example.com/" + "a".repeat(2000) }, "admin", 422, "VALIDATION_ERROR"],
      ["unknown event type", "POST", "/api/v1/webhooks", { ...ok, eventTypes: ["order.exploded"] }, "admin", 422, "VALIDATION_ERROR"],
      ["no event types", "POST", "/api/v1/webhooks", { ...ok, eventTypes: [] }, "admin", 422, "VALIDATION_ERROR"],
      ["event types not a list", "POST", "/api/v1/webhooks", { ...ok, eventTypes: "order.synced" }, "admin", 422, "VALIDATION_ERROR"],
      ["short secret", "POST", "/api/v1/webhooks", { ...ok, secret: "too-short" }, "admin", 422, "VALIDATION_ERROR"],
      ["unknown field", "POST", "/api/v1/webhooks", { ...ok, enabled: false }, "admin", 422, "VALIDATION_ERROR"],
      ["ops may not subscribe", "POST", "/api/v1/webhooks", ok, "ops", 403, "FORBIDDEN"],
      ["viewers may not subscribe", "POST", "/api/v1/webhooks", ok, "viewer", 403, "FORBIDDEN"],
      ["patch: ftp url", "PATCH", `/api/v1/webhooks/${sub.id}`, { url: "ftp://example.com/x" }, "admin", 422, "VALIDATION_ERROR"],
      ["patch: unknown type", "PATCH", `/api/v1/webhooks/${sub.id}`, { eventTypes: ["nope"] }, "admin", 422, "VALIDATION_ERROR"],
      ["patch: enabled not boolean", "PATCH", `/api/v1/webhooks/${sub.id}`, { enabled: "yes" }, "admin", 422, "VALIDATION_ERROR"],
      ["patch: by ops", "PATCH", `/api/v1/webhooks/${sub.id}`, { enabled: false }, "ops", 403, "FORBIDDEN"],
      ["rotate: short secret", "POST", `/api/v1/webhooks/${sub.id}/rotate-secret`, { secret: "short" }, "admin", 422, "VALIDATION_ERROR"],
      ["delete: by ops", "DELETE", `/api/v1/webhooks/${sub.id}`, undefined, "ops", 403, "FORBIDDEN"],
      ["get: unknown id", "GET", "/api/v1/webhooks/WH0000000000000000", undefined, "viewer", 404, "NOT_FOUND"],
      ["get: bad id", "GET", "/api/v1/webhooks/a%20b", undefined, "viewer", 422, "VALIDATION_ERROR"],
      ["patch: unknown id", "PATCH", "/api/v1/webhooks/WH0000000000000000", { enabled: false }, "admin", 404, "NOT_FOUND"],
      ["delete: unknown id", "DELETE", "/api/v1/webhooks/WH0000000000000000", undefined, "admin", 404, "NOT_FOUND"],
      ["rotate: unknown id", "POST", "/api/v1/webhooks/WH0000000000000000/rotate-secret", {}, "admin", 404, "NOT_FOUND"],
      ["ping: unknown id", "POST", "/api/v1/webhooks/WH0000000000000000/ping", {}, "ops", 404, "NOT_FOUND"],
      ["delivery: unknown id", "GET", "/api/v1/webhooks/deliveries/WH0:EV0", undefined, "viewer", 404, "NOT_FOUND"],
      ["delivery: bad id", "GET", "/api/v1/webhooks/deliveries/no-colon", undefined, "viewer", 422, "VALIDATION_ERROR"],
      ["redeliver: unknown id", "POST", "/api/v1/webhooks/deliveries/WH0:EV0/redeliver", {}, "ops", 404, "NOT_FOUND"],
      ["deliveries: bad status", "GET", "/api/v1/webhooks/deliveries?status=LOST", undefined, "viewer", 422, "VALIDATION_ERROR"],
      ["deliveries: bad type", "GET", "/api/v1/webhooks/deliveries?type=nope", undefined, "viewer", 422, "VALIDATION_ERROR"],
      ["deliveries: bad page", "GET", "/api/v1/webhooks/deliveries?page=0", undefined, "viewer", 422, "VALIDATION_ERROR"],
    ];
    const got: unknown[] = [];
    for (const [name, method, path, body, role, , ] of cases) {
      const r = await node.http(method, path, body, role);
      got.push([name, r.status, r.body?.code]);
    }
    expect(got).toEqual(cases.map(([name, , , , , status, code]) => [name, status, code]));
    // Not one subscription or delivery written or changed, and the secret never echoed in an error.
    expect(JSON.stringify((await node.http("GET", "/api/v1/webhooks?includeDeleted=true")).body)).toBe(before);
    expect((await deliveries(node)).total).toBe(0);
    expect(ep.requests).toHaveLength(0);
  });
});
