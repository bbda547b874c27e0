/** partition = hash(planId) mod P, with FNV-1a (32-bit): stable across processes and releases. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function partitionOf(id: string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError("partitions must be a positive integer");
  return fnv1a32(id) % partitions;
}
