/**
 * PartitionLeaseManager: fair split, no partition held twice, take-over after a holder dies.
 * Tests drive tick() by hand; only the Redis case waits for real lease expiry.
 */
import crypto from "node:crypto";
import Redis from "ioredis";
import { InProcessLockProvider, PartitionLeaseManager, RedlockLockProvider, type LockProvider } from "../../../mixins/locks";
import { startRedis, type ServerHandle } from "../../support/servers";

const P = 16;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Cluster {
  managers: PartitionLeaseManager[];
  /** Nodes the managers believe alive (what the registry would say). */
  live: { n: number };
}

function cluster(n: number, provider: (i: number) => LockProvider, ttlMs = 10_000): Cluster {
  const live = { n };
  const managers = Array.from(
    { length: n },
    (_, i) => new PartitionLeaseManager({ provider: provider(i), partitions: P, nodeId: `node-${i}`, group: "debit", ttlMs, liveNodes: () => live.n }),
  );
  return { managers, live };
}

async function rounds(managers: PartitionLeaseManager[], count = 4): Promise<void> {
  for (let r = 0; r < count; r++) for (const m of managers) await m.tick();
}

/** Every partition held exactly once, nobody above the fair share. */
function expectFairSplit(managers: PartitionLeaseManager[], liveNodes: number): void {
  const all = managers.flatMap((m) => m.held());
  expect(new Set(all).size).toBe(all.length); // no partition held twice
  expect([...all].sort((a, b) => a - b)).toEqual(Array.from({ length: P }, (_, i) => i));
  const share = Math.ceil(P / liveNodes);
  for (const m of managers) expect(m.held().length).toBeLessThanOrEqual(share);
}

function inProcess(): (i: number) => LockProvider {
  const ns = "plm-" + crypto.randomBytes(4).toString("hex");
  return () => new InProcessLockProvider(ns);
}

describe("PartitionLeaseManager (in-process locks)", () => {
  it("one node holds every partition and releases them all on stop", async () => {
    const provider = inProcess();
    const { managers } = cluster(1, provider);
    await managers[0].tick();
    expect(managers[0].held()).toEqual(Array.from({ length: P }, (_, i) => i));
    expect(managers[0].holds(3)).toBe(true);
    await managers[0].stop();
    expect(managers[0].held()).toEqual([]);
    expect(await provider(0).acquire("debit:partition:3", 1000)).not.toBeNull(); // released, not left to expire
  });

  it("two nodes sharing 16 partitions converge to 8 each, none held twice", async () => {
    const { managers, live } = cluster(2, inProcess());
    await rounds(managers);
    expectFairSplit(managers, live.n);
    expect(managers.map((m) => m.held().length)).toEqual([8, 8]);
  });

  it("three nodes converge to a fair split (at most ceil(16/3) = 6 each), none held twice", async () => {
    const { managers, live } = cluster(3, inProcess());
    await rounds(managers);
    expectFairSplit(managers, live.n);
    for (const m of managers) expect(m.held().length).toBeGreaterThanOrEqual(4);
  });

  it("a node that joins late gets its share as the others give back their highest partitions", async () => {
    const provider = inProcess();
    const { managers, live } = cluster(3, provider);
    live.n = 1;
    await managers[0].tick();
    expect(managers[0].held()).toHaveLength(16);
    const changes: Array<{ acquired: number[]; released: number[] }> = [];
    managers[0].on("change", (_held, change) => changes.push(change));
    live.n = 2;
    await managers[1].tick(); // nothing free yet
    expect(managers[1].held()).toEqual([]);
    await managers[0].tick(); // gives back the surplus: the highest-numbered
    expect(managers[0].held()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(changes.at(-1)).toMatchObject({ released: [8, 9, 10, 11, 12, 13, 14, 15], acquired: [] });
    await managers[1].tick();
    expect(managers[1].held()).toEqual([8, 9, 10, 11, 12, 13, 14, 15]);
    live.n = 3;
    await rounds(managers);
    expectFairSplit(managers, 3);
  });

  it("a killed holder's partitions are taken over by the others once its leases expired", async () => {
    const { managers, live } = cluster(3, inProcess(), 300);
    await rounds(managers);
    expectFairSplit(managers, 3);
    const [dead, ...alive] = managers;
    const orphaned = dead.held();
    expect(orphaned.length).toBeGreaterThan(0);
    // Killed: no release, no more ticks; the registry soon counts two nodes.
    live.n = 2;
    await rounds(alive, 2);
    for (const p of orphaned) expect(alive.some((m) => m.held().includes(p))).toBe(false); // still leased
    await sleep(350);
    await rounds(alive, 3);
    expectFairSplit(alive, 2);
    expect(alive.map((m) => m.held().length)).toEqual([8, 8]);
  });

  it("drops a lease found lost on renewal and says so", async () => {
    const ns = "plm-" + crypto.randomBytes(4).toString("hex");
    const m = new PartitionLeaseManager({ provider: new InProcessLockProvider(ns), partitions: 2, nodeId: "a", group: "g", ttlMs: 60, renewEveryMs: 20, liveNodes: () => 2 });
    await m.tick();
    expect(m.held()).toHaveLength(1);
    const [p] = m.held();
    await sleep(80); // lapsed (as after a long pause) …
    const thief = new InProcessLockProvider(ns);
    expect(await thief.acquire(`g:partition:${p}`, 10_000)).not.toBeNull(); // … and taken
    const changes: any[] = [];
    m.on("change", (_h, c) => changes.push(c));
    await m.tick();
    expect(changes[0].lost).toEqual([p]);
    expect(m.held()).toEqual([1 - p]); // took the other, free one instead
  });

  it("keeps a lease it could not renew until the lease itself runs out", async () => {
    const ns = "plm-" + crypto.randomBytes(4).toString("hex");
    const base = new InProcessLockProvider(ns);
    let down = false;
    const flaky: LockProvider = {
      kind: "in-process",
      acquire: (r, t) => (down ? Promise.reject(new Error("down")) : base.acquire(r, t)),
      renew: (l, t) => (down ? Promise.reject(new Error("down")) : base.renew(l, t)),
      release: (l) => base.release(l),
      close: () => base.close(),
    };
    const m = new PartitionLeaseManager({ provider: flaky, partitions: 4, nodeId: "a", group: "g", ttlMs: 400, liveNodes: () => 1 });
    await m.tick();
    expect(m.held()).toHaveLength(4);
    down = true;
    await m.tick();
    expect(m.held()).toHaveLength(4);
    await sleep(450);
    await m.tick();
    expect(m.held()).toEqual([]);
  });

  it("start() ticks at once and then on its own timer; stop() ends it", async () => {
    const { managers } = cluster(1, inProcess(), 300);
    const m = managers[0];
    await m.start();
    expect(m.held()).toHaveLength(P);
    await sleep(400); // past one ttl: kept alive by renewals every 100 ms
    expect(m.held()).toHaveLength(P);
    expect(m.holds(0)).toBe(true);
    await m.stop();
    expect(m.held()).toEqual([]);
    await m.tick(); // a stopped manager takes nothing
    expect(m.held()).toEqual([]);
  });

  it("refuses a renew period as long as the ttl", () => {
    expect(() => new PartitionLeaseManager({ provider: new InProcessLockProvider(), partitions: 4, nodeId: "a", group: "g", ttlMs: 100, renewEveryMs: 100, liveNodes: () => 1 })).toThrow(RangeError);
  });
});

describe("PartitionLeaseManager (Redlock over a real Redis)", () => {
  let redis: ServerHandle;
  const clients: Redis[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });

  afterAll(async () => {
    await Promise.all(clients.filter((c) => c.status === "ready").map((c) => c.quit()));
    await redis?.stop();
  });

  it("a killed holder (connection gone, nothing released) loses its partitions to the others after expiry", async () => {
    const keyPrefix = "t" + crypto.randomBytes(4).toString("hex") + ":";
    const ttlMs = 800;
    const { managers, live } = cluster(
      3,
      () => {
        const client = new Redis(redis.url);
        clients.push(client);
        return new RedlockLockProvider(client, { keyPrefix });
      },
      ttlMs,
    );
    await rounds(managers);
    expectFairSplit(managers, 3);

    const [dead, ...alive] = managers;
    const orphaned = dead.held();
    clients[0].disconnect(); // the holder dies: no release
    const killedAt = Date.now();
    live.n = 2;
    await rounds(alive, 2);
    if (Date.now() - killedAt < ttlMs * 0.9) {
      for (const p of orphaned) expect(alive.some((m) => m.held().includes(p))).toBe(false);
    }
    await sleep(ttlMs + 100);
    await rounds(alive, 3);
    expectFairSplit(alive, 2);
    expect(alive.map((m) => m.held().length)).toEqual([8, 8]);
    await Promise.all(alive.map((m) => m.stop()));
  });
});
