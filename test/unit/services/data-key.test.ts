/** The card-data key: shared by every node on MongoDB, generated once in the data folder otherwise. */
import fs from "node:fs";
import { loadConfig } from "../../../config";
import { loadDataKey } from "../../../mixins/data-key";
import { tempDataDir } from "../../support/node";

describe("card-data key", () => {
  it("is required with MONGO_URI: a key per node would leave cards unreadable on the other nodes", () => {
    const cfg = loadConfig({ DATA_DIR: tempDataDir(), MONGO_URI: "mongodb://127.0.0.1:1/x" });
    expect(() => loadDataKey(cfg, () => {})).toThrow(/REPAYMESH_DATA_KEY is required with MONGO_URI/);
    expect(fs.existsSync(`${cfg.dataDir}/data-key`)).toBe(false);
    const given = loadConfig({ DATA_DIR: tempDataDir(), MONGO_URI: "mongodb://127.0.0.1:1/x", REPAYMESH_DATA_KEY: "ab".repeat(32) });
    expect(loadDataKey(given, () => {})).toHaveLength(32);
  });

  it("is generated once in the data folder on the file store, with a warning", () => {
    const cfg = loadConfig({ DATA_DIR: tempDataDir() });
    const warnings: string[] = [];
    const first = loadDataKey(cfg, (m) => warnings.push(m));
    expect(loadDataKey(cfg, (m) => warnings.push(m)).equals(first)).toBe(true);
    expect(warnings).toHaveLength(1);
  });
});
