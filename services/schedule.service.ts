/**
 * schedule — owns plans (还款计划), installments inside the plan document. Generates plans from
 * order terms (idempotent per planId), previews schedules, serves plan queries.
 * Later issues add: due work per partition, repayments, pause/resume, settlement, reschedule.
 */
import type { Context, ServiceSchema } from "moleculer";
import type { Config } from "../config";
import { DomainError } from "../domain/errors";
import { generateSchedule } from "../domain/amortization";
import { buildPlan, nextDue, toPlanInput } from "../domain/plan";
import { pageWindow, type Page } from "../contracts/common";
import {
  createPlanParams,
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
import { StoreMixin } from "../mixins/store.mixin";
import { ClockMixin } from "../mixins/clock.mixin";

export type PlanSummary = Omit<Plan, "installments" | "_id" | "terms"> & {
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
          indexes: [{ field: "orderId" }, { field: "partition" }, { field: "customerId" }, { field: "funderId" }],
        },
        cfg,
      ),
      ClockMixin(cfg.timeZone),
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
          const { page, pageSize, skip } = pageWindow(ctx.params);
          const query: Record<string, unknown> = {};
          for (const f of ["funderId", "productCode", "bizType", "customerId", "status", "partition", "source"] as const) {
            if (ctx.params[f] !== undefined) query[f] = ctx.params[f];
          }
          const [rows, total] = await Promise.all([
            this.store.find(query, { sort: { createdAt: -1, _id: 1 }, skip, limit: pageSize }),
            this.store.count(query),
          ]);
          return { rows: rows.map((p: Plan) => this.summary(p)), total, page, pageSize, totalPages: Math.ceil(total / pageSize) };
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
         
        const { installments, _id, terms, ...rest } = plan;
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
