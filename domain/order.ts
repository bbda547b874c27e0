/** Orders: identity, content fingerprint and the stored shape. Pure. */
import crypto from "node:crypto";
import type { Order } from "../contracts/order-sync.contract";
import type { SyncOrderParams } from "../contracts/order-sync.contract";
import { maskMobile, maskTail } from "./auth";

export function orderKey(source: string, orderNo: string): string {
  return `${source}/${orderNo}`;
}

function digest(s: string, len: number): string {
  return crypto.createHash("sha256").update(s, "utf8").digest("hex").slice(0, len).toUpperCase();
}

/** Ids derive from the key, so a crash and a retry name the same order and the same plan. */
export function orderIdOf(source: string, orderNo: string): string {
  return "OR" + digest("order\u0000" + orderKey(source, orderNo), 22);
}

export function planIdOf(source: string, orderNo: string): string {
  return "PL" + digest("plan\u0000" + orderKey(source, orderNo), 22);
}

/** Canonical JSON: keys sorted at every depth, so field order never makes a conflict. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return "[" + value.map(canonicalJson).join(",") + "]";
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    return (
      "{" +
      Object.keys(o)
        .filter((k) => o[k] !== undefined)
        .sort()
        .map((k) => JSON.stringify(k) + ":" + canonicalJson(o[k]))
        .join(",") +
      "}"
    );
  }
  return JSON.stringify(value);
}

export function contentHash(params: SyncOrderParams): string {
  return crypto.createHash("sha256").update(canonicalJson(params), "utf8").digest("hex");
}

/** The order as stored: the ID number and mobile kept only masked (the hash covers the originals). */
export function newOrder(params: SyncOrderParams, nowIso: string): Order {
  const { source, orderNo, bizType, funderId, productCode, customer, bindingId, ...terms } = params;
  return {
    _id: orderIdOf(source, orderNo),
    key: orderKey(source, orderNo),
    source,
    orderNo,
    bizType,
    funderId,
    productCode,
    customer: { id: customer.id, name: customer.name, idNoMasked: maskTail(customer.idNo), mobileMasked: maskMobile(customer.mobile) },
    ...(bindingId ? { bindingId } : {}),
    terms,
    contentHash: contentHash(params),
    planId: planIdOf(source, orderNo),
    status: "PLANNING",
    createdAt: nowIso,
    updatedAt: nowIso,
  };
}
