/** order-sync: business orders from upstream systems, idempotent on (source, orderNo). */
import type { ValidationSchema } from "fastest-validator";
import { idRule, optionalIdRule, pageRules, type PageParams } from "./common";
import { BIZ_TYPES, planTermsRules, type BizType, type PlanTerms } from "./schedule.contract";

export interface CustomerParams {
  id: string;
  name: string;
  idNo: string;
  mobile: string;
}

export interface SyncOrderParams extends PlanTerms {
  source: string;
  orderNo: string;
  bizType: BizType;
  funderId: string;
  productCode: string;
  customer: CustomerParams;
  /** A card binding made through sign-bind, when the order already has one. */
  bindingId?: string;
}

export const syncOrderParams = {
  $$strict: true,
  source: { type: "string", pattern: "^[A-Za-z0-9_.-]{1,32}$", messages: { stringPattern: "'source' must be 1-32 letters, digits or _ . -" } },
  orderNo: idRule,
  bizType: { type: "enum", values: [...BIZ_TYPES] },
  funderId: idRule,
  productCode: idRule,
  customer: {
    type: "object",
    strict: true,
    props: {
      id: idRule,
      name: { type: "string", min: 1, max: 64, trim: true },
      // Mainland resident ID (18, last may be X) or another document number; never logged, stored masked.
      idNo: { type: "string", pattern: "^[A-Za-z0-9]{6,32}$", messages: { stringPattern: "'customer.idNo' must be 6-32 letters or digits" } },
      mobile: { type: "string", pattern: "^\\+?\\d{6,15}$", messages: { stringPattern: "'customer.mobile' must be 6-15 digits" } },
    },
  },
  bindingId: optionalIdRule,
  ...planTermsRules,
} satisfies ValidationSchema<SyncOrderParams>;

export interface GetOrderParams {
  source: string;
  orderNo: string;
}
export const getOrderParams = { $$strict: true, source: idRule, orderNo: idRule } satisfies ValidationSchema<GetOrderParams>;

export interface ListOrdersParams extends PageParams {
  source?: string;
  funderId?: string;
  productCode?: string;
  bizType?: BizType;
  customerId?: string;
  status?: OrderStatus;
}
export const listOrdersParams = {
  $$strict: true,
  ...pageRules,
  source: optionalIdRule,
  funderId: optionalIdRule,
  productCode: optionalIdRule,
  bizType: { type: "enum", values: [...BIZ_TYPES], optional: true },
  customerId: optionalIdRule,
  status: { type: "enum", values: ["PLANNING", "ACTIVE"], optional: true },
} satisfies ValidationSchema<ListOrdersParams>;

/** PLANNING: stored, plan not yet confirmed (a crash here is finished by the repair sweep). */
export type OrderStatus = "PLANNING" | "ACTIVE";

export interface Order {
  _id: string;
  /** Unique key: source + "/" + orderNo. */
  key: string;
  source: string;
  orderNo: string;
  bizType: BizType;
  funderId: string;
  productCode: string;
  customer: { id: string; name: string; idNoMasked: string; mobileMasked: string };
  bindingId?: string;
  terms: PlanTerms;
  /** SHA-256 of the canonical request: a replay with other content is a conflict. */
  contentHash: string;
  planId: string;
  status: OrderStatus;
  createdAt: string;
  updatedAt: string;
}

/** Event `order.synced`. */
export interface OrderSyncedEvent {
  orderId: string;
  source: string;
  orderNo: string;
  planId: string;
}
