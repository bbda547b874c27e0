/**
 * schedule — owns plans (还款计划), installments inside the plan document. Generates plans from
 * order terms (idempotent per planId), previews schedules, serves plan queries.
 * Later issues add: due work per partition, repayments, pause/resume, settlement, reschedule.
 */
import type { Context, ServiceSchema } from "moleculer";
import type { Config } from "../config";
import { DomainError } from "../domain/errors";
import { generateSchedule } from "../domain/amortization";
import { buildPlan, dueScope, nextDue, toPlanInput } from "../domain/plan";
import { RulesCacheMixin } from "../mixins/rules-cache.mixin";
import type { Page } from "../contracts/common";
import {
  applyRepaymentParams,
  collectScopeParams,
  type CollectScopeParams,
  createPlanParams,
  dueWorkParams,
  type ApplyRepaymentParams,
  type DueItem,
  type DueWorkParams,
  getPlanParams,
  listPlansParams,
  previewParams,
  type CreatePlanParams,
  type GetPlanParams,
  type ListPlansParams,
  type Plan,
  type PlanGeneratedEvent,
  type PreviewParams,
} from "../contracts/schedule.contract";
import { findPage, StoreMixin } from "../mixins/store.mixin";
import { ClockMixin } from "../mixins/clock.mixin";
import { ScheduleServicing, type Mutation } from "./schedule.servicing";
import { OUTBOX_INDEX, OutboxMixin } from "../mixins/messaging/outbox.mixin";
import { ownerOn } from "../domain/servicing";
import { owedInAll } from "../domain/credit";
import { fmt, money, ZERO } from "../domain/money";

export type PlanSummary = Omit<Plan, "installments" | "_id" | "terms" | "appliedTrades" | "operations" | "events" | "outbox"> & {
  repaymentMethod: string;
  term: number;
  installmentCount: number;
  nextDueDate: string | null;
  nextDueAmount: string | null;
};

function withoutId(plan: Plan): Omit<Plan, "_id"> {
  const { _id, outbox: _outbox, ...rest } = plan;
  return rest;
}

/** What a debit works on for this plan and scope, or null when nothing is due. */
function dueItemOf(plan: Plan, scope: { periods: number[]; amount: string }, asOf: string): DueItem | null {
  if (scope.periods.length === 0 || scope.amount === "0.00") return null;
  return {
    planId: plan.planId,
    partition: plan.partition,
    bizType: plan.bizType,
    funderId: ownerOn(plan, asOf),
    productCode: plan.productCode,
    customerId: plan.customerId,
    ...(plan.bindingId ? { bindingId: plan.bindingId } : {}),
    periods: scope.periods,
    amount: scope.amount,
  };
}

export default function scheduleService(cfg: Config): ServiceSchema {
  return {
    name: "schedule",
    mixins: [
      StoreMixin(
        {
          collection: "plans",
          indexes: [
            // Both stores; none on low-cardinality fields alone (see the ledger).
            { field: "orderId" },
            { field: "partition" },
            { field: "customerId" },
            OUTBOX_INDEX,
            // MongoDB only.
            { fields: { partition: 1, status: 1, nextDueDate: 1 } }, // a partition's due work: debit slots, reminders, accrual candidates
            { fields: { overdueDays: -1, _id: 1 }, partial: { overdueDays: { $gt: 0 } }, name: "overdue_list" }, // GET /overdue: overdue plans only, in the list's order
            { fields: { createdAt: -1, _id: 1 } }, // GET /plans, newest first
          ],
          more: [{ collection: "planRevisions", indexes: [{ field: "planId" }] }],
        },
        cfg,
      ),
      ClockMixin(cfg.timeZone),
      RulesCacheMixin(),
      ScheduleServicing(),
      OutboxMixin({ collections: ["plans"], flushMs: cfg.outboxFlushMs, sweepMs: cfg.outboxSweepMs }),
    ],
    settings: { rest: "/" },
    actions: {
      preview: {
        rest: "POST /plans/preview",
        params: previewParams,
        doc: { summary: "Compute a repayment schedule without saving anything", tags: ["plans"], role: "viewer" },
        handler(ctx: Context<PreviewParams>) {
          return generateSchedule(toPlanInput(ctx.params));
        },
      },
      /** Idempotent on planId: a repeat returns the stored plan. Called by order-sync. */
      create: {
        visibility: "public",
        params: createPlanParams,
        async handler(this: any, ctx: Context<CreatePlanParams>): Promise<Omit<Plan, "_id">> {
          const existing: Plan | null = await this.store.findById(ctx.params.planId);
          if (existing) return this.sameOrder(existing, ctx.params);

          const { planId, orderId, source, orderNo, bizType, funderId, productCode, customerId, bindingId, ...terms } = ctx.params;
          const plan = buildPlan(
            { planId, orderId, source, orderNo, bizType, funderId, productCode, customerId, ...(bindingId ? { bindingId } : {}), terms, owners: [{ funderId, from: terms.startDate }] },
            cfg.partitions,
            this.clock.iso(),
          );
          const event: PlanGeneratedEvent = {
            planId,
            orderId,
            partition: plan.partition,
            funderId,
            installments: plan.installments.length,
            total: plan.totals.total,
          };
          plan.outbox = [this.outboxEntry("plan.generated", planId, event)];
          try {
            await this.store.insert(plan);
          } catch (err: any) {
            if (err?.code !== "DUPLICATE_KEY") throw err;
            // A concurrent create won the race: answer with its plan.
            return this.sameOrder(await this.store.findById(planId), ctx.params);
          }
          this.outboxWritten("plans", planId, plan);
          return withoutId(plan);
        },
      },
      /** Plans of a partition with money due on or before `asOf` (a debit slot's work), in planId order. */
      dueWork: {
        visibility: "public",
        params: dueWorkParams,
        async handler(this: any, ctx: Context<DueWorkParams>): Promise<DueItem[]> {
          const { partition, asOf, limit = 1000, afterPlanId } = ctx.params;
          // Due by the schedule, or a DEBIT settlement asked for today (its date is the only day it is collected).
          const query: Record<string, unknown> = { partition, status: "ACTIVE", $or: [{ nextDueDate: { $lte: asOf } }, { "pendingSettlement.date": asOf }] };
          if (afterPlanId) query._id = { $gt: afterPlanId };
          const plans: Plan[] = await this.store.find(query, { sort: { _id: 1 }, limit });
          const out: DueItem[] = [];
          for (const plan of plans) {
            const settling = plan.pendingSettlement?.method === "DEBIT" && plan.pendingSettlement.date === asOf;
            const scope = settling
              ? { periods: plan.installments.filter((i) => i.status !== "PAID").map((i) => i.period), amount: plan.pendingSettlement!.amount }
              : dueScope(plan, asOf);
            const item = dueItemOf(plan, scope, asOf);
            if (item) out.push(item);
          }
          return out;
        },
      },
      /**
       * What "collect this plan now" debits (deduction-executor.collectNow): what is due on `asOf`,
       * or `amount` up to everything owed (the allocation order then pays later installments too).
       * Null when nothing is due. Only an ACTIVE plan is collected.
       */
      collectScope: {
        visibility: "public",
        params: collectScopeParams,
        async handler(this: any, ctx: Context<CollectScopeParams>): Promise<DueItem | null> {
          const { planId, asOf, amount } = ctx.params;
          const plan: Plan | null = await this.store.findById(planId);
          if (!plan) throw new DomainError("NOT_FOUND", `Plan ${planId} not found`, { planId });
          if (plan.status !== "ACTIVE") throw new DomainError("PLAN_STATE", `Plan ${planId} is ${plan.status}: nothing is collected`, { planId, status: plan.status });
          let scope: { periods: number[]; amount: string };
          if (amount !== undefined) {
            const owed = owedInAll(plan.installments);
            if (money(amount).lte(ZERO)) throw new DomainError("VALIDATION_ERROR", "amount must be above zero", { field: "amount" });
            if (money(amount).gt(owed)) throw new DomainError("OVERPAYMENT", `Plan ${planId} owes ${fmt(owed)}: collect at most that`, { field: "amount", owed: fmt(owed) });
            scope = { periods: plan.installments.filter((i) => i.status !== "PAID").map((i) => i.period), amount };
          } else {
            scope = dueScope(plan, asOf);
          }
          return dueItemOf(plan, scope, asOf);
        },
      },
      /**
       * Apply a repayment to a plan in the allocation order from rules. Idempotent per trade: the trade
       * number is recorded in the same compare-and-set update that changes the installments.
       */
      applyRepayment: {
        visibility: "public",
        params: applyRepaymentParams,
        async handler(this: any, ctx: Context<ApplyRepaymentParams>) {
          const { planId, tradeNo, amount } = ctx.params;
          const answer = (plan: Plan, done: Plan["appliedTrades"][string]) => ({ changed: false, ...done, plan: this.summary(plan) });
          const res = await this.mutate(ctx, planId, null, async (plan: Plan) => {
            const done = plan.appliedTrades?.[tradeNo];
            // A crash between the plan and its credit flow: the replay writes the flow (once, by its number).
            if (done) return { noop: answer(plan, done), flows: done.creditFlow ? [done.creditFlow] : [] };
            const m: Mutation = await this.repaymentMutation(plan, tradeNo, amount, ctx.params.source ?? "DEBIT");
            return m;
          });
          if (res.changed === false) return res;
          return { ...res, plan: this.summary(await this.store.findById(planId)) };
        },
      },
      get: {
        rest: "GET /plans/:planId",
        params: getPlanParams,
        doc: { summary: "A plan with its installments", tags: ["plans"] },
        async handler(this: any, ctx: Context<GetPlanParams>) {
          const plan: Plan | null = await this.store.findById(ctx.params.planId);
          if (!plan) throw new DomainError("NOT_FOUND", `Plan ${ctx.params.planId} not found`, { planId: ctx.params.planId });
          return withoutId(plan);
        },
      },
      list: {
        rest: "GET /plans",
        params: listPlansParams,
        doc: { summary: "Plans, filtered and paged (summaries without installments)", tags: ["plans"] },
        async handler(this: any, ctx: Context<ListPlansParams>): Promise<Page<PlanSummary>> {
          const query: Record<string, unknown> = {};
          for (const f of ["funderId", "productCode", "bizType", "customerId", "status", "partition", "source"] as const) {
            if (ctx.params[f] !== undefined) query[f] = ctx.params[f];
          }
          return findPage(this.store, query, ctx.params, { createdAt: -1, _id: 1 }, (p: Plan) => this.summary(p));
        },
      },
    },
    async onStoreReady(this: any) {
      const n = await this.backfillOverdueCents().catch((err: Error) => {
        this.logger.warn(`Overdue cents keys not backfilled at start (the overdue list's amount filter misses those plans until their next write): ${err.message}`);
        return 0;
      });
      if (n) this.logger.info(`Overdue cents key set on ${n} plan(s) written before it existed`);
    },
    methods: {
      sameOrder(this: any, plan: Plan, params: CreatePlanParams) {
        if (plan.orderId !== params.orderId) {
          throw new DomainError("DUPLICATE_KEY", `Plan ${plan.planId} belongs to another order`, { planId: plan.planId });
        }
        return withoutId(plan);
      },
      summary(plan: Plan): PlanSummary {
        const { installments, _id, terms, appliedTrades: _applied, operations: _ops, events: _events, outbox: _outbox, ...rest } = plan;
        const next = nextDue(plan);
        return {
          ...rest,
          repaymentMethod: terms.repaymentMethod,
          term: terms.term,
          installmentCount: installments.length,
          nextDueDate: next?.dueDate ?? null,
          nextDueAmount: next?.outstanding ?? null,
        };
      },
    },
  } as ServiceSchema;
}
