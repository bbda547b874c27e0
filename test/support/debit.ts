/** Helpers for debit tests: deterministic simulated banks, a bound card, a due plan. */
import type { SimBank } from "../../channels";
import { WAIT_SCALE, orderFixture, type TestNode } from "./node";

export const CARD = "6222020200112233445";

export function banks(node: TestNode): Map<string, SimBank> {
  return (node.broker.getLocalService("sign-bind") as any).simBanks;
}

/** Every bank answers definitely and at once, unless a test says otherwise. */
export function calmBanks(node: TestNode) {
  for (const b of banks(node).values()) b.configure({ successRate: 1, unknownRate: 0, outage: false });
}

/** Polls `fn` until `ok` (waits scale with WAIT_SCALE, see ./node). */
export async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  ms *= WAIT_SCALE;
  const deadline = Date.now() + ms;
  let v = await fn();
  while (!ok(v) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50 * WAIT_SCALE));
    v = await fn();
  }
  if (!ok(v)) throw new Error(`condition not met in ${ms} ms: ${JSON.stringify(v)}`);
  return v;
}

export async function bindCard(node: TestNode, opts: { customerId?: string; cardNo?: string; channels?: string[]; balance?: string } = {}) {
  const cardNo = opts.cardNo ?? CARD;
  const channels = opts.channels ?? ["BANK_A", "BANK_B"];
  for (const code of channels) banks(node).get(code)?.openAccount(cardNo, opts.balance ?? "100000.00");
  const created = await node.http("POST", "/api/v1/bindings", { customerId: opts.customerId ?? "C1", cardNo, name: "Zhang San", idNo: "110101199001011234", mobile: "13800138000", channels });
  if (created.status !== 200) throw new Error(JSON.stringify(created.body));
  const confirmed = await node.http("POST", `/api/v1/bindings/${created.body.bindingId}/confirm`, { codes: created.body.testCodes });
  if (confirmed.body.status !== "ACTIVE") throw new Error(JSON.stringify(confirmed.body));
  return created.body.bindingId as string;
}

/** An order whose first installment (8884.88) falls due on 2026-02-15. */
export async function dueOrder(node: TestNode, bindingId: string, over: Record<string, unknown> = {}) {
  const res = await node.http("POST", "/api/v1/orders", orderFixture({ bindingId, startDate: "2026-01-15", ...over }));
  if (res.status !== 200) throw new Error(JSON.stringify(res.body));
  return res.body as { planId: string; orderId: string };
}

/** What a debit run counts per event (summed over runs); the rest are levels, the state one run saw. */
const DEBIT_EVENTS = ["sent", "succeeded", "failed", "unknown"];

/**
 * Run a debit slot by hand and wait until it has ended. The test clock usually sits inside that
 * slot's window, so the scheduler runs the same slot too (a SCHEDULE run, started at its next tick):
 * the two debit each plan once between them, and which one gets to a plan first is timing. So the
 * figures returned are the slot's: the events (sent, succeeded, failed, unknown) summed over the
 * manual run and the scheduled one (waited for when it has started), the levels (due, in flight,
 * no channel, …) as the manual run saw them.
 */
export async function runSlot(node: TestNode, body: Record<string, unknown> = { slotTime: "12:00" }) {
  const run = await node.http("POST", "/api/v1/runs", body);
  if (run.status !== 200) throw new Error(JSON.stringify(run.body));
  const ended = (r: any) => r.status === "DONE" || r.status === "FAILED";
  const done = await until(() => node.http("GET", `/api/v1/runs/${run.body.runId}`).then((r) => r.body), ended);
  const scheduled = async () => ((await node.http("GET", "/api/v1/runs?job=debitSlot&pageSize=100")).body.rows as any[]).filter((r) => r.trigger === "SCHEDULE" && r.slotId === done.slotId);
  // Until it has ended or has nothing left to run (a slot stays RUNNING while a partition waits for
  // a repair, e.g. after an injected crash): then its counts are what they will be for this test.
  const settled = (r: any) => ended(r) || (r.totals?.partitionsRunning === 0 && !r.totals?.inFlight);
  const others = await until(scheduled, (rows) => rows.every(settled), 10_000).catch(scheduled);
  const totals = { ...done.totals };
  for (const other of others) for (const k of DEBIT_EVENTS) totals[k] = (totals[k] ?? 0) + (other.totals?.[k] ?? 0);
  return { ...done, totals, runs: [done.runId, ...others.map((o) => o.runId)] };
}

/** Debits the bank recorded for a trade-number prefix (what really left the card). */
export function bankDebits(node: TestNode, planId: string) {
  const out = [];
  for (const b of banks(node).values()) for (const t of b.trades()) if (t.tradeNo.includes(planId) && t.kind === "DEBIT") out.push(t);
  return out;
}
