/** API keys: stored and compared as SHA-256 digests, in constant time. Keys are never logged. */
import crypto from "node:crypto";

export type Role = "admin" | "ops" | "viewer";

export interface StoredKey {
  name: string;
  role: Role;
  /** hex SHA-256 of the key */
  hash: string;
}

export interface Principal {
  name: string;
  role: Role;
}

const RANK: Record<Role, number> = { viewer: 0, ops: 1, admin: 2 };

export function hashKey(key: string): string {
  return crypto.createHash("sha256").update(key, "utf8").digest("hex");
}

export function generateKey(): string {
  return "rm_" + crypto.randomBytes(24).toString("base64url");
}

/** Look a presented key up; every stored key is compared, so timing does not tell which matched. */
export function verifyKey(keys: readonly StoredKey[], presented: string | undefined): Principal | null {
  if (typeof presented !== "string" || presented.length === 0 || presented.length > 256) return null;
  const digest = Buffer.from(hashKey(presented), "hex");
  let found: Principal | null = null;
  for (const k of keys) {
    const stored = Buffer.from(k.hash, "hex");
    if (stored.length === digest.length && crypto.timingSafeEqual(stored, digest) && !found) {
      found = { name: k.name, role: k.role };
    }
  }
  return found;
}

export function roleAllows(have: Role, need: Role): boolean {
  return RANK[have] >= RANK[need];
}

/** Mask all but the last `keep` characters: "110101199001011234" → "**************1234". */
export function maskTail(value: string, keep = 4): string {
  if (value.length <= keep) return "*".repeat(value.length);
  return "*".repeat(value.length - keep) + value.slice(-keep);
}

/** Mobile: keep the first 3 and last 4 ("138****5678"). */
export function maskMobile(value: string): string {
  if (value.length <= 7) return maskTail(value, 2);
  return value.slice(0, 3) + "*".repeat(value.length - 7) + value.slice(-4);
}
