/**
 * The MongoDB store's safety rules on a real MongoDB-wire server (FerretDB 1.24 over SQLite, started
 * here on a free port): compare-and-set writes that let exactly one writer win, no lost `$inc`/`$push`
 * under concurrency, `$push … $slice` capped, unique keys, a crashed claim holder fenced off, from several connections and
 * two brokers at once; and the node-owned connection (fails fast, closes after every service).
 */
import crypto from "node:crypto";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import { MongoConnection, MongoStore, REV, StoreUnavailableError, mongoStoreMiddleware } from "../../mixins/mongo-store";
import { StoreMixin } from "../../mixins/store.mixin";
import { toClientError } from "../../mixins/domain-errors.middleware";
import { freePort, startFerret, type ServerHandle } from "../support/servers";

jest.setTimeout(60_000);

describe("MongoDB store on FerretDB", () => {
  let ferret: ServerHandle;
  const conns: MongoConnection[] = [];
  const prefix = () => "s" + crypto.randomBytes(4).toString("hex") + "_";

  async function connect(): Promise<MongoConnection> {
    const c = new MongoConnection(ferret.url);
    await c.open();
    conns.push(c);
    return c;
  }

  beforeAll(async () => {
    ferret = await startFerret();
  });
  afterAll(async () => {
    for (const c of conns) await c.close();
    await ferret?.stop();
  });

  it("lets exactly one of many concurrent compare-and-set writers win, round after round, over three connections", async () => {
    const name = prefix() + "docs";
    const stores = await Promise.all([connect(), connect(), connect()].map(async (c) => MongoStore.open(await c, name)));
    await stores[0].insert({ _id: "d1", version: 1, by: [] as number[] });
    for (let version = 1; version <= 6; version++) {
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) => stores[i % 3].updateOne({ _id: "d1", version }, { $set: { version: version + 1, winner: i }, $push: { by: i } })),
      );
      const winners = results.filter(Boolean);
      expect(winners).toHaveLength(1);
      expect(winners[0]).toMatchObject({ version: version + 1 });
      expect(winners[0]).not.toHaveProperty(REV);
    }
    const doc = await stores[1].findById("d1");
    expect(doc).toMatchObject({ version: 7 });
    expect(doc!.by).toHaveLength(6);
  });

  it("loses no concurrent $inc or $push, and a state machine moves once per state", async () => {
    const name = prefix() + "counters";
    const [a, b] = await Promise.all([connect(), connect()]).then((cs) => Promise.all(cs.map((c) => MongoStore.open(c, name))));
    await a.insert({ _id: "c", n: 0, log: [] as string[] });
    await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).updateOne({ _id: "c" }, { $inc: { n: 1 }, $push: { log: `w${i}` } })));
    const doc = await a.findById("c");
    expect(doc!.n).toBe(60);
    expect(new Set(doc!.log).size).toBe(60);

    // A capped history: `$push … $slice` holds on FerretDB too (it ignores `$slice`; the store caps).
    await a.insert({ _id: "h", history: [] as number[] });
    const pushed = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).updateOne({ _id: "h" }, { $push: { history: { $each: [i], $slice: -5 } } })));
    for (const d of pushed) expect(d!.history.length).toBeLessThanOrEqual(5);
    expect((await a.findById("h"))!.history).toHaveLength(5);

    // Trades: 20 callers race each transition; each transition happens once.
    await a.insert({ _id: "t", state: "OPEN" });
    const step = async (from: string, to: string) =>
      (await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).updateOne({ _id: "t", state: from }, { $set: { state: to } })))).filter(Boolean).length;
    expect(await step("OPEN", "SENT")).toBe(1);
    expect(await step("SENT", "SUCCESS")).toBe(1);
    expect(await step("SENT", "FAILED")).toBe(0);
    expect(await a.findById("t")).toEqual({ _id: "t", state: "SUCCESS" });
  });

  it("updateMany updates each matching document once against concurrent single writers", async () => {
    const name = prefix() + "msgs";
    const [a, b] = await Promise.all([connect(), connect()]).then((cs) => Promise.all(cs.map((c) => MongoStore.open(c, name))));
    for (let i = 0; i < 20; i++) await a.insert({ _id: `m${i}`, status: "SCHEDULED", plan: "p" });
    // Suppress all of them while senders claim some: every message ends in exactly one of the two states.
    const [suppressed, ...sent] = await Promise.all([
      a.updateMany({ plan: "p", status: "SCHEDULED" }, { $set: { status: "SUPPRESSED" } }),
      ...Array.from({ length: 20 }, (_, i) => b.updateOne({ _id: `m${i}`, status: "SCHEDULED" }, { $set: { status: "SENDING" } })),
    ]);
    const sending = sent.filter(Boolean).length;
    expect((suppressed as number) + sending).toBe(20);
    expect(await a.count({ status: "SUPPRESSED" })).toBe(suppressed);
    expect(await a.count({ status: "SENDING" })).toBe(sending);
  });

  it("keeps unique keys on insert and on update, concurrently and over two connections", async () => {
    const name = prefix() + "orders";
    const indexes = [{ field: "key", unique: true }, { field: "openKey", unique: true, sparse: true }];
    const [a, b] = await Promise.all([connect(), connect()]).then((cs) => Promise.all(cs.map((c) => MongoStore.open(c, name, indexes))));
    const inserts = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).insert({ _id: `o${i}`, key: "SRC|A-1" })));
    expect(inserts.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of inserts) if (r.status === "rejected") expect(r.reason).toMatchObject({ code: "DUPLICATE_KEY" });
    expect(await a.count({})).toBe(1);

    // A sparse unique key held while "open": set by many at once, held by one.
    for (let i = 0; i < 5; i++) await a.insert({ _id: `t${i}`, key: `k${i}` });
    const takes = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => (i % 2 ? a : b).updateOne({ _id: `t${i}` }, { $set: { openKey: "inst-1" } })));
    expect(takes.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of takes) if (r.status === "rejected") expect(r.reason).toMatchObject({ code: "DUPLICATE_KEY" });
    // A refused write frees the document at once (no wait for a stale claim).
    const holder = (await a.findOne({ openKey: "inst-1" }))!._id;
    const loser = holder === "t0" ? "t1" : "t0";
    const t0 = Date.now();
    expect(await b.updateOne({ _id: loser }, { $set: { note: "free" } })).toMatchObject({ note: "free" });
    expect(Date.now() - t0).toBeLessThan(2000);
    // Released, then taken by another.
    await a.updateOne({ _id: holder }, { $unset: { openKey: "" } });
    expect(await b.updateOne({ _id: loser }, { $set: { openKey: "inst-1" } })).toMatchObject({ openKey: "inst-1" });
  });

  it("fences off a claim holder that died between claim and write; its late write cannot land", async () => {
    const conn = await connect();
    const name = prefix() + "fence";
    const store = await MongoStore.open(conn, name, [], { staleClaimMs: 300 });
    await store.insert({ _id: "x", state: "A" });
    const raw = conn.collection(name);
    const rev = (await raw.findOne({ _id: "x" }))![REV];
    // A writer claimed this version's successor, then stalled (or died).
    const deadToken = "dead-writer-token";
    await conn.collection(name + "__claims").insertOne({ _id: rev, next: deadToken, doc: "x", at: new Date() });

    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: 10 }, () => store.updateOne({ _id: "x", state: "A" }, { $set: { state: "B" } })));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    // The stalled writer wakes up and sends its write: refused by the fence.
    await expect(raw.findOneAndUpdate({ _id: "x" }, { $set: { state: "STALE", [REV]: deadToken } })).rejects.toThrow(/UNIQUE constraint failed|E11000/);
    expect(await store.findById("x")).toEqual({ _id: "x", state: "B" });
    // Fence rows are never returned by queries.
    expect(await store.count({})).toBe(1);
    expect(await store.find({ state: { $exists: false } })).toEqual([]);
  });

  describe("on two brokers", () => {
    const backend = { dataDir: "/nonexistent", mongoUri: "", storePrefix: "" };
    const writer = (): ServiceSchema => ({
      name: "writer",
      mixins: [StoreMixin({ collection: "casdocs", indexes: [{ field: "key", unique: true }] }, backend)],
      actions: {
        async cas(ctx: any) {
          return (await (this as any).store.updateOne({ _id: ctx.params.id, version: ctx.params.version }, { $set: { version: ctx.params.version + 1, node: (this as any).broker.nodeID } })) !== null;
        },
        async add(ctx: any) {
          try {
            await (this as any).store.insert({ _id: ctx.params.id, key: ctx.params.key, version: 1 });
            return true;
          } catch (err: any) {
            if (err?.code === "DUPLICATE_KEY") return false;
            throw err;
          }
        },
      },
    });

    it("lets one of 40 compare-and-set calls through two brokers (two connections) win, and one of 40 inserts on a key", async () => {
      backend.mongoUri = ferret.url;
      backend.storePrefix = prefix();
      const brokers = ["n1", "n2"].map((nodeID) => new ServiceBroker({ nodeID, logger: false, middlewares: [mongoStoreMiddleware(ferret.url)] }));
      for (const b of brokers) b.createService(writer());
      await Promise.all(brokers.map((b) => b.start()));
      try {
        const added = await Promise.all(Array.from({ length: 40 }, (_, i) => brokers[i % 2].call("writer.add", { id: `doc-${i}`, key: "same" })));
        expect(added.filter(Boolean)).toHaveLength(1);
        const id = `doc-${added.indexOf(true)}`;
        for (let version = 1; version <= 3; version++) {
          const won = await Promise.all(Array.from({ length: 40 }, (_, i) => brokers[i % 2].call("writer.cas", { id, version })));
          expect(won.filter(Boolean)).toHaveLength(1);
        }
      } finally {
        await Promise.all(brokers.map((b) => b.stop()));
      }
    });

    it("keeps the connection open until every service has stopped; afterwards a store call fails clearly", async () => {
      backend.mongoUri = ferret.url;
      backend.storePrefix = prefix();
      let store: any;
      const broker = new ServiceBroker({ logger: false, middlewares: [mongoStoreMiddleware(ferret.url)] });
      broker.createService(writer());
      // A second data service whose last write happens while it stops, after the first has stopped.
      broker.createService({
        name: "late",
        mixins: [StoreMixin({ collection: "late" }, backend)],
        async stopped(this: any) {
          await new Promise((r) => setTimeout(r, 100));
          await this.store.insert({ _id: "last-write" });
        },
        started(this: any) {
          store = this.store;
        },
      });
      await broker.start();
      await broker.stop();
      const check = new MongoConnection(ferret.url);
      await check.open();
      conns.push(check);
      expect(await check.collection(backend.storePrefix + "late").findOne({ _id: "last-write" })).toMatchObject({ _id: "last-write" });
      await expect(store.findById("last-write")).rejects.toThrow(StoreUnavailableError);
      await expect(store.find({})).rejects.toThrow(/store connection is closed/);
      // Through an action it reaches callers as 503 STORE_UNAVAILABLE, not a TypeError or a 500.
      expect(toClientError(new StoreUnavailableError("away"))).toMatchObject({ code: 503, type: "STORE_UNAVAILABLE" });
    });

    it("fails the start fast with a clear error when the server is unreachable", async () => {
      const port = await freePort();
      const uri = `mongodb://127.0.0.1:${port}/repaymesh`;
      backend.mongoUri = uri;
      const broker = new ServiceBroker({ logger: false, middlewares: [mongoStoreMiddleware(uri, { timeoutMs: 1000 })] });
      broker.createService(writer());
      const t0 = Date.now();
      await expect(broker.start()).rejects.toThrow(new RegExp(`MONGO_URI mongodb://127.0.0.1:${port}/repaymesh: the server could not be reached within 1000 ms`));
      expect(Date.now() - t0).toBeLessThan(5000);
      await broker.stop();
    });
  });
});
