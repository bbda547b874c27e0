/** The Redlock provider against a real redis-server on a free port. */
import crypto from "node:crypto";
import Redis from "ioredis";
import { createLockProvider, RedlockLockProvider, type LockProvider } from "../../../mixins/locks";
import { startRedis, type ServerHandle } from "../../support/servers";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("RedlockLockProvider", () => {
  let redis: ServerHandle;
  const opened: LockProvider[] = [];

  function provider(keyPrefix: string): RedlockLockProvider {
    const p = new RedlockLockProvider(redis.url, { keyPrefix });
    opened.push(p);
    return p;
  }

  /** Two providers (two connections, like two nodes) on one fresh key space. */
  function pair(): [RedlockLockProvider, RedlockLockProvider] {
    const prefix = "t" + crypto.randomBytes(4).toString("hex") + ":";
    return [provider(prefix), provider(prefix)];
  }

  beforeAll(async () => {
    redis = await startRedis();
  });

  afterAll(async () => {
    await Promise.all(opened.map((p) => p.close()));
    await redis?.stop();
  });

  it("gives a resource to one holder at a time, in a single attempt", async () => {
    const [a, b] = pair();
    expect(a.kind).toBe("redlock");
    const lease = await a.acquire("debit:partition:3", 5000);
    expect(lease).toMatchObject({ resource: "debit:partition:3", token: expect.any(String) });
    expect(lease!.expiresAt).toBeGreaterThan(Date.now() + 4000);
    const t0 = Date.now();
    expect(await b.acquire("debit:partition:3", 5000)).toBeNull();
    expect(Date.now() - t0).toBeLessThan(150); // no retry loop
    expect(await b.acquire("debit:partition:4", 5000)).not.toBeNull();
  });

  it("lets another holder take the resource once the lease expired", async () => {
    const [a, b] = pair();
    const lease = (await a.acquire("r", 250))!;
    expect(await b.acquire("r", 250)).toBeNull();
    await sleep(350);
    const taken = await b.acquire("r", 5000);
    expect(taken).not.toBeNull();
    expect(taken!.token).not.toBe(lease.token);
  });

  it("releases only the owner's lease", async () => {
    const [a, b] = pair();
    const lease = (await a.acquire("r", 5000))!;
    await b.release({ ...lease, token: "someone-else" });
    expect(await b.acquire("r", 5000)).toBeNull();
    await a.release(lease);
    const next = (await b.acquire("r", 5000))!;
    await a.release(lease); // stale: neither throws nor frees b's lease
    expect(await a.acquire("r", 5000)).toBeNull();
    expect(await b.renew(next, 5000)).not.toBeNull();
  });

  it("renews a live lease past its first expiry", async () => {
    const [a, b] = pair();
    const lease = (await a.acquire("r", 600))!;
    await sleep(100);
    const renewed = (await a.renew(lease, 3000))!;
    expect(renewed.token).toBe(lease.token);
    expect(renewed.expiresAt).toBeGreaterThan(lease.expiresAt);
    await sleep(650); // the first ttl has passed
    expect(await b.acquire("r", 1000)).toBeNull();
    expect(await b.renew({ ...renewed, token: "not-ours" }, 1000)).toBeNull();
  });

  it("fails to renew after expiry, whether or not someone took the resource", async () => {
    const [a, b] = pair();
    const first = (await a.acquire("r1", 150))!;
    await sleep(250);
    expect(await a.renew(first, 1000)).toBeNull();

    const second = (await a.acquire("r2", 150))!;
    await sleep(250);
    expect(await b.acquire("r2", 5000)).not.toBeNull();
    expect(await a.renew(second, 1000)).toBeNull();
  });

  it("leaves a client it was given open, and closes one it opened", async () => {
    const client = new Redis(redis.url);
    const given = new RedlockLockProvider(client, { keyPrefix: "given:" });
    expect(await given.acquire("r", 1000)).not.toBeNull();
    await given.close();
    expect(await client.ping()).toBe("PONG");
    await client.quit();

    const owned = new RedlockLockProvider(redis.url, { keyPrefix: "owned:" });
    expect(await owned.acquire("r", 1000)).not.toBeNull();
    await owned.close();
    expect(owned.client.status).toBe("end");
  });

  it("answers null to acquire and throws on renew when Redis is out of reach", async () => {
    const client = new Redis(redis.url);
    const p = new RedlockLockProvider(client, { keyPrefix: "gone:" });
    const lease = (await p.acquire("r", 5000))!;
    client.disconnect();
    expect(await p.acquire("other", 5000)).toBeNull();
    await expect(p.renew(lease, 5000)).rejects.toThrow(/Could not renew/);
    await expect(p.release(lease)).resolves.toBeUndefined();
  });

  it("is what createLockProvider gives with a Redis URL, keyed under the namespace", async () => {
    const ns = "ns" + crypto.randomBytes(3).toString("hex");
    const p = createLockProvider({ redisUrl: redis.url, namespace: ns });
    opened.push(p);
    expect(p.kind).toBe("redlock");
    const lease = await p.acquire("debit:partition:0", 5000);
    const client = new Redis(redis.url);
    expect(await client.get(`${ns}:lock:debit:partition:0`)).toBe(lease!.token);
    await client.quit();
  });
});
