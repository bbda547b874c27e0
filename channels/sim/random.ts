/**
 * Deterministic randomness for the simulated banks: every decision is drawn from a PRNG seeded by
 * a hash of (seed, bank, purpose, key), so a trade's fate does not depend on the order in which
 * trades arrive. Not cryptographic; probabilities, not money.
 */

/** 32-bit FNV-1a with a murmur3 finaliser (better avalanche for short, similar keys). */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** mulberry32: a small, fast, well-distributed 32-bit PRNG. Returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A PRNG for one decision context. */
export function rngFor(...parts: string[]): () => number {
  return mulberry32(hash32(parts.join("\u0001")));
}

/** 16 hex digits derived from the parts (for bank references and agreement numbers). */
export function hex16(...parts: string[]): string {
  const s = parts.join("\u0001");
  return hash32(s).toString(16).padStart(8, "0") + hash32(`${s}\u0002`).toString(16).padStart(8, "0");
}

/** An integer in [min, max] from a uniform draw. */
export function between(u: number, min: number, max: number): number {
  return min + Math.floor(u * (max - min + 1));
}
