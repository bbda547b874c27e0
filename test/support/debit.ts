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

export async function runSlot(node: TestNode, body: Record<string, unknown> = { slotTime: "12:00" }) {
  const run = await node.http("POST", "/api/v1/runs", body);
  if (run.status !== 200) throw new Error(JSON.stringify(run.body));
  return until(
    () => node.http("GET", `/api/v1/runs/${run.body.runId}`).then((r) => r.body),
    (r: any) => r.status === "DONE" || r.status === "FAILED",
  );
}

/** Debits the bank recorded for a trade-number prefix (what really left the card). */
export function bankDebits(node: TestNode, planId: string) {
  const out = [];
  for (const b of banks(node).values()) for (const t of b.trades()) if (t.tradeNo.includes(planId) && t.kind === "DEBIT") out.push(t);
  return out;
}
