/**
 * Plan generation throughput: plans per second on one core, per method, at 12 and 360 periods.
 *
 *   npx tsx bench/plan.bench.ts            # prints the table
 *
 * Each case is warmed up, then run for about a second (checking the clock every 16 plans).
 * Principals rotate over a few values so results are not one constant; the annuity factor cache is
 * keyed by (rate, term) and stays warm as it would for a product's plans — the "cold cache" rows
 * clear it before every plan to show the worst case.
 */
import { clearAnnuityCache, generateSchedule, type PlanInput } from "../domain/amortization";

export interface BenchResult {
  name: string;
  /** Plans generated per second. */
  opsPerSec: number;
  /** Plans generated in the measured run. */
  n: number;
}

export interface BenchOptions {
  durationMs?: number;
  warmupMs?: number;
}

const PRINCIPALS = ["100000.00", "25000.50", "1234567.89", "8888.88", "50000.00", "300000.00", "99.99", "7654321.01"];

function customLines(n: number, principal: string): PlanInput["customLines"] {
  // Principal in whole units split evenly, the remainder in the last line (string arithmetic on cents).
  const cents = BigInt(principal.replace(".", ""));
  const each = cents / BigInt(n);
  const lines = [];
  for (let i = 0; i < n; i++) {
    const c = i === n - 1 ? cents - each * BigInt(n - 1) : each;
    const s = c.toString().padStart(3, "0");
    const y = 2025 + Math.floor((i + 1) / 12);
    const m = ((i + 1) % 12) + 1;
    lines.push({ dueDate: `${y}-${String(m).padStart(2, "0")}-15`, principal: `${s.slice(0, -2)}.${s.slice(-2)}`, interest: "10.00" });
  }
  return lines;
}

interface Case {
  name: string;
  inputs: PlanInput[];
  cold?: boolean;
}

function cases(): Case[] {
  const out: Case[] = [];
  const base = { annualRate: "0.0735", startDate: "2025-01-15" } as const;
  const vary = (make: (principal: string) => PlanInput) => PRINCIPALS.map(make);
  for (const n of [12, 360]) {
    out.push({ name: `EQUAL_INSTALLMENT x${n}`, inputs: vary((principal) => ({ ...base, principal, term: n, repaymentMethod: "EQUAL_INSTALLMENT" })) });
    out.push({ name: `EQUAL_INSTALLMENT x${n} irregular, DAILY ACT/365`, inputs: vary((principal) => ({ ...base, principal, term: n, repaymentMethod: "EQUAL_INSTALLMENT", dueDay: 31, interestBasis: "DAILY", dayCount: "ACT/365" })) });
    out.push({ name: `EQUAL_INSTALLMENT x${n} cold factor cache`, cold: true, inputs: vary((principal) => ({ ...base, principal, term: n, repaymentMethod: "EQUAL_INSTALLMENT" })) });
    out.push({ name: `EQUAL_PRINCIPAL x${n}`, inputs: vary((principal) => ({ ...base, principal, term: n, repaymentMethod: "EQUAL_PRINCIPAL" })) });
    out.push({ name: `INTEREST_FIRST x${n}`, inputs: vary((principal) => ({ ...base, principal, term: n, repaymentMethod: "INTEREST_FIRST" })) });
    out.push({ name: `BULLET ${n} months`, inputs: vary((principal) => ({ ...base, principal, term: n, repaymentMethod: "BULLET" })) });
    out.push({ name: `LEASE_ANNUITY x${n} advance + residual`, inputs: vary((principal) => ({ ...base, principal, term: n, repaymentMethod: "LEASE_ANNUITY", leaseTiming: "ADVANCE", residual: "10.00" })) });
    out.push({ name: `LEASE_ANNUITY x${n} arrears`, inputs: vary((principal) => ({ ...base, principal, term: n, repaymentMethod: "LEASE_ANNUITY" })) });
    out.push({ name: `CUSTOM x${n}`, inputs: vary((principal) => ({ ...base, principal, term: n, repaymentMethod: "CUSTOM", customLines: customLines(n, principal) })) });
  }
  out.push({ name: "BULLET 90-day bill", inputs: vary((principal) => ({ ...base, principal, term: 90, termUnit: "DAY", repaymentMethod: "BULLET" })) });
  return out;
}

function run(c: Case, ms: number): { n: number; elapsed: number } {
  const inputs = c.inputs;
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    for (let i = 0; i < 16; i++, n++) {
      if (c.cold) clearAnnuityCache();
      generateSchedule(inputs[n % inputs.length]);
    }
    elapsed = performance.now() - start;
  } while (elapsed < ms);
  return { n, elapsed };
}

export async function benchPlans(opts: BenchOptions = {}): Promise<BenchResult[]> {
  const durationMs = opts.durationMs ?? 1000;
  const warmupMs = opts.warmupMs ?? 200;
  const results: BenchResult[] = [];
  for (const c of cases()) {
    run(c, warmupMs);
    await new Promise((resolve) => setImmediate(resolve)); // let the event loop breathe between cases
    const { n, elapsed } = run(c, durationMs);
    results.push({ name: c.name, opsPerSec: Math.round((n * 1000) / elapsed), n });
  }
  return results;
}

if (require.main === module) {
  benchPlans().then(
    (results) => {
      const width = Math.max(...results.map((r) => r.name.length));
      console.log(`${"case".padEnd(width)}  ${"plans/s".padStart(10)}  ${"plans run".padStart(10)}`);
      for (const r of results) console.log(`${r.name.padEnd(width)}  ${String(r.opsPerSec).padStart(10)}  ${String(r.n).padStart(10)}`);
    },
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
