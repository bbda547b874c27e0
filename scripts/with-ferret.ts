/**
 * Runs a command with MONGO_URI set to a FerretDB (MongoDB wire protocol over SQLite) started for
 * it on a free port of 127.0.0.1, in a folder of its own, and stops the server after the command.
 * The test script runs the suite's second pass through it:
 *   tsx scripts/with-ferret.ts npx jest --ci
 * The binary is found as the tests find it (FERRETDB_BIN, the test script's cache, the PATH).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import { startFerret } from "../test/support/servers";

async function main(): Promise<number> {
  const [cmd, ...args] = process.argv.slice(2);
  if (!cmd) {
    console.error("usage: tsx scripts/with-ferret.ts COMMAND [ARGS…]");
    return 2;
  }
  const ferret = await startFerret();
  console.log(`FerretDB on ${ferret.url} (folder ${ferret.dir})`);
  try {
    const child = spawn(cmd, args, { stdio: "inherit", env: { ...process.env, MONGO_URI: ferret.url } });
    const stop = (sig: NodeJS.Signals) => child.kill(sig);
    process.on("SIGINT", stop).on("SIGTERM", stop);
    return await new Promise<number>((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  } finally {
    await ferret.stop();
    if (!process.env.KEEP_FERRET_DIR) fs.rmSync(ferret.dir, { recursive: true, force: true });
  }
}

main().then((code) => process.exit(code), (err) => {
  console.error(err);
  process.exit(1);
});
