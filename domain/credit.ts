/**
 * Overpayments and the plan's credit balance (溢缴款 / 贷方余额). Pure, exact (big.js).
 *
 * A repayment above what the plan owes (every unpaid component of every installment, fees accrued
 * through today) leaves a surplus. The surplus is the borrower's money, never the funder's: it goes
 * to the plan's credit balance with its source, and from there either waits (HOLD, for a refund) or
 * is applied to installments as they fall due (NEXT_DUE, the SERVICING rule's `creditApplication`).
 */
import type { Installment } from "../contracts/schedule.contract";
import { allocate, applyAllocation, dueAmount, unpaidOf, type Allocation, type AllocationComponent } from "./allocation";
import { DomainError } from "./errors";
import { fmt, min, money, parseAmount, ZERO, type Decimal } from "./money";

export type CreditApplication = "NEXT_DUE" | "HOLD";

/** One movement of the credit balance: money in from an overpayment, or out to an installment. */
export interface CreditEntry {
  kind: "OVERPAYMENT" | "APPLIED";
  /** The trade (or OFF-<repaymentNo>) the surplus came from; for APPLIED the installment period's key. */
  source: string;
  repaymentNo?: string;
  amount: string;
  /** Balance after this entry. */
  balance: string;
  at: string;
  period?: number;
}

/** Credit entries kept on the plan (the oldest drop off; the balance is the figure that counts). */
export const MAX_CREDIT_ENTRIES = 100;

/** What the plan owes in all: every unpaid component of every installment. */
export function owedInAll(installments: readonly Installment[]): Decimal {
  let total = ZERO;
  for (const inst of installments) {
    const u = unpaidOf(inst);
    total = total.plus(u.penalty).plus(u.fee).plus(u.interest).plus(u.principal);
  }
  return total;
}

/**
 * Guard of an offline repayment: above what is owed it is refused (OVERPAYMENT, with what is owed)
 * unless the caller allows the overpayment. Answers the split: applied + surplus = amount.
 */
export function splitRepayment(owed: string | Decimal, amount: string, allowOverpayment: boolean): { applied: string; surplus: string } {
  const a = parseAmount(amount, "amount");
  const o = money(owed);
  if (a.gt(o) && !allowOverpayment) {
    throw new DomainError("OVERPAYMENT", `amount is above what the plan owes (${fmt(o)}); say allowOverpayment to keep the difference as a credit`, {
      field: "amount",
      owed: fmt(o),
      surplus: fmt(a.minus(o)),
    });
  }
  return { applied: fmt(min(a, o)), surplus: fmt(a.gt(o) ? a.minus(o) : ZERO) };
}

/** A surplus onto the credit balance: the new balance and the bounded list of entries. */
export function addCredit(balance: string | undefined, entries: readonly CreditEntry[] | undefined, entry: Omit<CreditEntry, "balance" | "kind">): { creditBalance: string; credits: CreditEntry[] } {
  const next = money(balance ?? "0.00").plus(parseAmount(entry.amount, "surplus"));
  const e: CreditEntry = { kind: "OVERPAYMENT", ...entry, balance: fmt(next) };
  return { creditBalance: fmt(next), credits: [...(entries ?? []), e].slice(-MAX_CREDIT_ENTRIES) };
}

/**
 * NEXT_DUE: the credit pays installments due on or before `asOf` (oldest first, in the allocation
 * order), up to the balance. Returns null when there is nothing to apply (no credit, nothing due).
 */
export function applyCredit(
  installments: readonly Installment[],
  balance: string | undefined,
  asOf: string,
  order: readonly AllocationComponent[],
): { installments: Installment[]; allocations: Allocation[]; applied: string; creditBalance: string } | null {
  const credit = money(balance ?? "0.00");
  if (credit.lte(ZERO)) return null;
  const due = money(dueAmount(installments, asOf));
  const take = min(credit, due);
  if (take.lte(ZERO)) return null;
  const result = allocate(installments, fmt(take), order, { asOf });
  return { installments: applyAllocation(installments, result.allocations), allocations: result.allocations, applied: result.applied, creditBalance: fmt(credit.minus(result.applied)) };
}
