/** Card data at rest: AES-256-GCM round trips and tamper detection, key parsing, fingerprints, masks. */
import crypto from "node:crypto";
import { CardCryptoError, decrypt, deriveKey, encrypt, fingerprint, isValidCardNo, luhnValid, maskCard, maskIdNo, normalizeCardNo } from "../../../domain/card";

const HEX = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const KEY = deriveKey(HEX);
const OTHER = deriveKey("ff".repeat(32));
const CARD = "6222020200112233445";

describe("deriveKey", () => {
  it.each<[string, string]>([
    ["64 hex characters", HEX],
    ["upper-case hex", HEX.toUpperCase()],
    ["base64 with padding", Buffer.from(HEX, "hex").toString("base64")],
    ["base64url without padding", Buffer.from(HEX, "hex").toString("base64url")],
    ["surrounding whitespace", `  ${HEX}\n`],
  ])("accepts %s", (_name, secret) => {
    expect(deriveKey(secret).equals(Buffer.from(HEX, "hex"))).toBe(true);
  });

  it.each<[string, string]>([
    ["an empty string", ""],
    ["a passphrase", "correct horse battery staple"],
    ["63 hex characters", HEX.slice(1)],
    ["65 hex characters", HEX + "0"],
    ["base64 of 31 bytes", crypto.randomBytes(31).toString("base64")],
    ["base64 of 33 bytes", crypto.randomBytes(33).toString("base64")],
    ["non-canonical base64", Buffer.from(HEX, "hex").toString("base64").slice(0, 42) + "B="],
  ])("refuses %s with a clear message that does not echo it", (_name, secret) => {
    expect(() => deriveKey(secret)).toThrow(CardCryptoError);
    try {
      deriveKey(secret);
    } catch (err) {
      expect((err as Error).message).toMatch(/32 bytes/);
      if (secret.length > 8) expect((err as Error).message).not.toContain(secret.trim());
    }
  });
});

describe("encrypt / decrypt", () => {
  it.each([[CARD], [""], ["110101199003074518"], ["张三 6222 0202"], ["x".repeat(10_000)]])("round-trips %j", (plain) => {
    const blob = encrypt(plain, KEY);
    expect(blob).toMatch(/^v1:[A-Za-z0-9_-]+$/);
    expect(blob).not.toContain(plain.length > 0 ? plain : "\u0000");
    expect(decrypt(blob, KEY)).toBe(plain);
  });

  it("lays the blob out as iv | tag | ciphertext", () => {
    const raw = Buffer.from(encrypt(CARD, KEY).slice(3), "base64url");
    expect(raw.length).toBe(12 + 16 + Buffer.byteLength(CARD));
    const decipher = crypto.createDecipheriv("aes-256-gcm", KEY, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    expect(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString()).toBe(CARD);
  });

  it("uses a fresh IV each time", () => {
    const blobs = new Set(Array.from({ length: 50 }, () => encrypt(CARD, KEY)));
    expect(blobs.size).toBe(50);
    const ivs = new Set([...blobs].map((b) => Buffer.from(b.slice(3), "base64url").subarray(0, 12).toString("hex")));
    expect(ivs.size).toBe(50);
  });

  it("detects a flipped byte anywhere in the blob", () => {
    const blob = encrypt(CARD, KEY);
    const raw = Buffer.from(blob.slice(3), "base64url");
    for (let i = 0; i < raw.length; i++) {
      const bad = Buffer.from(raw);
      bad[i] ^= 0x01;
      expect(() => decrypt("v1:" + bad.toString("base64url"), KEY)).toThrow(CardCryptoError);
    }
  });

  it.each<[string, (blob: string) => string]>([
    ["truncated", (b) => b.slice(0, 20)],
    ["ciphertext cut short", (b) => "v1:" + Buffer.from(b.slice(3), "base64url").subarray(0, 30).toString("base64url")],
    ["another version", (b) => "v2:" + b.slice(3)],
    ["no version", (b) => b.slice(3)],
    ["not base64url", (b) => b + "!"],
    ["empty", () => ""],
  ])("refuses a blob that is %s", (_name, mutate) => {
    expect(() => decrypt(mutate(encrypt(CARD, KEY)), KEY)).toThrow(CardCryptoError);
  });

  it("refuses the wrong key", () => {
    expect(() => decrypt(encrypt(CARD, KEY), OTHER)).toThrow(/wrong key or tampered/);
  });

  it("refuses a key that is not 32 bytes", () => {
    expect(() => encrypt(CARD, Buffer.alloc(16))).toThrow(CardCryptoError);
    expect(() => decrypt(encrypt(CARD, KEY), Buffer.alloc(31))).toThrow(CardCryptoError);
  });
});

describe("fingerprint", () => {
  it("is a stable HMAC-SHA256 hex, equal for equal cards however written", () => {
    const f = fingerprint(CARD, KEY);
    expect(f).toMatch(/^[0-9a-f]{64}$/);
    expect(fingerprint(CARD, deriveKey(HEX))).toBe(f);
    expect(fingerprint("6222 0202 0011 2233 445", KEY)).toBe(f);
    expect(fingerprint("6222-0202-0011-2233-445", KEY)).toBe(f);
  });
  it("differs per card and per key, and is not a plain hash or an HMAC under the encryption key itself", () => {
    const f = fingerprint(CARD, KEY);
    expect(fingerprint("6222020200112233446", KEY)).not.toBe(f);
    expect(fingerprint(CARD, OTHER)).not.toBe(f);
    expect(f).not.toBe(crypto.createHash("sha256").update(CARD).digest("hex"));
    expect(f).not.toBe(crypto.createHmac("sha256", KEY).update(CARD).digest("hex"));
    const sub = Buffer.from(crypto.hkdfSync("sha256", KEY, Buffer.alloc(0), "repaymesh/card-fingerprint/v1", 32));
    expect(f).toBe(crypto.createHmac("sha256", sub).update(CARD).digest("hex"));
  });
});

describe("masks", () => {
  it.each([
    ["6222020200112233445", "6222 **** **** 3445"],
    ["6222 0202 0011 2233 445", "6222 **** **** 3445"],
    ["622202020011", "6222 **** **** 0011"],
    ["123456789", "1234 **** **** 6789"],
    ["12345678", "********"],
    ["1234", "****"],
    ["", ""],
  ])("maskCard(%j) = %j", (input, masked) => {
    expect(maskCard(input)).toBe(masked);
  });
  it.each([
    ["110101199003074518", "110***********4518"],
    ["11010119900307451X", "110***********451X"],
    ["110101900307451", "110********7451"],
    ["12345678", "123*5678"],
    ["1234567", "*******"],
    ["", ""],
  ])("maskIdNo(%j) = %j", (input, masked) => {
    expect(maskIdNo(input)).toBe(masked);
  });
});

describe("card number checks", () => {
  it.each<[string, boolean]>([
    ["622202020011", true], // 12 digits
    ["6222020200112233445", true], // 19 digits
    ["62220202001", false], // 11
    ["62220202001122334455", false], // 20
    ["6222 0202 0011 2233", false], // spaces: normalize first
    ["6222a20200112233", false],
    ["", false],
  ])("isValidCardNo(%j) = %s", (input, ok) => {
    expect(isValidCardNo(input)).toBe(ok);
  });
  it("accepts a valid card whatever Luhn says", () => {
    expect(luhnValid(CARD)).toBe(false);
    expect(isValidCardNo(CARD)).toBe(true);
  });
  it.each<[string, boolean]>([
    ["4111111111111111", true],
    ["4111111111111112", false],
    ["79927398713", true], // the textbook example
    ["79927398710", false],
    ["6212261202011584340", true], // 19 digits, check digit computed
    ["0", false], // a single digit is not a card number
    ["41111a1111111111", false],
    ["", false],
  ])("luhnValid(%j) = %s", (input, ok) => {
    expect(luhnValid(input)).toBe(ok);
  });
  it("normalizes spaces and hyphens", () => {
    expect(normalizeCardNo(" 6222-0202 0011\t2233 445 ")).toBe(CARD);
  });
});
