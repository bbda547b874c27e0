/** The embedded lock: same semantics as Redlock, a registry shared per namespace. */
import crypto from "node:crypto";
import { createLockProvider, InProcessLockProvider } from "../../../mixins/locks";

function namespace(): string {
  return "t-" + crypto.randomBytes(4).toString("hex");
}

/** A clock the test moves by hand. */
function fakeClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("InProcessLockProvider", () => {
  it("gives a resource to one holder at a time within a namespace, at once and without waiting", async () => {
    const ns = namespace();
    const a = new InProcessLockProvider(ns);
    const b = new InProcessLockProvider(ns);
    const lease = await a.acquire("debit:partition:1", 10_000);
    expect(lease).toMatchObject({ resource: "debit:partition:1", token: expect.any(String) });
    const t0 = Date.now();
    expect(await b.acquire("debit:partition:1", 10_000)).toBeNull();
    expect(await a.acquire("debit:partition:1", 10_000)).toBeNull(); // not re-entrant either
    expect(Date.now() - t0).toBeLessThan(50);
    expect(await b.acquire("debit:partition:2", 10_000)).not.toBeNull();
  });

  it("keeps namespaces apart", async () => {
    const a = new InProcessLockProvider(namespace());
    const b = new InProcessLockProvider(namespace());
    expect(await a.acquire("r", 10_000)).not.toBeNull();
    expect(await b.acquire("r", 10_000)).not.toBeNull();
  });

  it("lets another holder take a resource once the lease expired", async () => {
    const ns = namespace();
    const clock = fakeClock();
    const a = new InProcessLockProvider(ns, clock);
    const b = new InProcessLockProvider(ns, clock);
    const lease = (await a.acquire("r", 1000))!;
    expect(lease.expiresAt).toBe(clock.now() + 1000);
    clock.advance(999);
    expect(await b.acquire("r", 1000)).toBeNull();
    clock.advance(1);
    const taken = await b.acquire("r", 1000);
    expect(taken).not.toBeNull();
    expect(taken!.token).not.toBe(lease.token);
  });

  it("expires by real time too (short ttl)", async () => {
    const ns = namespace();
    const a = new InProcessLockProvider(ns);
    const b = new InProcessLockProvider(ns);
    const lease = (await a.acquire("r", 40))!;
    expect(await b.acquire("r", 40)).toBeNull();
    await new Promise((r) => setTimeout(r, 60));
    expect(await b.acquire("r", 40)).not.toBeNull();
    expect(await a.renew(lease, 40)).toBeNull();
  });

  it("renews a lease still ours, and only that", async () => {
    const ns = namespace();
    const clock = fakeClock();
    const a = new InProcessLockProvider(ns, clock);
    const b = new InProcessLockProvider(ns, clock);
    const lease = (await a.acquire("r", 1000))!;
    clock.advance(800);
    const renewed = (await a.renew(lease, 1000))!;
    expect(renewed).toMatchObject({ resource: "r", token: lease.token, expiresAt: clock.now() + 1000 });
    clock.advance(800); // past the first expiry, inside the renewed one
    expect(await b.acquire("r", 1000)).toBeNull();
    expect(await b.renew({ ...lease, token: "not-ours" }, 1000)).toBeNull();
    clock.advance(200);
    expect(await a.renew(renewed, 1000)).toBeNull(); // expired: gone, even though nobody took it
    const taken = (await b.acquire("r", 1000))!;
    expect(await a.renew(renewed, 1000)).toBeNull(); // and taken
    expect(await b.renew(taken, 1000)).not.toBeNull();
  });

  it("releases only the owner's lease", async () => {
    const ns = namespace();
    const a = new InProcessLockProvider(ns);
    const b = new InProcessLockProvider(ns);
    const lease = (await a.acquire("r", 10_000))!;
    await b.release({ ...lease, token: "someone-else" });
    expect(await b.acquire("r", 10_000)).toBeNull();
    await a.release(lease);
    const next = (await b.acquire("r", 10_000))!;
    await a.release(lease); // a stale lease releases nothing
    expect(await a.acquire("r", 10_000)).toBeNull();
    expect(await b.renew(next, 10_000)).not.toBeNull();
  });

  it("rejects a ttl that is not positive", async () => {
    const p = new InProcessLockProvider(namespace());
    await expect(p.acquire("r", 0)).rejects.toBeInstanceOf(RangeError);
    await expect(p.acquire("r", Number.NaN)).rejects.toBeInstanceOf(RangeError);
  });

  it("is what createLockProvider gives without a Redis URL", async () => {
    const ns = namespace();
    const p = createLockProvider({ namespace: ns });
    expect(p.kind).toBe("in-process");
    const lease = await p.acquire("r", 10_000);
    expect(await new InProcessLockProvider(ns).acquire("r", 10_000)).toBeNull();
    await p.release(lease!);
    await p.close();
  });
});
