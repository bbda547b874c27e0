/**
 * Card and ID numbers at rest (卡号/身份证号加密存储): AES-256-GCM with a random 96-bit IV per value,
 * a keyed fingerprint to find duplicates without decrypting, and the masks shown everywhere else.
 * Card data is never logged: error messages here never contain the plain value or the key.
 *
 * Blob format, version 1:  "v1:" + base64url(iv[12] | tag[16] | ciphertext)
 * The version prefix leaves room for a key rotation (v2 = another key id) without a migration.
 *
 * Key separation: the 32-byte key encrypts directly; the fingerprint HMAC uses a subkey derived
 * from it with HKDF-SHA256 (info "repaymesh/card-fingerprint/v1"), so the same bytes never serve
 * two algorithms. Fingerprints are stable for a given key; rotating the key means recomputing them.
 */
import crypto from "node:crypto";

const VERSION = "v1:";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

/** Crypto failures are server faults (bad key configuration, corrupted or tampered data), not client errors. */
export class CardCryptoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CardCryptoError";
  }
}

function checkKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) throw new CardCryptoError("The card key must be a 32-byte Buffer");
}

/**
 * The 32-byte key from configuration: 64 hex characters, or base64 / base64url of exactly 32 bytes
 * (e.g. `openssl rand -hex 32` or `openssl rand -base64 32`). Anything else throws; the message
 * never echoes the secret.
 */
export function deriveKey(secret: string): Buffer {
  if (typeof secret !== "string") throw new CardCryptoError("The card key must be a string");
  const s = secret.trim();
  if (/^[0-9a-fA-F]{64}$/.test(s)) return Buffer.from(s, "hex");
  if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(s)) {
    const buf = Buffer.from(s.replace(/-/g, "+").replace(/_/g, "/"), "base64");
    // Reject base64 whose last character carries bits outside 32 bytes (non-canonical).
    if (buf.length === KEY_BYTES && buf.toString("base64").replace(/=+$/, "") === s.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "")) {
      return buf;
    }
  }
  throw new CardCryptoError(
    `The card key must be 32 bytes given as 64 hex characters or base64 (got ${s.length} characters); generate one with \`openssl rand -hex 32\``,
  );
}

export function encrypt(plain: string, key: Buffer): string {
  checkKey(key);
  if (typeof plain !== "string") throw new CardCryptoError("Only strings can be encrypted");
  const iv = crypto.randomBytes(IV_BYTES);
  const cipher = crypto.createCipheriv("aes-256-gcm", key, iv);
  const ct = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  const tag = cipher.getAuthTag();
  return VERSION + Buffer.concat([iv, tag, ct]).toString("base64url");
}

/** Inverse of encrypt. Throws CardCryptoError on a wrong key, a tampered or truncated blob, or an unknown version. */
export function decrypt(blob: string, key: Buffer): string {
  checkKey(key);
  if (typeof blob !== "string" || !blob.startsWith(VERSION)) throw new CardCryptoError("Not a v1 card blob");
  const body = blob.slice(VERSION.length);
  if (!/^[A-Za-z0-9_-]*$/.test(body)) throw new CardCryptoError("Card blob is not base64url");
  const raw = Buffer.from(body, "base64url");
  if (raw.length < IV_BYTES + TAG_BYTES) throw new CardCryptoError("Card blob is truncated");
  const decipher = crypto.createDecipheriv("aes-256-gcm", key, raw.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
  } catch {
    throw new CardCryptoError("Card blob failed authentication (wrong key or tampered data)");
  }
}

const fingerprintKeys = new WeakMap<Buffer, Buffer>();

function fingerprintKey(key: Buffer): Buffer {
  let sub = fingerprintKeys.get(key);
  if (!sub) {
    sub = Buffer.from(crypto.hkdfSync("sha256", key, Buffer.alloc(0), "repaymesh/card-fingerprint/v1", KEY_BYTES));
    fingerprintKeys.set(key, sub);
  }
  return sub;
}

/** Card number without spaces or hyphens: "6222 0202-0011" → "622202020011". */
export function normalizeCardNo(cardNo: string): string {
  return String(cardNo).replace(/[\s-]/g, "");
}

/** HMAC-SHA256 (hex) of the normalized card number under a subkey of `key`: equal cards, equal fingerprints. */
export function fingerprint(cardNo: string, key: Buffer): string {
  checkKey(key);
  return crypto.createHmac("sha256", fingerprintKey(key)).update(normalizeCardNo(cardNo), "utf8").digest("hex");
}

/** "6222020200112233445" → "6222 **** **** 3445": first 4 and last 4 digits. Shorter than 9 digits: all masked. */
export function maskCard(cardNo: string): string {
  const s = normalizeCardNo(cardNo);
  if (s.length < 9) return "*".repeat(s.length);
  return `${s.slice(0, 4)} **** **** ${s.slice(-4)}`;
}

/**
 * ID number (身份证号): keep the first 3 and last 4 characters, one star for each hidden one
 * ("110101199003074518" → "110***********4518"). First 3 rather than 6: the first 6 are the
 * region code, which narrows a person down; the last 4 are what people use to confirm "is this
 * me". Shorter than 8 characters: all masked.
 */
export function maskIdNo(idNo: string): string {
  const s = String(idNo).trim();
  if (s.length < 8) return "*".repeat(s.length);
  return s.slice(0, 3) + "*".repeat(s.length - 7) + s.slice(-4);
}

/** 12 to 19 digits, nothing else (normalize first if the input may hold spaces). Luhn is not required. */
export function isValidCardNo(cardNo: string): boolean {
  return typeof cardNo === "string" && /^\d{12,19}$/.test(cardNo);
}

/**
 * The Luhn (mod 10) check, for information only: many Chinese debit cards do not pass it, so it
 * never rejects a card. Needs at least two digits.
 */
export function luhnValid(cardNo: string): boolean {
  if (typeof cardNo !== "string" || !/^\d{2,}$/.test(cardNo)) return false;
  let total = 0;
  for (let i = 0; i < cardNo.length; i++) {
    let d = cardNo.charCodeAt(cardNo.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    total += d;
  }
  return total % 10 === 0;
}
