/**
 * Cluster-wide limits and routing memory (issue 9, item 6), over a real redis-server: the daily
 * attempt caps never exceeded by several executors together, one breaker and one success rate per
 * channel for all executors, and the same numbers in embedded mode.
 */
import Redis from "ioredis";
import { attemptSeedQuery, InProcessAttemptCaps, RedisAttemptCaps, type AttemptCaps, type SeedAttempts } from "../../mixins/attempt-caps";
import { InProcessChannelHealth, RedisChannelHealth, type ChannelHealth } from "../../mixins/channel-health";
import { route, type ChannelSetting } from "../../domain/routing";
import { healthSettingsOf, type BreakerEvent } from "../../domain/sliding-window";
import { freePort, startRedis, type ServerHandle } from "../support/servers";

jest.setTimeout(60_000);

const DAY = "2026-02-15";
const NOON = Date.parse("2026-02-15T12:00:00+08:00");
const s = (n: number) => n * 1000;
const H = 3_600_000;

/** A ledger stand-in: a fixed count per key, and how often it was asked. */
function ledger(counts: Record<string, number> = {}): SeedAttempts & { asked: string[] } {
  const asked: string[] = [];
  const seed = (async (scope, id, date) => {
    asked.push(`${scope}:${id}:${date}`);
    await new Promise((r) => setTimeout(r, 5)); // a real call takes a while: concurrent takes meet here
    return counts[`${scope}:${id}:${date}`] ?? 0;
  }) as SeedAttempts & { asked: string[] };
  seed.asked = asked;
  return seed;
}

async function takeMany(instances: AttemptCaps[], perInstance: number, scope: "CHANNEL" | "CARD", id: string, cap: number, date = DAY): Promise<number> {
  const results = await Promise.all(instances.flatMap((c) => Array.from({ length: perInstance }, () => c.take(scope, id, cap, date))));
  return results.filter(Boolean).length;
}

describe("attempt caps", () => {
  it("the ledger query counts the day's DEBIT trades of the channel or card, except those never sent", () => {
    expect(attemptSeedQuery("CHANNEL", "BANK_A", DAY)).toEqual({ kind: "DEBIT", businessDate: DAY, channel: "BANK_A", "failure.reason": { $nin: ["UNAVAILABLE", "STALE_INIT"] } });
    expect(attemptSeedQuery("CARD", "fp1", DAY)).toMatchObject({ kind: "DEBIT", businessDate: DAY, cardFingerprint: "fp1" });
  });

  describe("in-process (embedded)", () => {
    it("300 concurrent takes with cap 50 → exactly 50, seeded once from the ledger", async () => {
      const seed = ledger({ [`CHANNEL:BANK_A:${DAY}`]: 20 });
      const caps = new InProcessAttemptCaps(seed);
      expect(await takeMany([caps], 300, "CHANNEL", "BANK_A", 50)).toBe(30);
      expect(await caps.attemptsToday("CHANNEL", "BANK_A", DAY)).toBe(50);
      expect(seed.asked).toEqual([`CHANNEL:BANK_A:${DAY}`]);
    });

    it("keeps channels, cards and days apart; gives back but never below zero", async () => {
      const caps = new InProcessAttemptCaps(ledger({ [`CARD:fp1:${DAY}`]: 2 }));
      expect(await caps.take("CARD", "fp1", 3, DAY)).toBe(true);
      expect(await caps.take("CARD", "fp1", 3, DAY)).toBe(false);
      expect(await caps.take("CHANNEL", "fp1", 3, DAY)).toBe(true);
      expect(await caps.take("CARD", "fp1", 3, "2026-02-16")).toBe(true);
      await caps.giveBack("CARD", "fp1", DAY);
      expect(await caps.take("CARD", "fp1", 3, DAY)).toBe(true);
      await caps.giveBack("CARD", "fp9", DAY);
      await caps.giveBack("CARD", "fp9", DAY);
      expect(await caps.attemptsToday("CARD", "fp9", DAY)).toBe(0);
    });

    it("a failed seed takes nothing and is asked again next time", async () => {
      let fail = true;
      const caps = new InProcessAttemptCaps(async () => {
        if (fail) throw new Error("ledger away");
        return 1;
      });
      await expect(caps.take("CHANNEL", "BANK_A", 2, DAY)).rejects.toThrow("ledger away");
      fail = false;
      expect(await caps.take("CHANNEL", "BANK_A", 2, DAY)).toBe(true);
      expect(await caps.take("CHANNEL", "BANK_A", 2, DAY)).toBe(false);
    });
  });

  describe("Redis (a real redis-server), three executors", () => {
    let redis: ServerHandle;
    let admin: Redis;
    beforeAll(async () => {
      redis = await startRedis();
      admin = new Redis(redis.url);
    });
    afterAll(async () => {
      await admin.quit();
      await redis.stop();
    });

    const three = (prefix: string, seed: SeedAttempts) => [1, 2, 3].map(() => new RedisAttemptCaps(redis.url, seed, prefix));
    const closeAll = (xs: AttemptCaps[]) => Promise.all(xs.map((x) => x.close()));

    it("3 instances × 100 concurrent takes with cap 50 → exactly 50 taken", async () => {
      const seed = ledger();
      const caps = three("cap1", seed);
      try {
        expect(await takeMany(caps, 100, "CHANNEL", "BANK_A", 50)).toBe(50);
        expect(await admin.get(`cap1:cap:channel:BANK_A:${DAY}`)).toBe("50");
        for (const c of caps) expect(await c.attemptsToday("CHANNEL", "BANK_A", DAY)).toBe(50);
        // The card cap is its own counter: 3 × 100 takes of one card with cap 3 → 3.
        expect(await takeMany(caps, 100, "CARD", "fp-1", 3)).toBe(3);
      } finally {
        await closeAll(caps);
      }
    });

    it("seeds from the ledger once although all three seed at the same time, and expires after about two days", async () => {
      const seed = ledger({ [`CHANNEL:BANK_B:${DAY}`]: 10, [`CARD:fp-2:${DAY}`]: 1 });
      const caps = three("cap2", seed);
      try {
        expect(await takeMany(caps, 100, "CHANNEL", "BANK_B", 50)).toBe(40);
        expect(seed.asked.filter((k) => k.startsWith("CHANNEL")).length).toBeLessThanOrEqual(3); // at most once per node
        expect(await takeMany(caps, 10, "CARD", "fp-2", 3)).toBe(2);
        const ttl = await admin.pttl(`cap2:cap:channel:BANK_B:${DAY}`);
        expect(ttl).toBeGreaterThan(47 * H);
        expect(ttl).toBeLessThanOrEqual(48 * H);
      } finally {
        await closeAll(caps);
      }
    });

    it("after Redis lost the counter, it is seeded again from the ledger (never from zero)", async () => {
      const counts: Record<string, number> = {};
      const caps = three("cap3", ledger(counts));
      try {
        expect(await takeMany(caps, 5, "CHANNEL", "BANK_C", 10)).toBe(10);
        counts[`CHANNEL:BANK_C:${DAY}`] = 8; // what the ledger holds: two taken attempts never became trades
        await admin.del(`cap3:cap:channel:BANK_C:${DAY}`);
        expect(await takeMany(caps, 5, "CHANNEL", "BANK_C", 10)).toBe(2);
      } finally {
        await closeAll(caps);
      }
    });

    it("gives an attempt back, never below zero", async () => {
      const caps = three("cap4", ledger());
      const [a, b] = caps;
      try {
        expect(await a.take("CHANNEL", "BANK_D", 1, DAY)).toBe(true);
        expect(await b.take("CHANNEL", "BANK_D", 1, DAY)).toBe(false);
        await b.giveBack("CHANNEL", "BANK_D", DAY);
        await b.giveBack("CHANNEL", "BANK_D", DAY);
        expect(await a.attemptsToday("CHANNEL", "BANK_D", DAY)).toBe(0);
        expect(await b.take("CHANNEL", "BANK_D", 1, DAY)).toBe(true);
      } finally {
        await closeAll(caps);
      }
    });

    it("rejects when Redis cannot be reached (nothing taken)", async () => {
      const caps = new RedisAttemptCaps(`redis://127.0.0.1:${await freePort()}`, ledger(), "cap5");
      try {
        await expect(caps.take("CHANNEL", "BANK_A", 5, DAY)).rejects.toBeDefined();
      } finally {
        await caps.close();
      }
    });
  });
});

/** Events of a 12:00 slot: every debit through BANK_A fails. */
function failedSlot(h: ChannelHealth, code: string, at: number, n = 40): void {
  for (let i = 0; i < n; i++) h.record(code, "CHANNEL_FAILURE", at + i * 500);
}

describe("channel health", () => {
  const settings = healthSettingsOf({ circuitBreaker: { windowSeconds: 300, minRequests: 20, failureRatio: 0.5, halfOpenAfterSeconds: 60 }, channels: [{ code: "BANK_A" }, { code: "BANK_B" }] });

  it("in-process: a channel that failed the 12:00 slot is still known as failing at 18:00, and ranks after an unknown one", () => {
    const h = new InProcessChannelHealth();
    h.configure(settings);
    failedSlot(h, "BANK_A", NOON);
    for (let i = 0; i < 10; i++) h.record("BANK_C", "SUCCESS", NOON + i);
    const six = NOON + 6 * H;
    expect(h.successRate("BANK_A", six)).toBe(0);
    expect(h.successRate("BANK_B", six)).toBeUndefined();
    expect(h.breaker("BANK_A", NOON + s(25))).toBe("OPEN");
    expect(h.breaker("BANK_A", six)).toBe("HALF_OPEN"); // one probe decides
    const ch = (code: string, priority: number): ChannelSetting => ({ code, enabled: true, priority });
    const order = route({
      kind: "DEBIT",
      amount: "100.00",
      settings: [ch("BANK_A", 10), ch("BANK_B", 20), ch("BANK_C", 30)],
      agreements: ["BANK_A", "BANK_B", "BANK_C"],
      successRate: { BANK_A: h.successRate("BANK_A", six), BANK_B: h.successRate("BANK_B", six), BANK_C: h.successRate("BANK_C", six) },
      breaker: { BANK_A: h.breaker("BANK_A", six) },
      usedToday: {},
      cardAttemptsToday: 0,
      cardDailyAttemptCap: 3,
    }).candidates.map((c) => c.code);
    expect(order).toEqual(["BANK_C", "BANK_B", "BANK_A"]);
    // A day later the slot is forgotten.
    expect(h.successRate("BANK_A", NOON + 25 * H)).toBeUndefined();
  });

  it("in-process: one probe at a time through a HALF_OPEN breaker", async () => {
    const h = new InProcessChannelHealth();
    expect(await Promise.all([h.takeProbe("BANK_A", 60_000), h.takeProbe("BANK_A", 60_000)])).toEqual([true, false]);
    h.record("BANK_A", "CHANNEL_FAILURE", NOON);
    expect(await h.takeProbe("BANK_A", 60_000)).toBe(true);
  });

  it("in-process: the breaker follows CHANNEL_SETTINGS, globally and per channel", () => {
    const h = new InProcessChannelHealth();
    h.configure(healthSettingsOf({ circuitBreaker: { minRequests: 5, halfOpenAfterSeconds: 600 }, channels: [{ code: "BANK_A" }, { code: "BANK_B", circuitBreaker: { minRequests: 50 } }] }));
    for (let i = 0; i < 5; i++) {
      h.record("BANK_A", "CHANNEL_FAILURE", NOON + i);
      h.record("BANK_B", "CHANNEL_FAILURE", NOON + i);
    }
    expect(h.breaker("BANK_A", NOON + s(1))).toBe("OPEN");
    expect(h.breaker("BANK_B", NOON + s(1))).toBe("CLOSED");
    expect(h.breaker("BANK_A", NOON + s(600))).toBe("OPEN"); // opened at NOON + 4 ms
    expect(h.breaker("BANK_A", NOON + s(600) + 4)).toBe("HALF_OPEN");
    // The window of the success rate comes from the rule too.
    h.configure(healthSettingsOf({ successRate: { windowAttempts: 2 }, channels: [{ code: "BANK_A" }] }));
    h.record("BANK_B", "SUCCESS", NOON + s(2));
    expect(h.successRate("BANK_B", NOON + s(3))).toBe(0.5);
  });

  describe("Redis (a real redis-server), two executors", () => {
    let redis: ServerHandle;
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      await redis.stop();
    });

    const pair = (prefix: string) => {
      const xs = [new RedisChannelHealth(redis.url, { prefix, refreshMs: 0 }), new RedisChannelHealth(redis.url, { prefix, refreshMs: 0 })];
      for (const x of xs) x.configure(settings);
      return xs;
    };

    it("shares one breaker: opened by one executor's failures, closed by the other's probe", async () => {
      const [a, b] = pair("h1");
      try {
        await b.refresh(["BANK_A"], NOON);
        expect(b.breaker("BANK_A", NOON)).toBe("CLOSED");
        // 10 failures on each executor: 20 in the shared window → OPEN (neither saw 20 alone).
        const states = await Promise.all(Array.from({ length: 10 }, (_, i) => [a.recordNow("BANK_A", "CHANNEL_FAILURE", NOON + i), b.recordNow("BANK_A", "CHANNEL_FAILURE", NOON + i)]).flat());
        expect(states.filter((x) => x === "OPEN")).toHaveLength(1);
        await Promise.all([a.refresh(["BANK_A"], NOON + s(1)), b.refresh(["BANK_A"], NOON + s(1))]);
        expect(a.breaker("BANK_A", NOON + s(1))).toBe("OPEN");
        expect(b.breaker("BANK_A", NOON + s(1))).toBe("OPEN");
        expect(b.view("BANK_A", NOON + s(1))).toMatchObject({ breaker: "OPEN", scope: "CLUSTER", successRate: 0, attempts: 20 });
        // Half-open after the pause, on both, without a write.
        expect(a.breaker("BANK_A", NOON + s(61))).toBe("HALF_OPEN");
        expect(await b.recordNow("BANK_A", "SUCCESS", NOON + s(62))).toBe("CLOSED");
        await a.refresh(["BANK_A"], NOON + s(63));
        expect(a.breaker("BANK_A", NOON + s(63))).toBe("CLOSED");
        expect(a.successRate("BANK_A", NOON + s(63))).toBeCloseTo(1 / 21, 10);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it("lets one probe through a HALF_OPEN breaker for the whole cluster, until an outcome is recorded or it expires", async () => {
      const [a, b] = pair("h-probe");
      try {
        const taken = await Promise.all([...Array.from({ length: 10 }, () => a.takeProbe("BANK_A", 60_000)), ...Array.from({ length: 10 }, () => b.takeProbe("BANK_A", 60_000))]);
        expect(taken.filter(Boolean)).toHaveLength(1);
        expect(await b.takeProbe("BANK_B", 60_000)).toBe(true); // per channel
        // The probe's outcome ends it (recorded by whichever executor sent it).
        a.record("BANK_A", "SUCCESS", NOON);
        await new Promise((r) => setTimeout(r, 50));
        expect(await b.takeProbe("BANK_A", 200)).toBe(true);
        expect(await a.takeProbe("BANK_A", 200)).toBe(false);
        // A probe whose sender died expires.
        await new Promise((r) => setTimeout(r, 300));
        expect(await a.takeProbe("BANK_A", 200)).toBe(true);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it("shares the success rate over the day, the 12:00 slot still counting at 18:00", async () => {
      const [a, b] = pair("h2");
      const other = new RedisChannelHealth(redis.url, { prefix: "h2-other", refreshMs: 0 });
      try {
        await Promise.all([a.recordNow("BANK_B", "SUCCESS", NOON), a.recordNow("BANK_B", "SUCCESS", NOON + 1), b.recordNow("BANK_B", "CHANNEL_FAILURE", NOON + 2)]);
        await b.recordNow("BANK_B", "SUCCESS", NOON + s(10));
        const six = NOON + 6 * H;
        await Promise.all([a.refresh(["BANK_B"], six), b.refresh(["BANK_B"], six), other.refresh(["BANK_B"], six)]);
        expect(a.successRate("BANK_B", six)).toBe(0.75);
        expect(b.successRate("BANK_B", six)).toBe(0.75);
        expect(other.successRate("BANK_B", six)).toBeUndefined(); // another deployment's prefix
        expect(a.successRate("BANK_B", NOON + 25 * H)).toBeUndefined();
      } finally {
        await Promise.all([a.close(), b.close(), other.close()]);
      }
    });

    it("the Lua breaker and the in-process one agree on a seeded random history", async () => {
      const cfg = healthSettingsOf({ circuitBreaker: { windowSeconds: 60, minRequests: 5, failureRatio: 0.6, halfOpenAfterSeconds: 30 }, channels: [{ code: "X" }] });
      const mem = new InProcessChannelHealth();
      mem.configure(cfg);
      const red = new RedisChannelHealth(redis.url, { prefix: "h3", refreshMs: 0 });
      red.configure(cfg);
      let seed = 42;
      const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
      try {
        let now = NOON;
        const seen = new Set<string>();
        for (let i = 0; i < 400; i++) {
          now += Math.floor(rand() * 8000);
          const event: BreakerEvent = rand() < 0.55 ? "CHANNEL_FAILURE" : "SUCCESS";
          mem.record("X", event, now);
          const after = await red.recordNow("X", event, now);
          expect([i, after]).toEqual([i, mem.breaker("X", now)]);
          seen.add(after);
        }
        expect([...seen].sort()).toEqual(["CLOSED", "OPEN"]); // the history went through both
        await red.refresh(["X"], now);
        expect(red.successRate("X", now)).toBe(mem.successRate("X", now));
      } finally {
        await red.close();
      }
    });

    it("uses this node's own view while Redis does not answer", async () => {
      const h = new RedisChannelHealth(`redis://127.0.0.1:${await freePort()}`, { prefix: "h4", staleAfterMs: 0, wallMs: (() => { let t = 0; return () => (t += 1000); })() });
      h.configure(settings);
      try {
        for (let i = 0; i < 20; i++) h.record("BANK_A", "CHANNEL_FAILURE", NOON + i);
        await h.refresh(["BANK_A"], NOON + 100); // does not wait for a Redis that is away
        expect(h.breaker("BANK_A", NOON + 100)).toBe("OPEN");
        expect(h.view("BANK_A", NOON + 100)).toMatchObject({ scope: "PROCESS", successRate: 0, attempts: 20 });
      } finally {
        await h.close();
      }
    });
  });
});
