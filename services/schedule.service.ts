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
import { allocate, applyAllocation, DEFAULT_ALLOCATION_ORDER } from "../domain/allocation";
import { RulesCacheMixin } from "../mixins/rules-cache.mixin";
import type { Page } from "../contracts/common";
import {
  applyRepaymentParams,
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

export type PlanSummary = Omit<Plan, "installments" | "_id" | "terms" | "appliedTrades"> & {
  repaymentMethod: string;
  term: number;
  installmentCount: number;
  nextDueDate: string | null;
  nextDueAmount: string | null;
};

function withoutId(plan: Plan): Omit<Plan, "_id"> {

  const { _id, ...rest } = plan;
  return rest;
}

export default function scheduleService(cfg: Config): ServiceSchema {
  return {
    name: "schedule",
    mixins: [
      StoreMixin(
        {
          collection: "plans",
          indexes: [{ field: "orderId" }, { field: "partition" }, { field: "customerId" }], // none on low-cardinality fields (see ledger)
        },
        cfg,
      ),
      ClockMixin(cfg.timeZone),
      RulesCacheMixin(),
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
            { planId, orderId, source, orderNo, bizType, funderId, productCode, customerId, ...(bindingId ? { bindingId } : {}), terms },
            cfg.partitions,
            this.clock.iso(),
          );
          try {
            await this.store.insert(plan);
          } catch (err: any) {
            if (err?.code !== "DUPLICATE_KEY") throw err;
            // A concurrent create won the race: answer with its plan.
            return this.sameOrder(await this.store.findById(planId), ctx.params);
          }
          const event: PlanGeneratedEvent = {
            planId,
            orderId,
            partition: plan.partition,
            funderId,
            installments: plan.installments.length,
            total: plan.totals.total,
          };
          ctx.emit("plan.generated", event);
          return withoutId(plan);
        },
      },
      /** Plans of a partition with money due on or before `asOf` (a debit slot's work), in planId order. */
      dueWork: {
        visibility: "public",
        params: dueWorkParams,
        async handler(this: any, ctx: Context<DueWorkParams>): Promise<DueItem[]> {
          const { partition, asOf, limit = 1000, afterPlanId } = ctx.params;
          const query: Record<string, unknown> = { partition, status: "ACTIVE", nextDueDate: { $lte: asOf } };
          if (afterPlanId) query._id = { $gt: afterPlanId };
          const plans: Plan[] = await this.store.find(query, { sort: { _id: 1 }, limit });
          const out: DueItem[] = [];
          for (const plan of plans) {
            const scope = dueScope(plan, asOf);
            if (scope.periods.length === 0 || scope.amount === "0.00") continue;
            out.push({
              planId: plan.planId,
              partition: plan.partition,
              bizType: plan.bizType,
              funderId: plan.funderId,
              productCode: plan.productCode,
              customerId: plan.customerId,
              ...(plan.bindingId ? { bindingId: plan.bindingId } : {}),
              periods: scope.periods,
              amount: scope.amount,
            });
          }
          return out;
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
          for (let i = 0; i < 50; i++) {
            const plan: Plan | null = await this.store.findById(planId);
            if (!plan) throw new DomainError("NOT_FOUND", `Plan ${planId} not found`, { planId });
            const done = plan.appliedTrades?.[tradeNo];
            if (done) return { changed: false, ...done, plan: this.summary(plan) };
            const rule = await this.resolveRule("ALLOCATION", { bizType: plan.bizType, funderId: plan.funderId, productCode: plan.productCode }, this.clock.today());
            const order = rule?.content?.order ?? DEFAULT_ALLOCATION_ORDER;
            const result = allocate(plan.installments, amount, order);
            const installments = applyAllocation(plan.installments, result.allocations);
            const next = installments.find((x) => x.status !== "PAID");
            const settled = !next;
            const at = this.clock.iso();
            const record = { amount, applied: result.applied, surplus: result.surplus, at, source: ctx.params.source ?? "DEBIT" };
            const saved: Plan | null = await this.store.updateOne(
              { _id: planId, version: plan.version },
              {
                $set: {
                  installments,
                  nextDueDate: next?.dueDate ?? null,
                  status: settled ? "SETTLED" : plan.status,
                  version: plan.version + 1,
                  updatedAt: at,
                  [`appliedTrades.${tradeNo}`]: record,
                },
              },
            );
            if (!saved) continue; // changed under us: read again
            const before = new Map(plan.installments.map((x) => [x.period, x.status]));
            for (const inst of installments) {
              if (inst.status === "PAID" && before.get(inst.period) !== "PAID") {
                ctx.emit("installment.paid", { planId, period: inst.period, tradeNo, paidTotal: inst.paidTotal });
              }
            }
            if (settled) ctx.emit("plan.settled", { planId, tradeNo });
            return { changed: true, ...record, allocations: result.allocations, plan: this.summary(saved) };
          }
          throw new DomainError("VERSION_CONFLICT", `Plan ${planId} is too contended; try again`, { planId });
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
    methods: {
      sameOrder(this: any, plan: Plan, params: CreatePlanParams) {
        if (plan.orderId !== params.orderId) {
          throw new DomainError("DUPLICATE_KEY", `Plan ${plan.planId} belongs to another order`, { planId: plan.planId });
        }
        return withoutId(plan);
      },
      summary(plan: Plan): PlanSummary {
        const { installments, _id, terms, appliedTrades: _applied, ...rest } = plan;
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
