/**
 * The long run of the fault simulation (test/sim/harness.ts): `npm run soak` runs seeds until
 * told to stop, printing progress and the faults exercised; any failing seed prints its violations
 * and how to replay it, and the run exits 1.
 *
 *   npm run soak                       # seeds 1..20000
 *   npm run soak -- --seeds 100000 --from 50001
 *   npm run soak -- --seed 1234        # replay one seed, with its summary
 */
import { runSeed } from "../test/sim/harness";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} needs a whole number`);
  return v;
}

async function main(): Promise<void> {
  const one = process.argv.includes("--seed") ? arg("seed", 1) : undefined;
  const from = one ?? arg("from", 1);
  const seeds = one !== undefined ? 1 : arg("seeds", 20_000);
  const started = Date.now();
  const totals: Record<string, number> = {};
  let failed = 0;
  for (let seed = from; seed < from + seeds; seed++) {
    const { violations, summary } = await runSeed(seed);
    for (const [k, v] of Object.entries(summary)) totals[k] = (totals[k] ?? 0) + v;
    if (one !== undefined) console.log(JSON.stringify(summary));
    if (violations.length) {
      failed++;
      console.log(`seed ${seed} FAILED (replay: npm run soak -- --seed ${seed}):\n  ${violations.slice(0, 20).join("\n  ")}`);
    }
    const done = seed - from + 1;
    if (done % 500 === 0 || done === seeds) {
      const s = (Date.now() - started) / 1000;
      console.log(`${done}/${seeds} seeds, ${failed} failed, ${s.toFixed(0)} s (${(done / s).toFixed(1)} seeds/s) · ${Object.entries(totals).map(([k, v]) => `${k} ${v}`).join(" · ")}`);
    }
  }
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
