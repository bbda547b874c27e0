/**
 * fee-calculator — owns nothing (accruals live on the plan). Runs the daily overdue accrual on the
 * partitions this node holds, at the earliest `accrualTime` of the enabled FEE rules (default 01:00),
 * once per business day and at once after a start past that time (catch-up after downtime). Each
 * plan is accrued by `schedule.accrue`, idempotent per (installment, date): a run repeated the same
 * day changes nothing, a missed week is caught up date by date. The same pass ends pauses that ran
 * out and drops DEBIT settlements whose date passed.
 */
import type { Context, ServiceSchema } from "moleculer";
import { actorOf } from "../mixins/actor";
import type { Config } from "../config";
import { ClockMixin } from "../mixins/clock.mixin";
import { PartitionedJobs, type JobContext } from "../mixins/partitioned-jobs.mixin";
import { accrualRunParams, type AccrualRunParams } from "../contracts/servicing.contract";

const PAGE = 500;
const DEFAULT_ACCRUAL_TIME = "01:00";

export interface FeeCalculatorOptions {
  tickMs?: number;
  ttlMs?: number;
}

export default function feeCalculatorService(cfg: Config, opts: FeeCalculatorOptions = {}): ServiceSchema {
  return {
    name: "fee-calculator",
    mixins: [
      ClockMixin(cfg.timeZone),
      PartitionedJobs({ partitions: cfg.partitions, redisUrl: cfg.redisUrl, lockNamespace: cfg.storePrefix || undefined }, { tickMs: opts.tickMs ?? cfg.jobTickMs, ttlMs: opts.ttlMs ?? cfg.leaseTtlMs }),
    ],
    dependencies: ["schedule", "rules", "ledger"],
    settings: { rest: "/" },
    jobs: {
      accrual: {
        schedule: (svc: any) => svc.accrualDue(),
        retries: 2,
        concurrency: 4,
        async run(this: any, partition: number, ctx: JobContext) {
          return this.accruePartition(partition, ctx);
        },
      },
    },
    events: {
      "rules.changed": {
        handler(this: any, ctx: Context<{ kind: string }>) {
          if (ctx.params.kind === "FEE") this.accrualTime = null;
        },
      },
    },
    actions: {
      createAccrualRun: {
        rest: "POST /fees/accrual-runs",
        params: accrualRunParams,
        doc: { summary: "Run the overdue accrual now (every node its partitions); idempotent: the same day twice changes nothing. Returns the run", tags: ["fees"], role: "ops" },
        async handler(this: any, ctx: Context<AccrualRunParams>) {
          return this.runByHand("accrual", { prefix: "ACR", partitions: ctx.params.partitions, meta: { by: actorOf(ctx) } });
        },
      },
      /** Accrue the partitions this node holds now and wait (tests, REPL). */
      accrueNow: {
        visibility: "public",
        handler(this: any) {
          return this.runHeldNow((p: number) => this.accruePartition(p, { signal: new AbortController().signal }));
        },
      },
    },
    methods: {
      /** Due once per business day at the accrual time (earliest of the enabled FEE rules). */
      async accrualDue(this: any): Promise<boolean> {
        if (!this.accrualTime) {
          const page: any = await this.broker.call("rules.list", { kind: "FEE", pageSize: 500 });
          const times = page.rows.filter((r: any) => r.enabled).map((r: any) => r.content?.accrualTime ?? DEFAULT_ACCRUAL_TIME);
          this.accrualTime = times.sort()[0] ?? DEFAULT_ACCRUAL_TIME;
        }
        const today = this.clock.today();
        if (this.lastAccrualDay === today || this.clock.localTime() < this.accrualTime) return false;
        this.lastAccrualDay = today;
        return true;
      },
      async accruePartition(this: any, partition: number, ctx: Pick<JobContext, "signal">) {
        const today = this.clock.today();
        const counters: Record<string, number> = { processed: 0, changed: 0, entries: 0, failed: 0 };
        let after: string | undefined;
        for (;;) {
          if (ctx.signal.aborted) break;
          const ids: string[] = await this.broker.call("schedule.accrualCandidates", { partition, asOf: today, limit: PAGE, ...(after ? { afterPlanId: after } : {}) });
          for (const planId of ids) {
            try {
              const r: any = await this.broker.call("schedule.accrue", { planId, asOf: today });
              counters.processed++;
              if (r?.changed) counters.changed++;
              counters.entries += r?.entries ?? 0;
            } catch (err: any) {
              counters.failed++;
              this.logger.warn(`Accrual of plan ${planId} failed: ${err.message}`);
            }
          }
          if (ids.length < PAGE) break;
          after = ids[ids.length - 1];
        }
        return counters;
      },
    },
    created(this: any) {
      this.accrualTime = null;
      this.lastAccrualDay = null;
    },
  } as ServiceSchema;
}
