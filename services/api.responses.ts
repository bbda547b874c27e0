/**
 * The 200 answers of the OpenAPI document, by action: the main resources' shapes (their main fields,
 * as the services' views return them; the full types are in contracts/), and for the others a
 * schema that says only where the type is (any JSON). Objects are open (additionalProperties allowed): the document names what a caller can
 * rely on, not every field.
 */
type Schema = Record<string, unknown>;

const str = { type: "string" };
const money = { type: "string", pattern: "^-?\\d{1,15}(\\.\\d{1,2})?$", description: "decimal string" };
const int = { type: "integer" };
const obj = (required: string[], properties: Record<string, unknown>): Schema => ({ type: "object", required, properties });
const page = (row: Schema): Schema =>
  obj(["rows", "total", "page", "pageSize", "totalPages"], { rows: { type: "array", items: row }, total: int, page: int, pageSize: int, totalPages: int });

const ORDER = obj(["orderId", "source", "orderNo", "status"], {
  orderId: str, source: str, orderNo: str, bizType: str, funderId: str, productCode: str, planId: str, status: str,
  customer: { type: "object", properties: { id: str, name: str, idNoMasked: str } },
  terms: { type: "object" }, createdAt: str, updatedAt: str,
});
const PLAN = obj(["planId", "orderId", "status", "installments"], {
  planId: str, orderId: str, source: str, orderNo: str, bizType: str, funderId: str, productCode: str, status: str,
  installments: { type: "array", items: { type: "object", properties: { period: int, dueDate: str, principal: money, interest: money, status: str } } },
  totals: { type: "object" }, nextDueDate: str, revision: int, version: int, createdAt: str, updatedAt: str,
});
const TRADE = obj(["tradeNo", "kind", "amount", "channel", "state"], {
  tradeNo: str, kind: str, amount: money, fee: money, channel: str, attempt: int, state: str, planId: str, payoutNo: str,
  history: { type: "array", items: { type: "object", properties: { from: { type: "string", nullable: true }, to: str, at: str } } },
  businessDate: str, createdAt: str, updatedAt: str,
});
const PAYOUT = obj(["payoutNo", "status", "trades"], {
  payoutNo: str, status: str, amount: money,
  beneficiary: { type: "object", properties: { accountNo: { type: "string", description: "masked: ****1234" }, accountName: str } },
  trades: { type: "array", items: TRADE }, rejected: { type: "array", items: { type: "object", properties: { code: str, reason: str } } },
});
const BINDING = obj(["bindingId", "status"], {
  bindingId: str, customerId: str, cardMasked: str, status: str, channels: { type: "object" }, testCodes: { type: "object" }, createdAt: str, updatedAt: str,
});
const RUN = obj(["runId", "status"], { runId: str, kind: str, status: str, partitions: { type: "object" }, totals: { type: "object" }, createdAt: str, updatedAt: str });
const WEBHOOK = obj(["id", "url", "eventTypes", "enabled"], {
  id: str, url: str, eventTypes: { type: "array", items: str }, enabled: { type: "boolean" }, secret: { type: "string", description: "shown once, on create and rotate" }, createdAt: str, updatedAt: str,
});

export const RESPONSES: Readonly<Record<string, Schema>> = {
  "order-sync.sync": ORDER,
  "order-sync.get": ORDER,
  "order-sync.list": page(ORDER),
  "schedule.get": PLAN,
  "schedule.list": page({ ...PLAN, required: ["planId", "orderId", "status"] }), // rows without installments
  "ledger.get": TRADE,
  "ledger.list": page(TRADE),
  "deduction-executor.createPayout": PAYOUT,
  "deduction-executor.getPayout": PAYOUT,
  "sign-bind.create": BINDING,
  "sign-bind.confirm": BINDING,
  "sign-bind.get": BINDING,
  "sign-bind.list": page(BINDING),
  "ledger.getRun": RUN,
  "ledger.listRuns": page(RUN),
  "webhooks.create": WEBHOOK,
  "webhooks.get": WEBHOOK,
  "webhooks.update": WEBHOOK,
};

/** The documented 200 answer of an action. */
export function responseSchema(action: string): Schema {
  return RESPONSES[action] ?? { description: "The action's result: its type is in contracts/ (not yet described here)" };
}
