/**
 * The fault simulation (test/sim/harness.ts) over many seeds: after each run the invariants hold —
 * for every plan the money the banks moved = the money credited to the plan = its flows (and no
 * surplus: never twice); no payout paid twice; each position = its top-ups − what its bank paid out,
 * nothing left reserved; every trade final and agreeing with its bank, no step left pending.
 *
 * The seeds run in a child process (`scripts/soak.ts`, the same runner as `npm run soak`): outside
 * jest's module sandbox the simulation runs about three times faster. SIM_SEEDS (default 2000) and
 * SIM_FIRST_SEED choose the seeds; a failing seed prints how to replay it.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { runSeed } from "./harness";

const SEEDS = Number(process.env.SIM_SEEDS ?? 2000);
const FIRST = Number(process.env.SIM_FIRST_SEED ?? 1);
const ROOT = path.resolve(__dirname, "../..");

jest.setTimeout(900_000);

describe("fault simulation", () => {
  it(`holds its invariants over ${SEEDS} seeds`, () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", "scripts/soak.ts", "--seeds", String(SEEDS), "--from", String(FIRST)], {
      cwd: ROOT,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    const out = `${run.stdout}\n${run.stderr}`;
    const failures = out.split("\n").filter((l) => / FAILED |^\s{2}/.test(l));
    expect(failures).toEqual([]);
    expect(run.status).toBe(0);
    // The runner's last line counts every seed it ran.
    expect(out).toContain(`${SEEDS}/${SEEDS} seeds, 0 failed`);
  });

  it("replays a seed exactly: the same seed gives the same run", async () => {
    const a = await runSeed(FIRST + 6);
    const b = await runSeed(FIRST + 6);
    expect(a.summary).toEqual(b.summary);
    expect(a.summary.steps).toBeGreaterThan(100);
  });
});
