/**
 * The webhook worker reads only deliveries still to finish: each carries `dueAt` (next attempt, or
 * the end of its lease) until it ends, the worker's one query is a range on it, and deliveries that
 * ended are not in that index; deliveries from before `dueAt` get it at start. On the file store or
 * MONGO_URI's server.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { startTestNode, type TestNode } from "../support/node";
import { until } from "../support/debit";

jest.setTimeout(120_000);

describe("webhook deliveries due", () => {
  let node: TestNode;
  let server: http.Server;
  let url: string;
  let answer = 200;
  const seen: string[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(String(req.headers["x-repaymesh-event-id"]));
      req.resume();
      req.on("end", () => {
        res.writeHead(answer);
        res.end("ok");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  afterEach(async () => {
    await node?.stop();
  });

  const deliveriesStore = () => (node.broker.getLocalService("webhooks") as any).stores.webhookDeliveries;

  it("keeps dueAt on open deliveries only, and the worker asks for nothing else", async () => {
    node = await startTestNode({ SERVICES: "clock,webhooks,api", WEBHOOK_BACKOFF_MS: "60000" });
    const sub = (await node.http("POST", "/api/v1/webhooks", { url, eventTypes: ["*"] }, "admin")).body;
    const queries: unknown[] = [];
    const store = deliveriesStore();
    const find = store.find.bind(store);
    store.find = (q: unknown, o: unknown) => {
      queries.push(q);
      return find(q, o);
    };
    for (let i = 0; i < 5; i++) expect((await node.http("POST", `/api/v1/webhooks/${sub.id}/ping`, {}, "admin")).status).toBe(200);
    await until(async () => (await node.http("GET", "/api/v1/webhooks/deliveries?status=SUCCEEDED")).body.total, (n: number) => n === 5, 15_000);
    answer = 500;
    const failing = (await node.http("POST", `/api/v1/webhooks/${sub.id}/ping`, {}, "admin")).body;
    const retrying = await until(() => store.findById(failing.id), (d: any) => d?.status === "RETRYING", 15_000);
    answer = 200;

    // Ended deliveries carry no dueAt; the one waiting for its retry carries its next attempt time.
    const all = await store.find({});
    expect(all.filter((d: any) => d.status === "SUCCEEDED").every((d: any) => d.dueAt === undefined)).toBe(true);
    expect(retrying.dueAt).toBe(retrying.nextAttemptAt);
    expect((await node.http("GET", `/api/v1/webhooks/deliveries/${encodeURIComponent(failing.id)}`)).body).not.toHaveProperty("dueAt");
    const workerQueries = queries.filter((q: any) => q && "dueAt" in q);
    expect(workerQueries.length).toBeGreaterThan(0);
    expect(workerQueries.every((q: any) => Object.keys(q).join() === "dueAt" && typeof q.dueAt.$lte === "string")).toBe(true);
    const due = await store.find({ dueAt: { $lte: "9999" } });
    expect(due.map((d: any) => d._id)).toEqual([failing.id]);
    if ((store as any).db?._getRawCandidates) expect((store as any).db._getRawCandidates({ dueAt: { $lte: "9999" } })).toHaveLength(1); // NeDB: from the index

    // Redelivered by hand: due now, and sent.
    expect((await node.http("POST", `/api/v1/webhooks/deliveries/${encodeURIComponent(failing.id)}/redeliver`, {}, "ops")).status).toBe(200);
    const done = await until(() => store.findById(failing.id), (d: any) => d?.status === "SUCCEEDED", 15_000);
    expect(done.dueAt).toBeUndefined();
  });

  it("gives deliveries from before dueAt their key at start, and sends them", async () => {
    node = await startTestNode({ SERVICES: "clock,webhooks,api" });
    const sub = (await node.http("POST", "/api/v1/webhooks", { url, eventTypes: ["*"] }, "admin")).body;
    // Written as an earlier release wrote it: PENDING, due now, no dueAt (past the deliveries' store's own insert).
    const raw = Object.getPrototypeOf(deliveriesStore());
    const now = new Date().toISOString();
    const id = "EVlegacy" + Date.now().toString(16);
    const envelope = { id, type: "webhook.ping", source: "webhooks", key: sub.id, occurredAt: now, data: {} };
    await raw.insert({ _id: `${sub.id}:${id}`, subscriptionId: sub.id, eventId: id, type: envelope.type, envelope, status: "PENDING", attempts: 0, cycleStart: 0, nextAttemptAt: now, log: [], createdAt: now, updatedAt: now, version: 1 });
    await new Promise((r) => setTimeout(r, 700));
    expect(seen).not.toContain(id); // this worker asks for dueAt only
    node = await node.restart();
    const d = await until(() => deliveriesStore().findById(`${sub.id}:${id}`), (x: any) => x?.status === "SUCCEEDED", 15_000);
    expect(d.dueAt).toBeUndefined();
    expect(seen.filter((x) => x === id)).toHaveLength(1);
  });
});
