import { InProcessChannelHealth, RedisChannelHealth } from "../../../mixins/channel-health";
import { startRedis, type ServerHandle } from "../../support/servers";

describe("channel health (rolling success rate, breaker)", () => {
  it("in-process: rate over the window, breaker opens on channel failures", () => {
    const h = new InProcessChannelHealth();
    const t0 = Date.parse("2026-02-15T04:00:00Z");
    expect(h.successRate("BANK_A", t0)).toBeUndefined();
    for (let i = 0; i < 3; i++) h.record("BANK_A", "SUCCESS", t0 + i);
    h.record("BANK_A", "CHANNEL_FAILURE", t0 + 5);
    expect(h.successRate("BANK_A", t0 + 10)).toBe(0.75);
    // Out of the 5-minute window, the traffic no longer counts.
    expect(h.successRate("BANK_A", t0 + 301_000)).toBeUndefined();
    for (let i = 0; i < 25; i++) h.record("BANK_B", "CHANNEL_FAILURE", t0 + i);
    expect(h.breaker("BANK_B", t0 + 30)).toBe("OPEN");
    expect(h.breaker("BANK_A", t0 + 30)).toBe("CLOSED");
  });

  describe("Redis (a real redis-server)", () => {
    let redis: ServerHandle;
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      await redis.stop();
    });

    it("shares the rate between nodes", async () => {
      const a = new RedisChannelHealth(redis.url, "t1");
      const b = new RedisChannelHealth(redis.url, "t1");
      const other = new RedisChannelHealth(redis.url, "t2");
      try {
        const now = Date.now();
        a.record("BANK_A", "SUCCESS", now);
        a.record("BANK_A", "SUCCESS", now);
        b.record("BANK_A", "CHANNEL_FAILURE", now);
        b.record("BANK_A", "SUCCESS", now + 10_000);
        await new Promise((r) => setTimeout(r, 100));
        expect(await a.load("BANK_A", now + 10_000)).toBe(0.75);
        expect(await b.load("BANK_A", now + 10_000)).toBe(0.75);
        expect(await other.load("BANK_A", now + 10_000)).toBeUndefined(); // another deployment's prefix
        // The synchronous read used by routing returns the cached rate.
        expect(a.successRate("BANK_A", now + 10_000)).toBe(0.75);
      } finally {
        await Promise.all([a.close(), b.close(), other.close()]);
      }
    });
  });
});
