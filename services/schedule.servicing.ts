/**
 * schedule, servicing part (flows 5–7): overdue accrual on the plan, the overdue list, pause/resume,
 * offline repayments, waivers, rescheduling, prepayment, settlement, owners. Mixed into the schedule
 * service (it owns the plans); the pure work is in domain/servicing, fees, reschedule, settlement.
 *
 * Safety: every write is one compare-and-set on the plan's version (`mutate`); every manual operation
 * carries a number recorded in the same update (a replay returns the first result, other content
 * under the same number is OPERATION_CONFLICT); money-in operations are also recorded in
 * `appliedTrades` and as a ledger flow keyed by the same number (a replay after a crash between the
 * two writes the missing flow). Before any money or structure change the plan's fees are accrued
 * through today, so a repayment never meets a stale base.
 */
import crypto from "node:crypto";
import type { Context, ServiceSchema } from "moleculer";
import { actorOf } from "../mixins/actor";
import { DomainError } from "../domain/errors";
import { allocate, applyAllocation, dueAmount, DEFAULT_ALLOCATION_ORDER, unpaidOf } from "../domain/allocation";
import { applyWaiver, type FeeInstallment, type FeeRule } from "../domain/fees";
import { addDays, compareDates } from "../domain/calendar";
import { centsBound, centsKey, fmt, min, money, parseAmount, ZERO } from "../domain/money";
import { accrualDates, accruePlan, overdueSummary, ownerOn, ownersOf, remainingPrincipal, withOwner, type PlanAccrual } from "../domain/servicing";
import { deferInstallments, extendTerm, prepayAndReamortize, prepaymentFee } from "../domain/reschedule";
import { restructureForSettlement, settlementQuote, type SettlementQuote } from "../domain/settlement";
import type { FlowSpec, Installment, Plan, PlanEvent } from "../contracts/schedule.contract";
export type { FlowSpec };
import { keyedTurns } from "../domain/turns";
import { addCredit, applyCredit, owedInAll, splitRepayment, type CreditApplication, type CreditEntry } from "../domain/credit";
import {
  accrueParams,
  addOwnerParams,
  cancelSettlementParams,
  candidatesParams,
  feesPauseParams,
  offlineRepaymentParams,
  overdueListParams,
  pauseParams,
  planIdParams,
  prepaymentParams,
  prepaymentQuoteParams,
  removeOwnerParams,
  rescheduleParams,
  resumeParams,
  settleParams,
  settlementQuoteParams,
  waiverParams,
  type AccrueParams,
  type AddOwnerParams,
  type CancelSettlementParams,
  type CandidatesParams,
  type FeesPauseParams,
  type OfflineRepaymentParams,
  type OverdueListParams,
  type OverdueRow,
  type PauseParams,
  type PlanIdParams,
  type PrepaymentParams,
  type PrepaymentQuoteParams,
  type RemoveOwnerParams,
  type RescheduleParams,
  type ResumeParams,
  type SettleParams,
  type SettlementQuoteParams,
  type WaiverParams,
  reminderWorkParams,
  type ReminderItem,
  type ReminderWorkParams,
} from "../contracts/servicing.contract";

/** The SERVICING rule content (domain/rules.ts), defaults when no rule applies. */
export interface ServicingRule {
  settlementInterest: "TO_DATE" | "TO_NEXT_DUE" | "FULL_TERM";
  prepaymentFeeRate: string;
  prepaymentFeeMin: string;
  rescheduleFee: string;
  maxDeferDays: number;
  maxExtendPeriods: number;
  creditApplication: CreditApplication;
}
const DEFAULT_SERVICING: ServicingRule = { settlementInterest: "TO_NEXT_DUE", prepaymentFeeRate: "0", prepaymentFeeMin: "0.00", rescheduleFee: "0.00", maxDeferDays: 365, maxExtendPeriods: 36, creditApplication: "HOLD" };


/** A flow number from a key that may be long or hold characters flow numbers do not take. */
function flowNoOf(prefix: string, key: string): string {
  const plain = `${prefix}-${key}`;
  if (/^[A-Za-z0-9_-]{4,64}$/.test(plain)) return plain;
  return `${prefix}-${crypto.createHash("sha256").update(key).digest("hex").slice(0, 40)}`;
}

/** Options of a repayment: the offline guard and the business date its money belongs to. */
export interface RepaymentOptions {
  /** Offline: refuse an amount above what is owed unless true. Absent (channel trades): the money already moved; any surplus is credited. */
  allowOverpayment?: boolean;
  repaymentNo?: string;
  businessDate?: string;
}

const MAX_EVENTS = 200;

type Emit = [string, Record<string, unknown>];

/** What a mutation decides: fields to set (and unset), its result, events, an audit entry, a revision. */
export interface Mutation {
  set: Record<string, unknown>;
  unset?: string[];
  result: Record<string, unknown>;
  emit?: Emit[];
  event?: Omit<PlanEvent, "at" | "by">;
  /** The structure changes: keep the installments before it as a revision. */
  revision?: { reason: string; ref: string };
  /** A ledger flow to record after the plan is saved (money in outside a channel trade). */
  flow?: FlowSpec;
  /** More flows to record after it (credit-balance moves). */
  flows?: FlowSpec[];
}

/** What `decide` may answer: a mutation, "already done, here is the answer", or null (nothing to do). */
export type Decision = Mutation | { noop: Record<string, unknown>; flows?: FlowSpec[] } | null;

type Done = { result: unknown; plan?: Plan; flows?: FlowSpec[] };


function fingerprint(params: Record<string, unknown>): string {
  const { planId: _p, ...rest } = params;
  return crypto.createHash("sha256").update(JSON.stringify(rest, Object.keys(rest).sort())).digest("hex").slice(0, 16);
}

function openPlan(plan: Plan): void {
  if (plan.status === "SETTLED") throw new DomainError("PLAN_SETTLED", `Plan ${plan.planId} is settled`, { planId: plan.planId });
  if (plan.status === "CANCELLED") throw new DomainError("PLAN_STATE", `Plan ${plan.planId} is cancelled`, { planId: plan.planId });
}

function noPendingSettlement(plan: Plan): void {
  if (plan.pendingSettlement) {
    throw new DomainError("SETTLEMENT_PENDING", `Plan ${plan.planId} has settlement ${plan.pendingSettlement.settlementNo} pending`, { settlementNo: plan.pendingSettlement.settlementNo });
  }
}

function periodOf(installments: Installment[], period: number): Installment {
  const inst = installments.find((i) => i.period === period);
  if (!inst) throw new DomainError("NOT_FOUND", `No period ${period} in this plan`, { field: "period", period });
  return inst;
}

export function ScheduleServicing(): Partial<ServiceSchema> {
  return {
    actions: {
      /** Accrue the plan's overdue fees through `asOf` (default today). Idempotent per (installment, date). */
      accrue: {
        visibility: "public",
        params: accrueParams,
        async handler(this: any, ctx: Context<AccrueParams>) {
          const today = this.clock.today();
          const asOf = ctx.params.asOf ?? today;
          if (compareDates(asOf, today) > 0) throw new DomainError("VALIDATION_ERROR", "asOf cannot be after today", { field: "asOf" });
          let stats: Pick<PlanAccrual, "entries" | "penalty" | "lateFee"> = { entries: 0, penalty: "0.00", lateFee: "0.00" };
          const res = await this.mutate(ctx, ctx.params.planId, null, async (plan: Plan) => {
            const { set, unset, accrual, emit, flows } = await this.caughtUp(plan, asOf);
            stats = accrual;
            if (!accrual.changed && !unset.length && !flows.length && plan.funderId === set.funderId) return null;
            return { set, unset, emit, flows, result: {} };
          });
          return { planId: ctx.params.planId, changed: res !== null, entries: stats.entries, penalty: stats.penalty, lateFee: stats.lateFee };
        },
      },
      /** Plans of a partition that may need accrual (something unpaid past due) or whose pause ran out. */
      accrualCandidates: {
        visibility: "public",
        params: candidatesParams,
        async handler(this: any, ctx: Context<CandidatesParams>): Promise<string[]> {
          const { partition, asOf, limit = 1000, afterPlanId } = ctx.params;
          const query: Record<string, unknown> = {
            partition,
            $or: [{ nextDueDate: { $lt: asOf } }, { "pause.until": { $lt: asOf } }, { "pendingSettlement.date": { $lt: asOf } }, { creditHeld: true, nextDueDate: { $lte: asOf } }],
            status: { $in: ["ACTIVE", "PAUSED"] },
          };
          if (afterPlanId) query._id = { $gt: afterPlanId };
          const plans: Plan[] = await this.store.find(query, { sort: { _id: 1 }, limit });
          return plans.map((p) => p.planId);
        },
      },
      /**
       * Reminder work (notifier): plans of a partition with an unpaid installment due on or before
       * asOf + horizonDays, in planId order, with their unpaid installments and today's owner.
       */
      reminderWork: {
        visibility: "public",
        params: reminderWorkParams,
        async handler(this: any, ctx: Context<ReminderWorkParams>): Promise<ReminderItem[]> {
          const { partition, asOf, horizonDays, limit = 1000, afterPlanId } = ctx.params;
          const query: Record<string, unknown> = { partition, status: { $in: ["ACTIVE", "PAUSED"] }, nextDueDate: { $lte: addDays(asOf, horizonDays) } };
          if (afterPlanId) query._id = { $gt: afterPlanId };
          const plans: Plan[] = await this.store.find(query, { sort: { _id: 1 }, limit });
          return plans.map((p) => ({
            planId: p.planId,
            orderId: p.orderId,
            partition: p.partition,
            customerId: p.customerId,
            bizType: p.bizType,
            funderId: ownerOn(p, asOf),
            productCode: p.productCode,
            status: p.status,
            installments: p.installments
              .filter((i) => i.status !== "PAID")
              .map((i) => ({ period: i.period, dueDate: i.dueDate, outstanding: i.outstanding, status: i.status, daysOverdue: (i as FeeInstallment).daysOverdue ?? 0 })),
          }));
        },
      },
      overdue: {
        rest: "GET /overdue",
        params: overdueListParams,
        doc: { summary: "The overdue list (for collection systems): filter by funder, product, bucket, days and amount overdue", tags: ["collection"] },
        async handler(this: any, ctx: Context<OverdueListParams>) {
          const p = ctx.params;
          const query: Record<string, unknown> = { overdueDays: { $gt: 0 }, status: { $in: ["ACTIVE", "PAUSED"] } };
          for (const f of ["funderId", "productCode", "bizType"] as const) if (p[f] !== undefined) query[f] = p[f];
          if (p.bucket !== undefined) query.aging = p.bucket;
          if (p.paused !== undefined) query.status = p.paused ? "PAUSED" : "ACTIVE";
          if (p.minDays !== undefined || p.maxDays !== undefined) {
            query.overdueDays = { $gt: 0, ...(p.minDays !== undefined ? { $gte: p.minDays } : {}), ...(p.maxDays !== undefined ? { $lte: p.maxDays } : {}) };
          }
          // Amounts filter in the store by their cents key (overdueCents beside overdueAmount; money.ts).
          if (p.minAmount !== undefined || p.maxAmount !== undefined) {
            query.overdueCents = {
              ...(p.minAmount !== undefined ? { $gte: centsBound(p.minAmount, "minAmount") } : {}),
              ...(p.maxAmount !== undefined ? { $lte: centsBound(p.maxAmount, "maxAmount") } : {}),
            };
          }
          const page = p.page ?? 1;
          const pageSize = p.pageSize ?? 20;
          // The page, its count and the total amount (of the overdueAmount field alone), each by the store.
          const [plans, total, amounts]: [Plan[], number, Array<Pick<Plan, "_id"> & { overdueAmount?: string }>] = await Promise.all([
            this.store.find(query, { sort: { overdueDays: -1, _id: 1 }, skip: (page - 1) * pageSize, limit: pageSize }),
            this.store.count(query),
            this.store.find(query, { fields: ["overdueAmount"] }),
          ]);
          const rows: OverdueRow[] = plans
            .map((x: any) => ({
              planId: x.planId,
              orderNo: x.orderNo,
              funderId: x.funderId,
              productCode: x.productCode,
              bizType: x.bizType,
              customerId: x.customerId,
              status: x.status,
              overdueSince: x.overdueSince,
              overdueDays: x.overdueDays,
              overdueAmount: x.overdueAmount,
              overduePenalty: x.overduePenalty,
              overduePeriods: x.overduePeriods,
              aging: x.aging ?? null,
              paused: x.status === "PAUSED",
            }));
          const totalAmount = amounts.reduce((s, r) => s.plus(money(r.overdueAmount ?? "0")), ZERO);
          return { rows, total, page, pageSize, totalPages: Math.ceil(total / pageSize), totalAmount: fmt(totalAmount) };
        },
      },
      pause: {
        rest: "POST /plans/:planId/pause",
        params: pauseParams,
        doc: { summary: "Pause debits of a plan (collection): reason, optionally until a date; audited", tags: ["collection"], role: "ops" },
        async handler(this: any, ctx: Context<PauseParams>) {
          const { planId, reason, until } = ctx.params;
          return this.mutate(ctx, planId, null, async (plan: Plan, today: string) => {
            openPlan(plan);
            if (plan.status === "PAUSED") throw new DomainError("PLAN_STATE", `Plan ${planId} is already paused`, { planId, pause: plan.pause });
            if (until && compareDates(until, today) < 0) throw new DomainError("VALIDATION_ERROR", "until cannot be before today", { field: "until" });
            const pause = { reason, ...(until ? { until } : {}), by: actorOf(ctx), at: this.clock.iso() };
            return { set: { status: "PAUSED", pause }, result: { planId, status: "PAUSED", pause }, emit: [["plan.paused", { planId, reason, until: until ?? null, by: pause.by }]], event: { action: "PAUSE", reason, details: { until: until ?? null } } };
          });
        },
      },
      resume: {
        rest: "POST /plans/:planId/resume",
        params: resumeParams,
        doc: { summary: "Resume debits of a paused plan; audited", tags: ["collection"], role: "ops" },
        async handler(this: any, ctx: Context<ResumeParams>) {
          const { planId, reason } = ctx.params;
          return this.mutate(ctx, planId, null, async (plan: Plan) => {
            openPlan(plan);
            if (plan.status !== "PAUSED") throw new DomainError("PLAN_STATE", `Plan ${planId} is not paused`, { planId, status: plan.status });
            return { set: { status: "ACTIVE" }, unset: ["pause"], result: { planId, status: "ACTIVE" }, emit: [["plan.resumed", { planId, reason, by: actorOf(ctx) }]], event: { action: "RESUME", reason } };
          });
        },
      },
      recordRepayment: {
        rest: "POST /plans/:planId/repayments",
        params: offlineRepaymentParams,
        doc: { summary: "Record an offline repayment (线下还款): idempotent on repaymentNo, applied in the allocation order", tags: ["collection"], role: "ops" },
        async handler(this: any, ctx: Context<OfflineRepaymentParams>) {
          const { planId, repaymentNo, amount, paidOn, note, allowOverpayment } = ctx.params;
          parseAmount(amount, "amount");
          const today = this.clock.today();
          if (paidOn && compareDates(paidOn, today) > 0) throw new DomainError("VALIDATION_ERROR", "paidOn cannot be in the future", { field: "paidOn" });
          const tradeNo = `OFF-${repaymentNo}`;
          return this.mutate(ctx, planId, { no: repaymentNo, kind: "REPAYMENT", params: ctx.params }, async (plan: Plan) => {
            if (plan.status === "CANCELLED") throw new DomainError("PLAN_STATE", `Plan ${planId} is cancelled`, { planId });
            const m: Mutation = await this.repaymentMutation(plan, tradeNo, amount, "OFFLINE", { allowOverpayment: allowOverpayment === true, repaymentNo, businessDate: paidOn ?? today });
            m.event = { action: "OFFLINE_REPAYMENT", ref: repaymentNo, ...(note ? { reason: note } : {}), details: { amount, paidOn: paidOn ?? today, ...(m.result.surplus !== "0.00" ? { credited: m.result.surplus } : {}) } };
            m.flow = { flowNo: tradeNo, amount, funderId: ownerOn(plan, paidOn ?? today), businessDate: paidOn ?? today, source: "OFFLINE" };
            return m;
          });
        },
      },
      waive: {
        rest: "POST /plans/:planId/waivers",
        params: waiverParams,
        doc: { summary: "Waive (减免) unpaid penalty and/or fee of an installment, or all of it and stop accrual (full); reason required, audited", tags: ["fees"], role: "ops" },
        async handler(this: any, ctx: Context<WaiverParams>) {
          const { planId, waiverNo, period, penalty, fee, full, reason } = ctx.params;
          if (!full && penalty === undefined && fee === undefined) throw new DomainError("VALIDATION_ERROR", "Give penalty, fee or full", { field: "penalty" });
          for (const [field, v] of [["penalty", penalty], ["fee", fee]] as const) if (v !== undefined) parseAmount(v, field);
          return this.mutate(ctx, planId, { no: waiverNo, kind: "WAIVER", params: ctx.params }, async (plan: Plan, today: string) => {
            openPlan(plan);
            const { installments } = await this.accrued(plan, today);
            const inst = periodOf(installments, period) as FeeInstallment;
            const unpaid = unpaidOf(inst);
            const lateUnpaid = fmt(min(money(inst.lateFee ?? "0.00"), unpaid.fee));
            const waiver = full ? { penalty: fmt(unpaid.penalty), fee: lateUnpaid } : { ...(penalty ? { penalty } : {}), ...(fee ? { fee } : {}) };
            const waived: FeeInstallment = { ...applyWaiver(inst, waiver), ...(full ? { waived: true } : {}) };
            waived.waivedPenalty = fmt(money(inst.waivedPenalty ?? "0.00").plus(waiver.penalty ?? "0.00"));
            waived.waivedFee = fmt(money(inst.waivedFee ?? "0.00").plus(waiver.fee ?? "0.00"));
            const next = installments.map((i: Installment) => (i.period === period ? waived : i));
            const result = { planId, period, waived: { penalty: waiver.penalty ?? "0.00", fee: waiver.fee ?? "0.00" }, full: !!full, outstanding: waived.outstanding };
            return { set: this.derived(plan, next, today), result, event: { action: "WAIVER", ref: waiverNo, reason, details: result } };
          });
        },
      },
      feesPause: {
        rest: "POST /plans/:planId/fees-pause",
        params: feesPauseParams,
        doc: { summary: "Pause or restart overdue accrual on one installment (e.g. a dispute); paused days are never charged; audited", tags: ["fees"], role: "ops" },
        async handler(this: any, ctx: Context<FeesPauseParams>) {
          const { planId, period, paused, reason } = ctx.params;
          return this.mutate(ctx, planId, null, async (plan: Plan, today: string) => {
            openPlan(plan);
            const { installments } = await this.accrued(plan, today);
            periodOf(installments, period);
            const next = installments.map((i: Installment) => (i.period === period ? { ...i, feesPaused: paused } : i));
            return { set: this.derived(plan, next, today), result: { planId, period, feesPaused: paused }, event: { action: paused ? "FEES_PAUSE" : "FEES_RESUME", reason, details: { period } } };
          });
        },
      },
      reschedule: {
        rest: "POST /plans/:planId/reschedule",
        params: rescheduleParams,
        doc: { summary: "Reschedule (换期): defer due dates by days or periods, or extend the term; optional fee from the SERVICING rule; keeps a revision", tags: ["servicing"], role: "ops" },
        async handler(this: any, ctx: Context<RescheduleParams>) {
          const p = ctx.params;
          if (p.type === "DEFER" && (p.days === undefined) === (p.periods === undefined)) throw new DomainError("VALIDATION_ERROR", "DEFER needs exactly one of days or periods", { field: "days" });
          if (p.type === "EXTEND" && p.extraPeriods === undefined) throw new DomainError("VALIDATION_ERROR", "EXTEND needs extraPeriods", { field: "extraPeriods" });
          if (p.type === "EXTEND" && (p.days !== undefined || p.periods !== undefined || p.fromPeriod !== undefined)) throw new DomainError("VALIDATION_ERROR", "EXTEND takes extraPeriods only", { field: "type" });
          if (p.type === "DEFER" && p.extraPeriods !== undefined) throw new DomainError("VALIDATION_ERROR", "DEFER does not take extraPeriods", { field: "extraPeriods" });
          return this.mutate(ctx, p.planId, { no: p.rescheduleNo, kind: "RESCHEDULE", params: p }, async (plan: Plan, today: string) => {
            openPlan(plan);
            noPendingSettlement(plan);
            const rule: ServicingRule = await this.servicingRule(plan, today);
            if (p.days !== undefined && p.days > rule.maxDeferDays) throw new DomainError("VALIDATION_ERROR", `days exceeds the rule's maxDeferDays (${rule.maxDeferDays})`, { field: "days", max: rule.maxDeferDays });
            const extra = p.periods ?? p.extraPeriods ?? 0;
            if (extra > rule.maxExtendPeriods) throw new DomainError("VALIDATION_ERROR", `periods exceed the rule's maxExtendPeriods (${rule.maxExtendPeriods})`, { field: p.periods !== undefined ? "periods" : "extraPeriods", max: rule.maxExtendPeriods });
            const fee = p.chargeFee === false || money(rule.rescheduleFee).eq(ZERO) ? undefined : rule.rescheduleFee;
            const { installments } = await this.accrued(plan, today);
            const next: Installment[] =
              p.type === "DEFER"
                ? deferInstallments(installments, { asOf: today, ...(p.fromPeriod ? { fromPeriod: p.fromPeriod } : {}), ...(p.days ? { days: p.days } : {}), ...(p.periods ? { periods: p.periods, dueDay: plan.terms.dueDay ?? Number(plan.terms.startDate.slice(8, 10)) } : {}), ...(fee ? { fee } : {}) })
                : extendTerm(installments, plan.terms, { asOf: today, extraPeriods: p.extraPeriods as number, ...(fee ? { fee } : {}) });
            const result = { planId: p.planId, type: p.type, fee: fee ?? "0.00", installments: next.length, revision: (plan.revision ?? 1) + 1 };
            const details = { type: p.type, days: p.days, periods: p.periods, extraPeriods: p.extraPeriods, fromPeriod: p.fromPeriod, fee: fee ?? "0.00" };
            return {
              set: this.derived(plan, next, today),
              result,
              revision: { reason: `RESCHEDULE ${p.type}`, ref: p.rescheduleNo },
              emit: [["plan.rescheduled", { planId: p.planId, rescheduleNo: p.rescheduleNo, ...details, revision: result.revision }]],
              event: { action: "RESCHEDULE", ref: p.rescheduleNo, reason: p.reason, details },
            };
          });
        },
      },
      prepaymentQuote: {
        rest: "GET /plans/:planId/prepayment-quote",
        params: prepaymentQuoteParams,
        doc: { summary: "What a partial prepayment of `principal` costs today: due now + principal + prepayment fee", tags: ["servicing"] },
        async handler(this: any, ctx: Context<PrepaymentQuoteParams>) {
          const plan = await this.planOr404(ctx.params.planId);
          openPlan(plan);
          return this.prepaymentFigures(plan, this.clock.today(), ctx.params.principal);
        },
      },
      prepay: {
        rest: "POST /plans/:planId/prepayments",
        params: prepaymentParams,
        doc: { summary: "Record a partial prepayment received offline and re-amortize (keep the term → lower payment, or keep the payment → shorter term)", tags: ["servicing"], role: "ops" },
        async handler(this: any, ctx: Context<PrepaymentParams>) {
          const p = ctx.params;
          parseAmount(p.principal, "principal");
          const tradeNo = `PRE-${p.prepaymentNo}`;
          return this.mutate(ctx, p.planId, { no: p.prepaymentNo, kind: "PREPAYMENT", params: p }, async (plan: Plan, today: string) => {
            openPlan(plan);
            noPendingSettlement(plan);
            const figures = await this.prepaymentFigures(plan, today, p.principal);
            if (!money(p.amount).eq(money(figures.total))) {
              throw new DomainError("AMOUNT_MISMATCH", `The amount must be ${figures.total} (due now + principal + prepayment fee)`, { field: "amount", expected: figures.total, quote: figures });
            }
            let { installments } = await this.accrued(plan, today);
            const order = await this.allocationOrder(plan, today);
            if (money(figures.dueNow).gt(ZERO)) installments = applyAllocation(installments, allocate(installments, figures.dueNow, order, { asOf: today }).allocations);
            const re = prepayAndReamortize(installments, plan.terms, { date: today, principal: p.principal, mode: p.mode });
            let next = re.installments;
            if (money(figures.prepaymentFee).gt(ZERO)) {
              next = next.map((i) => (i.period === re.prepaidPeriod ? this.withPaidFee(i, figures.prepaymentFee) : i));
            }
            const result = { planId: p.planId, tradeNo, ...figures, mode: p.mode, prepaidPeriod: re.prepaidPeriod, remainingPrincipal: re.remainingPrincipalAfter, removedPeriods: re.removedPeriods, revision: (plan.revision ?? 1) + 1 };
            return {
              set: { ...this.derived(plan, next, today), [`appliedTrades.${tradeNo}`]: { amount: p.amount, applied: p.amount, surplus: "0.00", at: this.clock.iso(), source: "OFFLINE", funderId: ownerOn(plan, today) } },
              result,
              revision: { reason: `PREPAYMENT ${p.mode}`, ref: p.prepaymentNo },
              emit: [["plan.rescheduled", { planId: p.planId, prepaymentNo: p.prepaymentNo, type: "PREPAYMENT", mode: p.mode, principal: p.principal, revision: result.revision }]],
              event: { action: "PREPAYMENT", ref: p.prepaymentNo, ...(p.reason ? { reason: p.reason } : {}), details: { principal: p.principal, amount: p.amount, mode: p.mode, prepaymentFee: figures.prepaymentFee } },
              flow: { flowNo: tradeNo, amount: p.amount, funderId: ownerOn(plan, today), businessDate: today, source: "OFFLINE" },
            };
          });
        },
      },
      settlementQuote: {
        rest: "GET /plans/:planId/settlement-quote",
        params: settlementQuoteParams,
        doc: { summary: "Early settlement (提前结清) quote for a date: principal + interest by the SERVICING rule + fees + penalties (projected to the date) + prepayment fee", tags: ["servicing"] },
        async handler(this: any, ctx: Context<SettlementQuoteParams>) {
          const plan = await this.planOr404(ctx.params.planId);
          openPlan(plan);
          const today = this.clock.today();
          const date = ctx.params.date ?? today;
          if (compareDates(date, today) < 0) throw new DomainError("VALIDATION_ERROR", "date cannot be in the past", { field: "date" });
          return { planId: plan.planId, ...(await this.quoteOn(plan, date)).quote };
        },
      },
      settle: {
        rest: "POST /plans/:planId/settlements",
        params: settleParams,
        doc: { summary: "Settle a plan early: OFFLINE with the money received (must equal the quote), or DEBIT collected at the next debit slot on the date; SETTLED only when the money is in", tags: ["servicing"], role: "ops" },
        async handler(this: any, ctx: Context<SettleParams>) {
          const p = ctx.params;
          const today = this.clock.today();
          const date = p.date ?? today;
          if (compareDates(date, today) < 0) throw new DomainError("VALIDATION_ERROR", "date cannot be in the past", { field: "date" });
          if (p.method === "OFFLINE" && (p.amount === undefined || date !== today)) {
            throw new DomainError("VALIDATION_ERROR", "An OFFLINE settlement is for today and needs the amount received", { field: p.amount === undefined ? "amount" : "date" });
          }
          if (p.method === "DEBIT" && p.amount !== undefined) throw new DomainError("VALIDATION_ERROR", "A DEBIT settlement takes no amount: it debits the quote", { field: "amount" });
          if (p.amount !== undefined) parseAmount(p.amount, "amount");
          const tradeNo = `STL-${p.settlementNo}`;
          return this.mutate(ctx, p.planId, { no: p.settlementNo, kind: "SETTLEMENT", params: p }, async (plan: Plan) => {
            openPlan(plan);
            noPendingSettlement(plan);
            const { quote, installments } = await this.quoteOn(plan, date);
            if (p.method === "DEBIT") {
              const pending = { settlementNo: p.settlementNo, date, amount: quote.total, method: "DEBIT", quote, requestedAt: this.clock.iso(), by: actorOf(ctx) };
              return { set: { pendingSettlement: pending }, result: { planId: p.planId, status: "PENDING", settlementNo: p.settlementNo, date, amount: quote.total, quote }, event: { action: "SETTLEMENT_REQUESTED", ref: p.settlementNo, ...(p.reason ? { reason: p.reason } : {}), details: { method: "DEBIT", date, amount: quote.total } } };
            }
            if (!money(p.amount as string).eq(money(quote.total))) {
              throw new DomainError("AMOUNT_MISMATCH", `The amount must be the quote's total ${quote.total}`, { field: "amount", expected: quote.total, quote });
            }
            const m: Mutation = await this.settlementMutation(plan, installments, quote, tradeNo, p.amount as string, "OFFLINE", p.settlementNo);
            m.event = { action: "SETTLED", ref: p.settlementNo, ...(p.reason ? { reason: p.reason } : {}), details: { method: "OFFLINE", amount: p.amount } };
            m.flow = { flowNo: tradeNo, amount: p.amount as string, funderId: ownerOn(plan, today), businessDate: today, source: "OFFLINE" };
            return m;
          });
        },
      },
      cancelSettlement: {
        rest: "POST /plans/:planId/settlements/:settlementNo/cancel",
        params: cancelSettlementParams,
        doc: { summary: "Cancel a pending DEBIT settlement (before its money is in); audited", tags: ["servicing"], role: "ops" },
        async handler(this: any, ctx: Context<CancelSettlementParams>) {
          const { planId, settlementNo, reason } = ctx.params;
          return this.mutate(ctx, planId, null, async (plan: Plan) => {
            if (plan.pendingSettlement?.settlementNo !== settlementNo) throw new DomainError("PLAN_STATE", `No pending settlement ${settlementNo} on plan ${planId}`, { planId, settlementNo });
            return { set: {}, unset: ["pendingSettlement"], result: { planId, settlementNo, status: "CANCELLED" }, event: { action: "SETTLEMENT_CANCELLED", ref: settlementNo, reason } };
          });
        },
      },
      revisions: {
        rest: "GET /plans/:planId/revisions",
        params: planIdParams,
        doc: { summary: "The plan's structure history: the installments before each reschedule, prepayment or settlement", tags: ["servicing"] },
        async handler(this: any, ctx: Context<PlanIdParams>) {
          const plan = await this.planOr404(ctx.params.planId);
          const rows = await this.stores.planRevisions.find({ planId: plan.planId }, { sort: { revision: 1 } });
          return {
            planId: plan.planId,
            current: { revision: plan.revision ?? 1, installments: plan.installments },
            revisions: rows.map(({ _id, ...r }: any) => r),
            owners: ownersOf(plan),
            events: plan.events ?? [],
          };
        },
      },
      /** asset-transfer: add an owner from a date (idempotent per transferNo). */
      addOwner: {
        visibility: "public",
        params: addOwnerParams,
        async handler(this: any, ctx: Context<AddOwnerParams>) {
          const p = ctx.params;
          return this.mutate(ctx, p.planId, { no: p.transferNo, kind: "TRANSFER", params: p }, async (plan: Plan, today: string) => {
            openPlan(plan);
            if (compareDates(p.from, today) < 0) throw new DomainError("VALIDATION_ERROR", "A transfer cannot take effect in the past", { field: "effectiveDate" });
            const before = ownerOn(plan, p.from);
            if (p.fromFunderId && before !== p.fromFunderId) throw new DomainError("TRANSFER_STATE", `Plan ${p.planId} belongs to ${before} on ${p.from}, not ${p.fromFunderId}`, { planId: p.planId, owner: before });
            const owners = withOwner(plan, { funderId: p.toFunderId, from: p.from, transferNo: p.transferNo, priceRatio: p.priceRatio });
            const principal = remainingPrincipal(plan);
            const result = { planId: p.planId, fromFunderId: before, toFunderId: p.toFunderId, from: p.from, remainingPrincipal: principal, price: fmt(money(principal).times(p.priceRatio).round(2, 1)) };
            return { set: { owners, funderId: ownerOn({ ...plan, owners }, today) }, result, event: { action: "TRANSFER_SCHEDULED", ref: p.transferNo, details: result } };
          });
        },
      },
      /** asset-transfer: drop a transfer's owner entry before it takes effect (cancel). */
      removeOwner: {
        visibility: "public",
        params: removeOwnerParams,
        async handler(this: any, ctx: Context<RemoveOwnerParams>) {
          const { planId, transferNo } = ctx.params;
          return this.mutate(ctx, planId, null, async (plan: Plan, today: string) => {
            const entry = ownersOf(plan).find((o) => o.transferNo === transferNo);
            if (!entry) return null;
            if (compareDates(entry.from, today) <= 0) throw new DomainError("TRANSFER_STATE", `Transfer ${transferNo} is already in effect`, { transferNo, from: entry.from });
            const owners = ownersOf(plan).filter((o) => o.transferNo !== transferNo);
            return { set: { owners, [`operations.${transferNo}`]: { kind: "TRANSFER_CANCELLED", at: this.clock.iso() } }, result: { planId, transferNo, removed: true }, event: { action: "TRANSFER_CANCELLED", ref: transferNo } };
          });
        },
      },
      /** asset-transfer, on/after the effective date: `funderId` becomes today's owner; `plan.transferred` once per transfer. */
      refreshOwner: {
        visibility: "public",
        params: { $$strict: true, planId: planIdParams.planId, transferNo: removeOwnerParams.transferNo },
        async handler(this: any, ctx: Context<RemoveOwnerParams>) {
          const { planId, transferNo } = ctx.params;
          const key = `EFF-${transferNo}`;
          return this.mutate(ctx, planId, null, async (plan: Plan, today: string) => {
            const list = ownersOf(plan);
            const at = list.findIndex((o) => o.transferNo === transferNo);
            if (at < 1 || compareDates(list[at].from, today) > 0 || plan.operations?.[key]) return null;
            const entry = list[at];
            const payload = { planId, transferNo, fromFunderId: list[at - 1].funderId, toFunderId: entry.funderId, effectiveDate: entry.from, priceRatio: entry.priceRatio };
            return {
              set: { funderId: ownerOn(plan, today), [`operations.${key}`]: { kind: "TRANSFER_EFFECTIVE", at: this.clock.iso() } },
              result: payload,
              emit: [["plan.transferred", payload]],
              event: { action: "TRANSFERRED", ref: transferNo, details: { fromFunderId: payload.fromFunderId, toFunderId: payload.toFunderId } },
            };
          });
        },
      },
    },
    methods: {
      /**
       * Plans overdue from before overdueCents existed get their key, once (every write of the overdue
       * summary sets it from then on). Matched on the amount it is computed from: a write in between
       * set both, and this one then changes nothing.
       */
      async backfillOverdueCents(this: any): Promise<number> {
        let n = 0;
        for (;;) {
          const rows: Plan[] = await this.store.find({ overdueDays: { $gt: 0 }, overdueAmount: { $exists: true }, overdueCents: { $exists: false } }, { limit: 500 });
          let set = 0;
          for (const x of rows as Array<Plan & { overdueAmount: string }>) {
            const saved = await this.store.updateOne({ _id: x._id, overdueAmount: x.overdueAmount, overdueCents: { $exists: false } }, { $set: { overdueCents: centsKey(x.overdueAmount) } });
            if (saved) set++;
          }
          n += set;
          if (rows.length < 500 || set === 0) return n;
        }
      },
      async planOr404(this: any, planId: string): Promise<Plan> {
        const plan: Plan | null = await this.store.findById(planId);
        if (!plan) throw new DomainError("NOT_FOUND", `Plan ${planId} not found`, { planId });
        return plan;
      },
      /**
       * Read, decide, compare-and-set; again when the plan changed under us. `op` makes the operation
       * idempotent on its number. `decide` returns null for "nothing to do" (the plan is returned).
       */
      async mutate(this: any, ctx: Context, planId: string, op: { no: string; kind: string; params: Record<string, unknown> } | null, decide: (plan: Plan, today: string) => Promise<Decision>) {
        // This process's changes of one plan take turns (domain/turns.ts): each reads the version the
        // previous one wrote, instead of a burst all deciding on one version and all but one again.
        // The flow is recorded after the turn (a call to the ledger; the plan is written by then).
        this.planTurn ??= keyedTurns();
        const done: Done = await this.planTurn(planId, () => this.mutateNow(ctx, planId, op, decide));
        for (const flow of done.flows ?? []) await this.recordFlow(done.plan, flow);
        return done.result;
      },
      async mutateNow(this: any, ctx: Context, planId: string, op: { no: string; kind: string; params: Record<string, unknown> } | null, decide: (plan: Plan, today: string) => Promise<Decision>): Promise<Done> {
        const fp = op ? fingerprint(op.params) : "";
        for (let i = 0; i < 50; i++) {
          const plan = await this.planOr404(planId);
          const today = this.clock.today();
          const done = op ? plan.operations?.[op.no] : undefined;
          if (op && done) {
            if (done.kind !== op.kind || (done as any).fingerprint !== fp) {
              throw new DomainError("OPERATION_CONFLICT", `${op.kind} ${op.no} was already used with other content`, { planId, no: op.no, kind: done.kind });
            }
            const flows: FlowSpec[] = [...((done as any).flow ? [(done as any).flow] : []), ...((done as any).flows ?? [])];
            // A crash may have come between the plan and the flows: the replay writes them.
            return { result: { ...done.result, replayed: true }, plan, flows };
          }
          const d: Decision = await decide(plan, today);
          if (!d) return { result: null };
          if ("noop" in d) return { result: d.noop, plan, flows: d.flows ?? [] };
          const m = d;
          const at = this.clock.iso();
          const set: Record<string, unknown> = { ...m.set, version: plan.version + 1, updatedAt: at };
          if (op) set[`operations.${op.no}`] = { kind: op.kind, fingerprint: fp, at, result: m.result, ...(m.flow ? { flow: m.flow } : {}), ...(m.flows?.length ? { flows: m.flows } : {}) };
          if (m.event) set.events = [...(plan.events ?? []), { at, by: actorOf(ctx), ...m.event }].slice(-MAX_EVENTS);
          if (m.revision) {
            const revision = plan.revision ?? 1;
            set.revision = revision + 1;
            await this.stores.planRevisions
              .insert({ _id: `${planId}:${revision}`, planId, revision, at, reason: m.revision.reason, ref: m.revision.ref, installments: plan.installments })
              .catch((err: any) => {
                if (err?.code !== "DUPLICATE_KEY") throw err; // kept by an attempt that lost the race
              });
          }
          // The events go into the plan in the same write (the outbox); the relay publishes them.
          const entries = (m.emit ?? []).map(([type, data]) => this.outboxEntry(type, planId, data));
          const update: Record<string, unknown> = { $set: set };
          if (m.unset?.length) update.$unset = Object.fromEntries(m.unset.map((f) => [f, true]));
          if (entries.length) update.$push = { outbox: { $each: entries } };
          const saved: Plan | null = await this.store.updateOne({ _id: planId, version: plan.version }, update);
          if (!saved) continue;
          if (entries.length) this.outboxWritten("plans", planId, saved);
          return { result: m.result, plan: saved, flows: [...(m.flow ? [m.flow] : []), ...(m.flows ?? [])] };
        }
        throw new DomainError("VERSION_CONFLICT", `Plan ${planId} is too contended; try again`, { planId });
      },
      async recordFlow(this: any, plan: Plan, flow: FlowSpec) {
        await this.broker.call("ledger.recordFlow", { ...flow, planId: plan.planId, partition: plan.partition });
      },
      /** FEE rules for the dates, each for the owner on that date (same rule → same object). */
      async feeRules(this: any, plan: Plan, dates: string[]): Promise<(date: string) => FeeRule | null> {
        const byDate = new Map<string, FeeRule | null>();
        const byRule = new Map<string, FeeRule>();
        for (const d of dates) {
          const r = await this.resolveRule("FEE", { bizType: plan.bizType, funderId: ownerOn(plan, d), productCode: plan.productCode }, d);
          if (!r) {
            byDate.set(d, null);
            continue;
          }
          const key = `${r.id}:${r.version}`;
          if (!byRule.has(key)) byRule.set(key, r.content as FeeRule);
          byDate.set(d, byRule.get(key) as FeeRule);
        }
        return (d: string) => byDate.get(d) ?? null;
      },
      /** The plan's installments accrued through `to` (not saved). */
      async accrued(this: any, plan: Plan, to: string): Promise<PlanAccrual> {
        const dates = accrualDates(plan, to);
        if (!dates.includes(to)) dates.push(to);
        return accruePlan(plan, to, await this.feeRules(plan, dates));
      },
      /** The accrued plan as fields to set, plus expired pause / pending settlement to clear. */
      async caughtUp(this: any, plan: Plan, asOf: string) {
        const accrual: PlanAccrual = await this.accrued(plan, asOf);
        const set = this.derived(plan, accrual.installments, asOf);
        const unset: string[] = [];
        const emit: Emit[] = accrual.newlyOverdue.map((o) => ["installment.overdue", { planId: plan.planId, funderId: ownerOn(plan, asOf), ...o }]);
        if (plan.status === "PAUSED" && plan.pause?.until && compareDates(plan.pause.until, asOf) < 0) {
          set.status = "ACTIVE";
          unset.push("pause");
          emit.push(["plan.resumed", { planId: plan.planId, reason: "pause ended", by: "system" }]);
        }
        if (plan.pendingSettlement && compareDates(plan.pendingSettlement.date, asOf) < 0) unset.push("pendingSettlement");
        const credit = await this.creditDue(plan, accrual.installments, asOf);
        if (credit) {
          Object.assign(set, this.derived(plan, credit.installments, asOf), credit.set);
          emit.push(...credit.emit);
        }
        return { set, unset, accrual, emit, flows: credit ? credit.flows : [] };
      },
      /**
       * NEXT_DUE (SERVICING rule): the plan's credit balance pays what is due on `asOf`, oldest first,
       * in the allocation order; the money becomes the owner's (a CREDIT IN flow). HOLD: nothing.
       */
      async creditDue(this: any, plan: Plan, installments: Installment[], asOf: string) {
        if (!plan.creditBalance || money(plan.creditBalance).lte(ZERO)) return null;
        const rule: ServicingRule = await this.servicingRule(plan, asOf);
        if (rule.creditApplication !== "NEXT_DUE") return null;
        const applied = applyCredit(installments, plan.creditBalance, asOf, await this.allocationOrder(plan, asOf));
        if (!applied) return null;
        const at = this.clock.iso();
        const key = `${plan.planId}:${plan.version}`;
        const funderId = ownerOn(plan, asOf);
        const entries: CreditEntry[] = applied.allocations.map((a) => ({ kind: "APPLIED", source: key, amount: a.total, balance: "", at, period: a.period }));
        let balance = money(plan.creditBalance);
        for (const e of entries) e.balance = fmt((balance = balance.minus(e.amount)));
        const emit: Emit[] = [];
        const before = new Map(installments.map((x) => [x.period, x.status]));
        for (const inst of applied.installments) {
          if (inst.status === "PAID" && before.get(inst.period) !== "PAID") emit.push(["installment.paid", { planId: plan.planId, period: inst.period, tradeNo: `CREDIT-${key}`, paidTotal: inst.paidTotal }]);
        }
        return {
          installments: applied.installments,
          set: { creditBalance: applied.creditBalance, creditHeld: money(applied.creditBalance).gt(ZERO), credits: [...(plan.credits ?? []), ...entries].slice(-100) },
          emit,
          flows: [{ flowNo: flowNoOf("CA", key), amount: applied.applied, funderId, businessDate: asOf, source: "CREDIT", credit: "APPLY" as const }],
        };
      },
      /** Fields that follow from the installments: next due date, status, overdue summary, owner today. */
      derived(this: any, plan: Plan, installments: Installment[], today: string): Record<string, unknown> {
        const next = installments.find((i) => i.status !== "PAID");
        const summary = overdueSummary({ installments }, today);
        const settled = !next;
        return {
          installments,
          nextDueDate: next?.dueDate ?? null,
          status: settled ? "SETTLED" : plan.status,
          ...summary,
          funderId: ownerOn(plan, today),
        };
      },
      async servicingRule(this: any, plan: Plan, date: string): Promise<ServicingRule> {
        const r = await this.resolveRule("SERVICING", { bizType: plan.bizType, funderId: ownerOn(plan, date), productCode: plan.productCode }, date);
        return { ...DEFAULT_SERVICING, ...(r?.content ?? {}) };
      },
      async allocationOrder(this: any, plan: Plan, date: string) {
        const rule = await this.resolveRule("ALLOCATION", { bizType: plan.bizType, funderId: ownerOn(plan, date), productCode: plan.productCode }, date);
        return rule?.content?.order ?? DEFAULT_ALLOCATION_ORDER;
      },
      /** The settlement quote on `date` with fees projected to it, and the installments it was made on. */
      async quoteOn(this: any, plan: Plan, date: string): Promise<{ quote: SettlementQuote; installments: Installment[] }> {
        const { installments } = await this.accrued(plan, date);
        const rule = await this.servicingRule(plan, date);
        return { quote: settlementQuote(installments, plan.terms, date, rule), installments };
      },
      async prepaymentFigures(this: any, plan: Plan, today: string, principal: string) {
        const { installments }: PlanAccrual = await this.accrued(plan, today);
        const rule = await this.servicingRule(plan, today);
        const dueNow = dueAmount(installments, today);
        const fee = prepaymentFee(principal, rule);
        const remaining = installments.filter((i) => compareDates(i.dueDate, today) > 0).reduce((s, i) => s.plus(money(i.principal).minus(i.paidPrincipal)), ZERO);
        if (money(principal).gte(remaining)) {
          throw new DomainError("VALIDATION_ERROR", `principal must be below the remaining principal ${fmt(remaining)}; settle the plan to repay all of it`, { field: "principal", remaining: fmt(remaining) });
        }
        return { date: today, dueNow, principal, prepaymentFee: fee, total: fmt(money(dueNow).plus(principal).plus(fee)) };
      },
      withPaidFee(inst: Installment, fee: string): Installment {
        const f = money(fee);
        return { ...inst, fee: fmt(money(inst.fee).plus(f)), paidFee: fmt(money(inst.paidFee).plus(f)), total: fmt(money(inst.total).plus(f)), paidTotal: fmt(money(inst.paidTotal).plus(f)) };
      },
      /**
       * A repayment (a channel trade or an offline one) as a mutation: fees accrued through today
       * first, then a pending settlement it covers settles the plan, else the allocation order.
       */
      async repaymentMutation(this: any, plan: Plan, tradeNo: string, amount: string, source: string, opts: RepaymentOptions = {}): Promise<Mutation> {
        const today = this.clock.today();
        const pending = plan.pendingSettlement;
        if (pending && compareDates(pending.date, today) >= 0 && plan.status !== "SETTLED") {
          const { quote, installments } = await this.quoteOn(plan, today);
          if (money(amount).gte(money(quote.total))) {
            if (opts.allowOverpayment !== undefined) splitRepayment(quote.total, amount, opts.allowOverpayment);
            const m: Mutation = await this.settlementMutation(plan, installments, quote, tradeNo, amount, source, pending.settlementNo);
            m.unset = ["pendingSettlement"];
            m.event = { action: "SETTLED", ref: pending.settlementNo, details: { method: pending.method, tradeNo, amount } };
            this.creditSurplus(plan, m, tradeNo, m.result.surplus as string, opts);
            return m;
          }
        }
        const { installments, newlyOverdue }: PlanAccrual = await this.accrued(plan, today);
        // Offline: above what is owed (fees accrued through today) is refused unless allowed.
        if (opts.allowOverpayment !== undefined) splitRepayment(owedInAll(installments), amount, opts.allowOverpayment);
        const order = await this.allocationOrder(plan, today);
        const result = allocate(installments, amount, order);
        const next = applyAllocation(installments, result.allocations);
        const record = { amount, applied: result.applied, surplus: result.surplus, at: this.clock.iso(), source, funderId: ownerOn(plan, opts.businessDate ?? today) };
        const set = { ...this.derived(plan, next, today), [`appliedTrades.${tradeNo}`]: record };
        const emit: Emit[] = newlyOverdue.map((o) => ["installment.overdue", { planId: plan.planId, funderId: record.funderId, ...o }]);
        const before = new Map(installments.map((x) => [x.period, x.status]));
        for (const inst of next) {
          if (inst.status === "PAID" && before.get(inst.period) !== "PAID") emit.push(["installment.paid", { planId: plan.planId, period: inst.period, tradeNo, paidTotal: inst.paidTotal }]);
        }
        if (set.status === "SETTLED" && plan.status !== "SETTLED") emit.push(["plan.settled", { planId: plan.planId, tradeNo }]);
        const m: Mutation = { set, result: { changed: true, ...record, allocations: result.allocations }, emit };
        this.creditSurplus(plan, m, tradeNo, result.surplus, opts);
        return m;
      },
      /**
       * A surplus is the borrower's money: onto the plan's credit balance (with its source), out of the
       * owner's collections (a CREDIT OUT flow on the business date the money came in, so the
       * remittance pays only the applied part), and `plan.overpaid` through the plan's outbox. Once per
       * source: the caller's mutation is itself once per trade / repayment number.
       */
      creditSurplus(this: any, plan: Plan, m: Mutation, tradeNo: string, surplus: string, opts: RepaymentOptions): void {
        if (!money(surplus).gt(ZERO)) return;
        const today = this.clock.today();
        const businessDate = opts.businessDate ?? today;
        const funderId = ownerOn(plan, businessDate);
        const credit = addCredit(plan.creditBalance, plan.credits, { source: tradeNo, ...(opts.repaymentNo ? { repaymentNo: opts.repaymentNo } : {}), amount: surplus, at: this.clock.iso() });
        Object.assign(m.set, credit, { creditHeld: true });
        m.result = { ...m.result, creditBalance: credit.creditBalance };
        m.emit = [...(m.emit ?? []), ["plan.overpaid", { planId: plan.planId, source: tradeNo, ...(opts.repaymentNo ? { repaymentNo: opts.repaymentNo } : {}), amount: surplus, creditBalance: credit.creditBalance, funderId }]];
        const flow: FlowSpec = { flowNo: flowNoOf("CR", tradeNo), amount: surplus, funderId, businessDate, source: "CREDIT", credit: "HOLD" };
        m.flows = [...(m.flows ?? []), flow];
        // Kept with the trade: a replay of a channel trade (no operation record) writes a missing flow again.
        const key = `appliedTrades.${tradeNo}`;
        if (m.set[key]) m.set[key] = { ...(m.set[key] as object), creditFlow: flow };
      },
      async settlementMutation(this: any, plan: Plan, installments: Installment[], quote: SettlementQuote, tradeNo: string, amount: string, source: string, settlementNo: string): Promise<Mutation> {
        const today = this.clock.today();
        const restructured = restructureForSettlement(installments, quote);
        const result = allocate(restructured, amount, DEFAULT_ALLOCATION_ORDER);
        const next = applyAllocation(restructured, result.allocations);
        const at = this.clock.iso();
        const record = { amount, applied: result.applied, surplus: result.surplus, at, source, funderId: ownerOn(plan, today), settlementNo };
        return {
          set: { ...this.derived(plan, next, today), status: "SETTLED", settledAt: at, settlementNo, [`appliedTrades.${tradeNo}`]: record },
          result: { planId: plan.planId, status: "SETTLED", tradeNo, quote, ...record },
          revision: { reason: "SETTLEMENT", ref: settlementNo },
          emit: [["plan.settled", { planId: plan.planId, tradeNo, settlementNo, amount, quote }]],
        };
      },
    },
  } as Partial<ServiceSchema>;
}
