/** The key for card, ID and mobile numbers at rest (AES-256-GCM, domain/card.ts). */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Config } from "../config";
import { deriveKey } from "../domain/card";

/** The data key: from REPAYMESH_DATA_KEY, or generated once under the data folder (with a warning). */
export function loadDataKey(cfg: Config, warn: (msg: string) => void): Buffer {
  if (cfg.dataKey) return deriveKey(cfg.dataKey);
  // On MongoDB the services that read card data may run on several nodes: a key generated in each
  // node's own folder would leave what one node encrypted unreadable on the others.
  if (cfg.mongoUri) {
    throw new Error("REPAYMESH_DATA_KEY is required with MONGO_URI (64 hex characters, the same on every node): card data written by one node must be readable on all of them");
  }
  const file = path.join(cfg.dataDir, "data-key");
  if (!fs.existsSync(file)) {
    fs.mkdirSync(cfg.dataDir, { recursive: true });
    try {
      fs.writeFileSync(file, crypto.randomBytes(32).toString("hex"), { mode: 0o600, flag: "wx" });
    } catch (err: any) {
      if (err?.code !== "EEXIST") throw err;
    }
    warn(`Generated a card-data key in ${file}: set REPAYMESH_DATA_KEY (and keep it safe) in production.`);
  }
  return deriveKey(fs.readFileSync(file, "utf8").trim());
}

