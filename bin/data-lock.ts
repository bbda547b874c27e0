/** A folder with one owner process at a time (the file store, the simulated banks' journals, a local cluster's servers). */
import fs from "node:fs";
import path from "node:path";
import { ConfigError } from "../config";

/**
 * The file store lives in one process: a second node on the same data folder is refused.
 * The lock holds the owner's pid; a lock left by a dead process is taken over.
 */
export function lockDataDir(
  dataDir: string,
  why = "The file store allows one node; set MONGO_URI to run data services on several nodes.",
): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, ".lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: "wx" });
      return () => {
        try {
          if (fs.readFileSync(file, "utf8") === String(process.pid)) fs.unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
    } catch (err: any) {
      if (err?.code !== "EEXIST") throw err;
      const pid = Number(fs.readFileSync(file, "utf8"));
      let alive = false;
      try {
        if (pid > 0 && pid !== process.pid) {
          process.kill(pid, 0);
          alive = true;
        }
      } catch {
        alive = false;
      }
      if (alive) {
        throw new ConfigError(
          `The data folder ${dataDir} is in use by process ${pid}. ${why}`,
        );
      }
      fs.unlinkSync(file);
    }
  }
  throw new ConfigError(`Could not lock ${dataDir}`);
}
