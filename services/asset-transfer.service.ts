/**
 * asset-transfer — owns transfers (资产转让), funders' payout accounts and remittances.
 *
 * A transfer moves the receivables of one or many plans to another funder from an effective date
 * at a price ratio. It is checked whole before anything is written (unknown plan, settled plan, the
 * same funder → 4xx, nothing written), then stored (unique transferNo; a replay with the same
 * content returns it, other content is OPERATION_CONFLICT) and each plan gets the new owner from the
 * date (`schedule.addOwner`, idempotent per transferNo). From the date on, trades and flows carry
 * the new owner and the FEE rule of each day is the one of that day's owner. Cancel is allowed
 * before the effective date. A crash between the steps is repaired by a replay or by the daily job,
 * which finishes PENDING plans.
 *
 * The daily job (on the holder of partition 0, at 02:00 business time, or by hand) makes due
 * transfers EFFECTIVE (`plan.transferred`) and remits: for each business date not yet remitted
 * (up to 7 days back) it sums the money collected per owner (ledger flows) and pays each owner
 * through a payout keyed `RMT-<date>-<funderId>` — idempotent, so a rerun never pays twice.
 */
import crypto from "node:crypto";
import type { Context, ServiceSchema } from "moleculer";
import { actorOf } from "../mixins/actor";
import type { Config } from "../config";
import { DomainError } from "../domain/errors";
import { addDays, compareDates } from "../domain/calendar";
import { fmt, money, ZERO } from "../domain/money";
import { ClockMixin } from "../mixins/clock.mixin";
import { findPage, StoreMixin } from "../mixins/store.mixin";
import { PartitionedJobs } from "../mixins/partitioned-jobs.mixin";
import { ownerOn } from "../domain/servicing";
import type { Plan } from "../contracts/schedule.contract";
import {
  cancelTransferParams,
  createTransferParams,
  listRemittancesParams,
  listTransfersParams,
  putFunderParams,
  remittanceRunParams,
  transferNoParams,
  type CancelTransferParams,
  type CreateTransferParams,
  type ListRemittancesParams,
  type ListTransfersParams,
  type PutFunderParams,
  type Remittance,
  type RemittanceRunParams,
  type Transfer,
  type TransferNoParams,
  type TransferPlan,
} from "../contracts/asset-transfer.contract";

const DAILY_TIME = "02:00";
const CATCH_UP_DAYS = 7;


function view<T extends { _id: string }>(doc: T): Omit<T, "_id"> {
  const { _id, fingerprint: _f, ...rest } = doc as T & { fingerprint?: string };
  return rest as Omit<T, "_id">;
}

function maskAccount<T extends { accountNo: string }>(f: T): T {
  return { ...f, accountNo: "****" + f.accountNo.slice(-4) };
}

export default function assetTransferService(cfg: Config): ServiceSchema {
  return {
    name: "asset-transfer",
    mixins: [
      StoreMixin({ collection: "transfers", indexes: [{ field: "effectiveDate" }], more: [{ collection: "funders" }, { collection: "remittances", indexes: [{ field: "date" }, { field: "status" }] }] }, cfg),
      ClockMixin(cfg.timeZone),
      PartitionedJobs({ partitions: cfg.partitions, redisUrl: cfg.redisUrl, lockNamespace: cfg.storePrefix || undefined }, { tickMs: cfg.jobTickMs, ttlMs: cfg.leaseTtlMs }),
    ],
    dependencies: ["schedule", "ledger"],
    settings: { rest: "/" },
    jobs: {
      daily: {
        schedule: (svc: any) => svc.dailyDue(),
        retries: 2,
        async run(this: any, partition: number) {
          if (partition !== 0) return { processed: 0 };
          return this.runDaily(this.clock.today());
        },
      },
    },
    actions: {
      create: {
        rest: "POST /transfers",
        params: createTransferParams,
        doc: { summary: "Transfer plans' receivables to another funder from a date at a price ratio (idempotent on transferNo)", tags: ["transfers"], role: "ops" },
        async handler(this: any, ctx: Context<CreateTransferParams>) {
          const p = ctx.params;
          if (money(p.priceRatio).eq(ZERO)) throw new DomainError("VALIDATION_ERROR", "priceRatio must be above 0", { field: "priceRatio" });
          const fp = crypto.createHash("sha256").update(JSON.stringify([p.planIds, p.toFunderId, p.effectiveDate, p.priceRatio])).digest("hex").slice(0, 16);
          const existing: Transfer | null = await this.store.findById(p.transferNo);
          if (existing) {
            if (existing.fingerprint !== fp) throw new DomainError("OPERATION_CONFLICT", `Transfer ${p.transferNo} was requested with other content`, { transferNo: p.transferNo });
            return view(await this.complete(existing));
          }
          const today = this.clock.today();
          if (compareDates(p.effectiveDate, today) < 0) throw new DomainError("VALIDATION_ERROR", "effectiveDate cannot be in the past", { field: "effectiveDate" });
          // Check every plan before writing anything.
          const plans: TransferPlan[] = [];
          for (const planId of p.planIds) {
            const plan: Plan = await ctx.call("schedule.get", { planId });
            if (plan.status === "SETTLED" || plan.status === "CANCELLED") throw new DomainError("PLAN_SETTLED", `Plan ${planId} is ${plan.status.toLowerCase()}`, { planId });
            const from = ownerOn(plan, p.effectiveDate);
            if (from === p.toFunderId) throw new DomainError("TRANSFER_SAME_FUNDER", `Plan ${planId} already belongs to ${p.toFunderId} on ${p.effectiveDate}`, { planId, funderId: from });
            const last = (plan.owners ?? []).at(-1);
            if (last && compareDates(last.from, p.effectiveDate) >= 0) {
              throw new DomainError("TRANSFER_STATE", `Plan ${planId} already has an owner change on or after ${p.effectiveDate}`, { planId, from: last.from });
            }
            plans.push({ planId, fromFunderId: from, status: "PENDING" });
          }
          const now = this.clock.iso();
          const transfer: Transfer = {
            _id: p.transferNo,
            transferNo: p.transferNo,
            toFunderId: p.toFunderId,
            effectiveDate: p.effectiveDate,
            priceRatio: p.priceRatio,
            status: "SCHEDULED",
            plans,
            totals: { plans: plans.length, remainingPrincipal: "0.00", price: "0.00" },
            ...(p.reason ? { reason: p.reason } : {}),
            fingerprint: fp,
            by: actorOf(ctx),
            history: [{ at: now, by: actorOf(ctx), action: "CREATED", ...(p.reason ? { reason: p.reason } : {}) }],
            version: 1,
            createdAt: now,
            updatedAt: now,
          };
          try {
            await this.store.insert(transfer);
          } catch (err: any) {
            if (err?.code !== "DUPLICATE_KEY") throw err;
            return this.actions.create(p, { parentCtx: ctx }); // a concurrent create won: answer as a replay
          }
          return view(await this.complete(transfer));
        },
      },
      get: {
        rest: "GET /transfers/:transferNo",
        params: transferNoParams,
        doc: { summary: "A transfer with its plans", tags: ["transfers"] },
        async handler(this: any, ctx: Context<TransferNoParams>) {
          return view(await this.transferOr404(ctx.params.transferNo));
        },
      },
      list: {
        rest: "GET /transfers",
        params: listTransfersParams,
        doc: { summary: "Transfers, newest first", tags: ["transfers"] },
        async handler(this: any, ctx: Context<ListTransfersParams>) {
          const q: Record<string, unknown> = {};
          if (ctx.params.status) q.status = ctx.params.status;
          if (ctx.params.toFunderId) q.toFunderId = ctx.params.toFunderId;
          return findPage(this.store, q, ctx.params, { createdAt: -1, _id: 1 }, (t: Transfer) => ({ ...view(t), plans: undefined, history: undefined, planCount: t.plans.length }));
        },
      },
      cancel: {
        rest: "POST /transfers/:transferNo/cancel",
        params: cancelTransferParams,
        doc: { summary: "Cancel a transfer before its effective date; audited", tags: ["transfers"], role: "ops" },
        async handler(this: any, ctx: Context<CancelTransferParams>) {
          const t: Transfer = await this.transferOr404(ctx.params.transferNo);
          if (t.status === "CANCELLED") return view(t);
          if (t.status !== "SCHEDULED" || compareDates(t.effectiveDate, this.clock.today()) <= 0) {
            throw new DomainError("TRANSFER_STATE", `Transfer ${t.transferNo} is in effect (from ${t.effectiveDate}) and cannot be cancelled`, { transferNo: t.transferNo, status: t.status });
          }
          // Mark first (no new plan gets the owner), then take the owner off each plan (idempotent).
          const now = this.clock.iso();
          const marked: Transfer | null = await this.store.updateOne(
            { _id: t._id, version: t.version, status: "SCHEDULED" },
            { $set: { status: "CANCELLED", version: t.version + 1, updatedAt: now, history: [...t.history, { at: now, by: actorOf(ctx), action: "CANCELLED", reason: ctx.params.reason }] } },
          );
          if (!marked) return this.actions.cancel(ctx.params, { parentCtx: ctx });
          return view(await this.complete(marked));
        },
      },
      putFunder: {
        rest: "PUT /funders/:funderId",
        params: putFunderParams,
        doc: { summary: "Register or change a funder's payout account (remittances pay it)", tags: ["transfers"], role: "admin" },
        async handler(this: any, ctx: Context<PutFunderParams>) {
          const p = ctx.params;
          const doc = { _id: p.funderId, funderId: p.funderId, name: p.name, accountNo: p.accountNo, accountName: p.accountName, updatedAt: this.clock.iso(), by: actorOf(ctx) };
          const saved = await this.stores.funders.updateOne({ _id: p.funderId }, { $set: doc });
          if (!saved) {
            await this.stores.funders.insert(doc).catch(async (err: any) => {
              if (err?.code !== "DUPLICATE_KEY") throw err;
              await this.stores.funders.updateOne({ _id: p.funderId }, { $set: doc });
            });
          }
          this.logger.info(`Funder ${p.funderId} account set by ${doc.by}`);
          return maskAccount(view(doc));
        },
      },
      funders: {
        rest: "GET /funders",
        doc: { summary: "Funders with payout accounts (masked)", tags: ["transfers"] },
        async handler(this: any) {
          const rows = await this.stores.funders.find({}, { sort: { _id: 1 } });
          return rows.map((f: any) => maskAccount(view(f) as { accountNo: string }));
        },
      },
      remittances: {
        rest: "GET /remittances",
        params: listRemittancesParams,
        doc: { summary: "Daily remittances: what each owner was paid for a day's collections", tags: ["transfers"] },
        async handler(this: any, ctx: Context<ListRemittancesParams>) {
          const q: Record<string, unknown> = {};
          if (ctx.params.date) q.date = ctx.params.date;
          if (ctx.params.funderId) q.funderId = ctx.params.funderId;
          return findPage(this.stores.remittances, q, ctx.params, { date: -1, funderId: 1 }, (r: Remittance) => view(r));
        },
      },
      runDaily: {
        rest: "POST /remittances/runs",
        params: remittanceRunParams,
        doc: { summary: "Run the daily transfer activation and remittance now (for a past date, default yesterday); idempotent", tags: ["transfers"], role: "ops" },
        async handler(this: any, ctx: Context<RemittanceRunParams>) {
          const today = this.clock.today();
          if (ctx.params.date && compareDates(ctx.params.date, today) >= 0) throw new DomainError("VALIDATION_ERROR", "date must be before today (a day's collections are remitted after it ends)", { field: "date" });
          return this.runDaily(today, ctx.params.date);
        },
      },
    },
    methods: {
      async transferOr404(this: any, transferNo: string): Promise<Transfer> {
        const t: Transfer | null = await this.store.findById(transferNo);
        if (!t) throw new DomainError("NOT_FOUND", `Transfer ${transferNo} not found`, { transferNo });
        return t;
      },
      /**
       * Bring each plan of the transfer to where the transfer's status says it should be: owner added
       * (SCHEDULED), owner in force (EFFECTIVE on/after the date), owner removed (CANCELLED).
       */
      async complete(this: any, t: Transfer): Promise<Transfer> {
        const today = this.clock.today();
        const effective = t.status !== "CANCELLED" && compareDates(t.effectiveDate, today) <= 0;
        const plans: TransferPlan[] = [];
        for (const tp of t.plans) {
          let next = tp;
          if (t.status === "CANCELLED") {
            if (tp.status !== "REMOVED") {
              await this.broker.call("schedule.removeOwner", { planId: tp.planId, transferNo: t.transferNo });
              next = { ...tp, status: "REMOVED" };
            }
          } else {
            if (tp.status === "PENDING") {
              const r: any = await this.broker.call("schedule.addOwner", { planId: tp.planId, transferNo: t.transferNo, toFunderId: t.toFunderId, from: t.effectiveDate, priceRatio: t.priceRatio, fromFunderId: tp.fromFunderId });
              next = { ...tp, status: "ADDED", remainingPrincipal: r.remainingPrincipal, price: r.price };
            }
            if (effective && next.status === "ADDED") {
              await this.broker.call("schedule.refreshOwner", { planId: tp.planId, transferNo: t.transferNo });
              next = { ...next, status: "EFFECTIVE" };
            }
          }
          plans.push(next);
        }
        const status = t.status === "SCHEDULED" && effective ? "EFFECTIVE" : t.status;
        const totals = {
          plans: plans.length,
          remainingPrincipal: fmt(plans.reduce((s, x) => s.plus(x.remainingPrincipal ?? "0"), ZERO)),
          price: fmt(plans.reduce((s, x) => s.plus(x.price ?? "0"), ZERO)),
        };
        if (status === t.status && plans.every((x, i) => x.status === t.plans[i].status)) return t;
        const now = this.clock.iso();
        // Not capped: an entry is added only when the status changes, and SCHEDULED → EFFECTIVE | CANCELLED
        // is the whole machine (both final), so a transfer's history holds at most two entries.
        const history = status !== t.status ? [...t.history, { at: now, by: "system", action: status }] : t.history;
        const saved: Transfer | null = await this.store.updateOne({ _id: t._id, version: t.version }, { $set: { plans, status, totals, history, version: t.version + 1, updatedAt: now } });
        return saved ?? this.complete(await this.transferOr404(t.transferNo));
      },
      dailyDue(this: any): boolean {
        const today = this.clock.today();
        if (this.lastDaily === today || this.clock.localTime() < DAILY_TIME) return false;
        this.lastDaily = today;
        return true;
      },
      /** Activate due transfers, finish interrupted ones, remit the last days' collections. */
      async runDaily(this: any, today: string, onlyDate?: string) {
        const counters: Record<string, number> = { processed: 0, transfers: 0, remittances: 0, paid: 0, held: 0, failed: 0 };
        const open: Transfer[] = await this.store.find({ status: "SCHEDULED" });
        for (const t of open) {
          const done = await this.complete(t);
          if (done.status !== t.status) counters.transfers++;
          counters.processed++;
        }
        const dates = onlyDate ? [onlyDate] : Array.from({ length: CATCH_UP_DAYS }, (_, i) => addDays(today, -(CATCH_UP_DAYS - i)));
        const count = (r: Remittance) => {
          counters.remittances++;
          if (r.status === "PAID") counters.paid++;
          else if (r.status === "HELD") counters.held++;
          else if (r.status === "FAILED") counters.failed++;
        };
        for (const date of dates) for (const r of await this.remit(date)) count(r);
        if (!onlyDate) {
          // Older remittances not paid yet (HELD for want of an account, or FAILED): tried again every day until paid.
          const older: Remittance[] = await this.stores.remittances.find({ status: { $in: ["HELD", "FAILED"] }, date: { $lt: dates[0] } }, { sort: { date: 1, _id: 1 } });
          for (const r of older) count(await this.payRemittance(r));
        }
        await this.alertHeld(today);
        return counters;
      },
      /** Pay each owner the money collected for it on `date` (one payout per date and owner). */
      async remit(this: any, date: string): Promise<Remittance[]> {
        const collected: Array<{ funderId: string; amount: string; flows: number }> = await this.broker.call("ledger.collected", { businessDate: date });
        const out: Remittance[] = [];
        for (const c of collected) {
          if (c.funderId === "UNATTRIBUTED" || money(c.amount).eq(ZERO)) continue;
          const id = `RMT-${date.replace(/-/g, "")}-${c.funderId}`.slice(0, 64);
          let r: Remittance | null = await this.stores.remittances.findById(id);
          const now = this.clock.iso();
          if (!r) {
            r = { _id: id, remittanceNo: id, date, funderId: c.funderId, amount: c.amount, flows: c.flows, status: "PENDING", attempts: 0, createdAt: now, updatedAt: now };
            await this.stores.remittances.insert(r).catch((err: any) => {
              if (err?.code !== "DUPLICATE_KEY") throw err;
            });
            r = (await this.stores.remittances.findById(id)) as Remittance;
          }
          out.push(r.status === "PAID" ? r : await this.payRemittance(r));
        }
        return out;
      },
      /**
       * Pay a remittance. The payout number is the remittance's until a payout ends FAILED (nothing
       * moved): then the next attempt gets a new number (`-R<n>`), since a payout is idempotent on it.
       */
      async payRemittance(this: any, r: Remittance): Promise<Remittance> {
        const funder = await this.stores.funders.findById(r.funderId);
        const now = this.clock.iso();
        let set: Partial<Remittance>;
        const payoutNo = r.status === "FAILED" && r.payoutStatus && r.payoutNo ? `${r.remittanceNo}-R${r.attempts}`.slice(0, 64) : (r.payoutNo ?? r.remittanceNo);
        if (!funder) {
          set = { status: "HELD", error: "No payout account registered for this funder (PUT /funders/:funderId)" };
        } else {
          try {
            const res: any = await this.broker.call("deduction-executor.createPayout", {
              payoutNo,
              amount: r.amount,
              beneficiary: { accountNo: funder.accountNo, accountName: funder.accountName, funderId: r.funderId },
              purpose: `Remittance of collections on ${r.date}`,
            });
            const status = res.status === "SUCCEEDED" ? "PAID" : res.status === "FAILED" || res.status === "NO_CHANNEL" ? "FAILED" : "SENT";
            set = { status, payoutNo, payoutStatus: res.status, ...(status === "FAILED" ? { error: `payout ${res.status}` } : {}) };
          } catch (err: any) {
            // Refused before anything was sent (e.g. POSITION_INSUFFICIENT): the same number is tried again.
            set = { status: "FAILED", payoutNo, error: err?.code ? `${err.code}: ${err.message}` : String(err?.message ?? err) };
          }
        }
        const update: Record<string, unknown> = { $set: { ...set, attempts: r.attempts + 1, updatedAt: now } };
        if (set.status === "FAILED" && !set.payoutStatus) update.$unset = { payoutStatus: true };
        const saved = await this.stores.remittances.updateOne({ _id: r._id, attempts: r.attempts }, update);
        return (saved ?? (await this.stores.remittances.findById(r._id))) as Remittance;
      },
      /** Alert every remittance HELD for HELD_REMITTANCE_ALERT_DAYS days or more (once per day and remittance; the alert dedupes). */
      async alertHeld(this: any, today: string) {
        const before = addDays(today, -cfg.heldRemittanceAlertDays);
        const held: Remittance[] = await this.stores.remittances.find({ status: "HELD", date: { $lte: before } }, { sort: { date: 1, _id: 1 }, limit: 1000 });
        for (const r of held) {
          this.broker.emit("ops.alert", {
            kind: "HELD_REMITTANCE",
            message: `Remittance ${r.remittanceNo} of ${r.amount} to ${r.funderId} (collections of ${r.date}) is held: ${r.error ?? "not paid"}`,
            remittanceId: r._id,
            funderId: r.funderId,
            amount: r.amount,
            date: r.date,
          });
        }
      },
    },
    created(this: any) {
      this.lastDaily = null;
    },
  } as ServiceSchema;
}
