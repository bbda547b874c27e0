/**
 * A deterministic fault simulation of the debit and payout flows (in the style of TigerBeetle's VOPR
 * and FoundationDB's simulation): the real flows (domain/debit-flow.ts) and the real ledger rules
 * (domain/ledger-core.ts) over the real embedded store (NeDB, in memory: unique keys,
 * compare-and-set), several executors and sweepers interleaved by a seeded scheduler, a bank model
 * that keeps a real bank's rules (idempotent by trade number, honours the request's expiry, settles
 * PROCESSING later, answers queries), and a fault injector between them.
 *
 * One seed = one run: every choice (interleaving, clock jumps, faults, bank answers) is drawn from the
 * seed, and nothing reads the real clock, so a failing seed replays exactly.
 */
import Datastore from "@seald-io/nedb";
import type { PaymentChannel, PaymentOutcome, QueryOutcome, DebitRequest, PayoutRequest, Capability } from "../../channels/channel";
import { mulberry32, hash32 } from "../../channels/sim/random";
import { debitPlan, finishSteps, payout, repairTrades, type ChannelSettingsContent, type FlowPorts, type FlowTimings, type TradeLike } from "../../domain/debit-flow";
import { LedgerCore } from "../../domain/ledger-core";
import { fmt, money, ZERO } from "../../domain/money";
import type { Store } from "../../domain/store";
import { NedbStore } from "../../mixins/store.mixin";
import type { Flow, Position, Trade } from "../../contracts/ledger.contract";

// ---------------------------------------------------------------------------------------------
// Randomness and the scheduler

export class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(hash32(`sim|${seed}`));
  }
  float(): number {
    return this.next();
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
}

export class SimCrash extends Error {
  constructor(where: string) {
    super(`simulated crash: ${where}`);
    this.name = "SimCrash";
  }
}

interface Waiter {
  actor: string;
  notBefore: number;
  resume: () => void;
}

/**
 * Cooperative scheduler: every port call and store write is a yield point; exactly one actor runs
 * between two yield points, chosen by the seed. An actor may be paused (a GC pause, a stopped VM):
 * it is not resumed before the simulated clock passes `notBefore`.
 */
export class Scheduler {
  nowMs: number;
  private waiting: Waiter[] = [];
  private live = 0;
  private active = 0;
  steps = 0;
  readonly log: string[] = [];
  constructor(
    private readonly rng: Rng,
    startMs: number,
    private readonly opts: { pauseChance: number; maxPauseMs: number; jumpChance: number },
  ) {
    this.nowMs = startMs;
  }

  /** A yield point of `actor`. */
  yield(actor: string, pausable = true): Promise<void> {
    const pause = pausable && this.rng.chance(this.opts.pauseChance) ? 1 + this.rng.int(this.opts.maxPauseMs) : 0;
    if (pause) this.log.push(`${this.nowMs} pause ${actor} ${pause}ms`);
    return this.yieldUntil(actor, this.nowMs + pause);
  }

  /** Wait, without spinning, until the simulated clock reaches `at`. */
  yieldUntil(actor: string, at: number): Promise<void> {
    this.active--;
    return new Promise((resume) =>
      this.waiting.push({
        actor,
        notBefore: at,
        resume: () => {
          this.active++;
          resume();
        },
      }),
    );
  }

  spawn(actor: string, fn: () => Promise<unknown>, onError: (err: unknown) => void): void {
    this.live++;
    this.waiting.push({
      actor,
      notBefore: this.nowMs,
      resume: () => {
        this.active++;
        fn()
          .catch(onError)
          .finally(() => {
            this.active--;
            this.live--;
          });
      },
    });
  }

  /** Run until every spawned actor has finished. */
  async run(maxSteps = 200_000): Promise<void> {
    for (;;) {
      await this.quiesce();
      if (this.live === 0 && this.waiting.length === 0) return;
      if (++this.steps > maxSteps) throw new Error(`scheduler: more than ${maxSteps} steps (livelock?)`);
      let ready = this.waiting.filter((w) => w.notBefore <= this.nowMs);
      if (!ready.length || this.rng.chance(this.opts.jumpChance)) {
        const next = Math.min(...this.waiting.map((w) => w.notBefore));
        this.nowMs = Math.max(this.nowMs, next) + this.rng.int(2000);
        ready = this.waiting.filter((w) => w.notBefore <= this.nowMs);
      }
      const w = this.rng.pick(ready);
      this.waiting.splice(this.waiting.indexOf(w), 1);
      this.nowMs += this.rng.int(50);
      w.resume();
    }
  }

  /** Let the running actor reach its next yield point (NeDB answers through the event loop). */
  private async quiesce(): Promise<void> {
    for (let i = 0; this.active > 0; i++) {
      if (i > 100_000) throw new Error("scheduler: an actor never yielded");
      await new Promise((r) => setImmediate(r));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Faults

export interface Faults {
  /** Before a store write: "FAIL" (nothing written), after it: "CRASH" (written, the caller dies). `args` are the write's (query, update) or document. */
  storeWrite(op: string, collection: string, args: readonly unknown[]): "FAIL_BEFORE" | "CRASH_AFTER" | null;
  /** A debit or payout on its way to the bank. */
  send(tradeNo: string): "REFUSED" | "LOST" | "TIMEOUT_AFTER" | "DELAYED" | "DUPLICATED" | null;
  /** A query on its way to the bank; WRONG_AMOUNT: a SUCCESS answer names another amount (a bank's bug, a mix-up). */
  query(tradeNo: string): "REFUSED" | "TIMEOUT" | "WRONG_AMOUNT" | null;
  /** Delay of a DELAYED request (ms of simulated time). */
  delayMs(): number;
  /** Is the bank in an outage (maintenance) now? */
  outage(bank: string, nowMs: number): boolean;
}

export const NO_FAULTS: Faults = {
  storeWrite: () => null,
  send: () => null,
  query: () => null,
  delayMs: () => 0,
  outage: () => false,
};

export interface FaultRates {
  storeFail: number;
  storeCrash: number;
  refused: number;
  lost: number;
  timeoutAfter: number;
  delayed: number;
  duplicated: number;
  queryRefused: number;
  queryTimeout: number;
  queryWrongAmount: number;
  maxDelayMs: number;
  outageWindows: number;
}

export function randomFaults(rng: Rng, rates: FaultRates, startMs: number, spanMs: number, banks: readonly string[]): Faults {
  const windows = Array.from({ length: rates.outageWindows }, () => {
    const from = startMs + rng.int(spanMs);
    return { bank: rng.pick(banks), from, to: from + 30_000 + rng.int(600_000) };
  });
  return {
    storeWrite: () => (rng.chance(rates.storeFail) ? "FAIL_BEFORE" : rng.chance(rates.storeCrash) ? "CRASH_AFTER" : null),
    send: () => {
      const x = rng.float();
      let acc = rates.refused;
      if (x < acc) return "REFUSED";
      if (x < (acc += rates.lost)) return "LOST";
      if (x < (acc += rates.timeoutAfter)) return "TIMEOUT_AFTER";
      if (x < (acc += rates.delayed)) return "DELAYED";
      if (x < (acc += rates.duplicated)) return "DUPLICATED";
      return null;
    },
    query: () => (rng.chance(rates.queryRefused) ? "REFUSED" : rng.chance(rates.queryTimeout) ? "TIMEOUT" : rng.chance(rates.queryWrongAmount) ? "WRONG_AMOUNT" : null),
    delayMs: () => rng.int(rates.maxDelayMs),
    outage: (bank, nowMs) => windows.some((w) => w.bank === bank && nowMs >= w.from && nowMs < w.to),
  };
}

// ---------------------------------------------------------------------------------------------
// The bank model: what really happened to the money

export interface BankTrade {
  tradeNo: string;
  kind: "DEBIT" | "PAYOUT";
  amount: string;
  account: string;
  status: "SUCCESS" | "FAILED" | "PROCESSING";
  settleAt: number;
  settleTo: "SUCCESS" | "FAILED";
  /** Times the bank received the request (duplicates are answered from the first). */
  received: number;
}

export class SimBank {
  readonly trades = new Map<string, BankTrade>();
  /** Trade numbers refused as expired: never acted on later. */
  readonly expired = new Set<string>();
  readonly balances = new Map<string, string>();
  constructor(
    readonly code: string,
    private readonly rng: Rng,
    private readonly clock: () => number,
    /** A bank that ignores the request's expiry (to prove late successes are recorded, not lost). */
    private readonly ignoresExpiry = false,
    private readonly rates = { success: 0.8, borrowerDecline: 0.08, processing: 0.1 },
  ) {}

  receive(kind: "DEBIT" | "PAYOUT", req: { tradeNo: string; amount: string; expiresAt: string; account: string }): PaymentOutcome {
    const now = this.clock();
    const known = this.trades.get(req.tradeNo);
    if (known) {
      known.received++;
      return this.answer(this.settle(known));
    }
    if (this.expired.has(req.tradeNo) || (!this.ignoresExpiry && now > Date.parse(req.expiresAt))) {
      this.expired.add(req.tradeNo);
      return { status: "DECLINED", reason: "EXPIRED", side: "CHANNEL", bankCode: "EXPIRED", message: "order expired" };
    }
    const x = this.rng.float();
    const balance = money(this.balances.get(req.account) ?? "100000.00");
    let status: BankTrade["status"];
    let settleTo: BankTrade["settleTo"] = "SUCCESS";
    if (kind === "DEBIT" && (x < this.rates.borrowerDecline || balance.lt(money(req.amount)))) {
      return { status: "DECLINED", reason: "INSUFFICIENT_BALANCE", side: "BORROWER", bankCode: "NSF", message: "insufficient balance" };
    } else if (x < this.rates.borrowerDecline + this.rates.processing) {
      status = "PROCESSING";
      settleTo = this.rng.chance(0.8) ? "SUCCESS" : "FAILED";
    } else if (x < this.rates.borrowerDecline + this.rates.processing + this.rates.success) {
      status = "SUCCESS";
    } else {
      return { status: "DECLINED", reason: "CHANNEL_ERROR", side: "CHANNEL", bankCode: "ERR", message: "channel error" };
    }
    const t: BankTrade = { tradeNo: req.tradeNo, kind, amount: req.amount, account: req.account, status, settleAt: now + this.rng.int(900_000), settleTo, received: 1 };
    this.trades.set(req.tradeNo, t);
    if (status === "SUCCESS") this.move(t);
    return this.answer(t);
  }

  query(tradeNo: string): QueryOutcome {
    const t = this.trades.get(tradeNo);
    if (!t) return { status: "NOT_FOUND" };
    this.settle(t);
    if (t.status === "PROCESSING") return { status: "PROCESSING" };
    return this.answer(t);
  }

  /** Money the bank moved for trades matching `pred`. */
  moved(pred: (t: BankTrade) => boolean): string {
    let sum = ZERO;
    for (const t of this.trades.values()) if (this.settle(t).status === "SUCCESS" && pred(t)) sum = sum.plus(money(t.amount));
    return fmt(sum);
  }

  private settle(t: BankTrade): BankTrade {
    if (t.status === "PROCESSING" && this.clock() >= t.settleAt) {
      t.status = t.settleTo;
      if (t.status === "SUCCESS") this.move(t);
    }
    return t;
  }

  private move(t: BankTrade): void {
    if (t.kind !== "DEBIT") return;
    this.balances.set(t.account, fmt(money(this.balances.get(t.account) ?? "100000.00").minus(money(t.amount))));
  }

  private answer(t: BankTrade): PaymentOutcome {
    if (t.status === "SUCCESS") return { status: "SUCCESS", channelRef: `${this.code}-${t.tradeNo}`, amount: t.amount, completedAt: new Date(this.clock()).toISOString() };
    if (t.status === "FAILED") return { status: "DECLINED", reason: "CHANNEL_ERROR", side: "CHANNEL", bankCode: "ERR", message: "failed after processing" };
    return { status: "UNKNOWN", bankCode: "PROCESSING", message: "processing" };
  }
}

/** A channel adapter in front of a SimBank with the network's faults in between. */
function faultyChannel(bank: SimBank, sim: Simulation): PaymentChannel {
  const deliver = (kind: "DEBIT" | "PAYOUT", req: { tradeNo: string; amount: string; expiresAt: string; account: string }): PaymentOutcome => {
    const fault = sim.faults.send(req.tradeNo);
    if (sim.faults.outage(bank.code, sim.sched.nowMs)) return { status: "UNAVAILABLE", bankCode: "MAINT", message: "maintenance" };
    switch (fault) {
      case "REFUSED":
        return { status: "UNAVAILABLE", bankCode: "CONN", message: "connection refused" };
      case "LOST":
        return { status: "UNKNOWN", bankCode: "TIMEOUT", message: "no answer (request lost)" };
      case "TIMEOUT_AFTER":
        bank.receive(kind, req);
        return { status: "UNKNOWN", bankCode: "TIMEOUT", message: "no answer (bank applied it)" };
      case "DELAYED": {
        const at = sim.sched.nowMs + sim.faults.delayMs();
        sim.later(at, () => bank.receive(kind, req));
        return { status: "UNKNOWN", bankCode: "TIMEOUT", message: "no answer (request still on the way)" };
      }
      case "DUPLICATED":
        bank.receive(kind, req);
        return bank.receive(kind, req);
      default:
        return bank.receive(kind, req);
    }
  };
  const capabilities: Capability[] = ["DEBIT", "PAYOUT", "QUERY"];
  return {
    code: bank.code,
    capabilities,
    limits: {},
    fees: {},
    fee: () => "0.00",
    startSign: () => Promise.reject(new Error("not in the simulation")),
    confirmSign: () => Promise.reject(new Error("not in the simulation")),
    async debit(req: DebitRequest) {
      await sim.sched.yield(`bank:${req.tradeNo}`, false);
      return deliver("DEBIT", { tradeNo: req.tradeNo, amount: req.amount, expiresAt: req.expiresAt, account: req.agreementNo });
    },
    async payout(req: PayoutRequest) {
      await sim.sched.yield(`bank:${req.tradeNo}`, false);
      return deliver("PAYOUT", { tradeNo: req.tradeNo, amount: req.amount, expiresAt: req.expiresAt, account: req.accountNo });
    },
    async query(tradeNo: string) {
      if (sim.faults.outage(bank.code, sim.sched.nowMs)) return { status: "UNAVAILABLE", bankCode: "MAINT", message: "maintenance" };
      const f = sim.faults.query(tradeNo);
      if (f === "REFUSED") return { status: "UNAVAILABLE", bankCode: "CONN", message: "connection refused" };
      if (f === "TIMEOUT") return { status: "UNKNOWN", bankCode: "TIMEOUT", message: "no answer" };
      const answer = bank.query(tradeNo);
      sim.queryLog.push({ tradeNo, at: sim.sched.nowMs, status: answer.status });
      if (f === "WRONG_AMOUNT" && answer.status === "SUCCESS") return { ...answer, amount: fmt(money(answer.amount).plus(money("1.00"))) };
      return answer;
    },
    statement: () => Promise.reject(new Error("not in the simulation")),
    parseStatement: () => [],
  };
}

// ---------------------------------------------------------------------------------------------
// Stores with faults, and the plan book (schedule's rule: a repayment applies once per trade)

function memoryStore<T extends { _id: string }>(collection: string, indexes: Array<{ fieldName: string; unique?: boolean; sparse?: boolean }> = []): Store<T> {
  const db = new Datastore();
  for (const i of indexes) void db.ensureIndexAsync(i);
  return new NedbStore<any>(collection, db) as unknown as Store<T>;
}

function faultyStore<T extends { _id: string }>(inner: Store<T>, sim: Simulation, actorOf: () => string): Store<T> {
  const write =
    <A extends unknown[], R>(op: string, f: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      if (!sim.faultsOn) return f(...a); // set-up and the healed network: no interleaving inside writes
      await sim.sched.yield(actorOf());
      const fault = sim.faults.storeWrite(op, inner.collection, a);
      if (fault === "FAIL_BEFORE") throw new SimCrash(`${inner.collection}.${op} failed before writing`);
      const r = await f(...a);
      if (fault === "CRASH_AFTER") throw new SimCrash(`${inner.collection}.${op} wrote, then the process died`);
      return r;
    };
  return {
    collection: inner.collection,
    insert: write("insert", (d: T) => inner.insert(d)),
    updateOne: write("updateOne", (q: Record<string, any>, u: Record<string, any>) => inner.updateOne(q, u)),
    updateMany: write("updateMany", (q: Record<string, any>, u: Record<string, any>) => inner.updateMany(q, u)),
    remove: write("remove", (q: Record<string, any>) => inner.remove(q)),
    findById: (id) => inner.findById(id),
    findOne: (q) => inner.findOne(q),
    find: (q, o) => inner.find(q, o),
    count: (q) => inner.count(q),
  };
}

export interface SimPlan {
  _id: string;
  planId: string;
  partition: number;
  agreementNo: string;
  card: string;
  /** Installments due in this simulation: amount and paid. */
  installments: Array<{ period: number; amount: string; paid: string }>;
  appliedTrades: Record<string, { amount: string; applied: string; surplus: string }>;
  version: number;
}

// ---------------------------------------------------------------------------------------------
// The simulation

export interface SimOptions {
  seed: number;
  plans: number;
  executors: number;
  payouts: number;
  /** Concurrent callers per payout number. */
  payoutCallers: number;
  slots: string[];
  faults: "random" | Faults;
  rates?: Partial<FaultRates>;
  banksIgnoreExpiry?: boolean;
  timings?: Partial<FlowTimings>;
  pauseChance?: number;
  /** Executor e's channel settings (a node with another view of routing: split brain). */
  settingsFor?: (executor: number) => ChannelSettingsContent;
  /** Every executor believes it holds every partition. */
  allHoldAll?: boolean;
  /** The payout numbers to pay (else drawn by the seed). */
  payoutNos?: string[];
}

export const DEFAULT_RATES: FaultRates = {
  storeFail: 0.02,
  storeCrash: 0.02,
  refused: 0.08,
  lost: 0.05,
  timeoutAfter: 0.08,
  delayed: 0.1,
  duplicated: 0.04,
  queryRefused: 0.15,
  queryTimeout: 0.15,
  queryWrongAmount: 0.02,
  maxDelayMs: 400_000,
  outageWindows: 2,
};

const BANKS = ["BANK_A", "BANK_B"];
const START = Date.parse("2026-02-15T04:00:00.000Z"); // 12:00 Asia/Shanghai

export class Simulation {
  readonly rng: Rng;
  readonly sched: Scheduler;
  faults: Faults;
  faultsOn = true;
  readonly banks = new Map<string, SimBank>();
  readonly channels = new Map<string, PaymentChannel>();
  readonly trades: Store<Trade>;
  readonly flows: Store<Flow>;
  readonly positions: Store<Position>;
  readonly plans: Store<SimPlan>;
  readonly ledger: LedgerCore;
  readonly alerts: Array<{ message: string; kind?: unknown }> = [];
  readonly crashes: string[] = [];
  readonly topUps = new Map<string, string>();
  /** The answers banks gave to queries that reached them. */
  readonly queryLog: Array<{ tradeNo: string; at: number; status: string }> = [];
  readonly timings: FlowTimings;
  private readonly pendingDeliveries: Array<{ at: number; run: () => void }> = [];
  private current = "main";
  readonly settings: ChannelSettingsContent = {
    channels: BANKS.map((code, i) => ({ code, enabled: true, priority: i + 1, capabilities: ["DEBIT", "PAYOUT"] })),
    cardDailyAttemptCap: 20,
    unknownQueryBackoffMinutes: [1, 2, 5, 10, 30],
  };

  constructor(readonly opts: SimOptions) {
    this.rng = new Rng(opts.seed);
    this.sched = new Scheduler(this.rng, START, { pauseChance: opts.pauseChance ?? 0.04, maxPauseMs: 400_000, jumpChance: 0.02 });
    this.faults = opts.faults === "random" ? randomFaults(this.rng, { ...DEFAULT_RATES, ...opts.rates }, START, 6 * 3600_000, BANKS) : opts.faults;
    this.timings = { staleInitMs: 60_000, sendingTimeoutMs: 60_000, requestTtlMs: 120_000, expiryMarginMs: 60_000, ...opts.timings };
    for (const code of BANKS) {
      const bank = new SimBank(code, new Rng(hash32(`${opts.seed}|${code}`)), () => this.sched.nowMs, !!opts.banksIgnoreExpiry);
      this.banks.set(code, bank);
      this.channels.set(code, faultyChannel(bank, this));
    }
    const actor = () => this.current;
    this.trades = faultyStore(memoryStore<Trade>("trades", [{ fieldName: "openKey", unique: true, sparse: true }]), this, actor);
    this.flows = faultyStore(memoryStore<Flow>("flows"), this, actor);
    this.positions = faultyStore(memoryStore<Position>("positions"), this, actor);
    this.plans = faultyStore(memoryStore<SimPlan>("plans"), this, actor);
    const iso = () => new Date(this.sched.nowMs).toISOString();
    // Position moves' history without faults: the sim's invariants are about money, not the audit copy (test/unit/domain/history.test.ts).
    this.ledger = new LedgerCore({ trades: this.trades, flows: this.flows, positions: this.positions, positionMoves: memoryStore("positionMoves"), iso, today: () => iso().slice(0, 10) });
  }

  /** A request that arrives at the bank later (a slow network). */
  later(at: number, run: () => void): void {
    this.pendingDeliveries.push({ at, run });
    this.sched.spawn(`net@${at}`, async () => {
      await this.sched.yieldUntil("net", at);
      run();
    }, () => undefined);
  }

  /** The ports of one executor (its own name for the scheduler's log). */
  ports(name: string): FlowPorts {
    const step = async <R>(what: string, f: () => Promise<R>): Promise<R> => {
      await this.sched.yield(name);
      this.current = name;
      return f();
    };
    const l = this.ledger;
    return {
      nowMs: () => this.sched.nowMs,
      today: () => new Date(this.sched.nowMs).toISOString().slice(0, 10),
      findTrades: (q) => step("find", async () => (await this.trades.find(q, { sort: { createdAt: 1 } })) as unknown as TradeLike[]),
      openTrade: (p) => step("open", () => l.open(p as any)) as any,
      transition: (p) => step("transition", () => l.transition(p as any)) as any,
      lateSuccess: (p) => step("late", () => l.lateSuccess(p)) as any,
      noteQuery: (p) => step("noteQuery", async () => void (await l.noteQuery(p))),
      completeStep: (t, s) => step("complete", async () => void (await l.completeStep(t, s))),
      finishFlow: (t) => step("flow", async () => void (await l.finishFlow(t))),
      applyRepayment: (p) => step("apply", () => this.applyRepayment(p)),
      channel: (code) => this.channels.get(code),
      successRate: () => undefined,
      breaker: () => "CLOSED",
      record: () => undefined,
      alert: (message, data) => void this.alerts.push({ message, kind: data.kind }),
      reserve: (m) => step("reserve", () => l.reserve(m)),
      commit: (m) => step("commit", () => l.commit(m)),
      release: (m) => step("release", () => l.release(m)),
      commitLate: (m) => step("commitLate", () => l.commitLate(m)),
      positions: () =>
        step("positions", async () => {
          const rows = await this.positions.find({});
          return Object.fromEntries(rows.map((p) => [p.channel, fmt(money(p.balance).minus(money(p.reserved)))]));
        }),
    };
  }

  /** schedule.applyRepayment's rule: once per trade (compare-and-set on the plan's version), oldest installment first. */
  async applyRepayment(p: { planId: string; tradeNo: string; amount: string }): Promise<{ changed: boolean; surplus: string }> {
    for (let i = 0; ; i++) {
      if (i > 1000) throw new Error(`applyRepayment ${p.tradeNo} on ${p.planId}: the compare-and-set never matched`);
      const plan = await this.plans.findById(p.planId);
      if (!plan) throw new Error(`no plan ${p.planId}`);
      const done = plan.appliedTrades[p.tradeNo];
      if (done) return { changed: false, surplus: done.surplus };
      let left = money(p.amount);
      const installments = plan.installments.map((i) => {
        const owed = money(i.amount).minus(money(i.paid));
        const take = left.lt(owed) ? left : owed;
        left = left.minus(take);
        return { ...i, paid: fmt(money(i.paid).plus(take)) };
      });
      const record = { amount: p.amount, applied: fmt(money(p.amount).minus(left)), surplus: fmt(left) };
      const saved = await this.plans.updateOne({ _id: p.planId, version: plan.version }, { $set: { installments, [`appliedTrades.${p.tradeNo}`]: record, version: plan.version + 1 } });
      if (saved) return { changed: true, surplus: record.surplus };
    }
  }

  async setup(): Promise<void> {
    this.faultsOn = false;
    for (let i = 0; i < this.opts.plans; i++) {
      const planId = `PL${this.opts.seed % 1000}x${i}`;
      const amount = `${100 + this.rng.int(5000)}.${String(this.rng.int(100)).padStart(2, "0")}`;
      const plan: SimPlan = { _id: planId, planId, partition: i % 4, agreementNo: `AG-${i}`, card: `card${i}`, installments: [{ period: 1, amount, paid: "0.00" }], appliedTrades: {}, version: 0 };
      await this.plans.insert(plan);
      // Some borrowers cannot pay the whole installment.
      for (const b of this.banks.values()) b.balances.set(plan.agreementNo, this.rng.chance(0.1) ? "50.00" : "100000.00");
    }
    for (const code of BANKS) {
      const amount = "20000.00";
      this.topUps.set(code, amount);
      await this.ledger.adjust(code, { amount, direction: "TOP_UP", reason: "float", by: "sim" });
    }
    this.faultsOn = true;
  }

  async due(partition?: number) {
    const plans = await this.plans.find(partition === undefined ? {} : { partition });
    return plans
      .map((p) => {
        const owed = p.installments.reduce((s, i) => s.plus(money(i.amount).minus(money(i.paid))), ZERO);
        return { planId: p.planId, partition: p.partition, periods: [1], amount: fmt(owed), customerId: p.card, bindingId: p.agreementNo, agreementNo: p.agreementNo, card: p.card };
      })
      .filter((x) => money(x.amount).gt(ZERO));
  }

  private spawn(name: string, fn: () => Promise<unknown>): void {
    this.sched.spawn(name, fn, (err) => {
      if (err instanceof SimCrash) this.crashes.push(`${name}: ${err.message}`);
      else this.crashes.push(`${name}: UNEXPECTED ${(err as Error)?.stack ?? String(err)}`);
    });
  }

  /** Executors run each slot over the due plans (several may hold the same partition), sweepers repair, callers pay out. */
  async runFaulty(): Promise<void> {
    const slotTimes = this.opts.slots;
    for (let e = 0; e < this.opts.executors; e++) {
      const name = `exec${e}`;
      const ports = this.ports(name);
      const settings = this.opts.settingsFor?.(e) ?? this.settings;
      this.spawn(name, async () => {
        // Each slot is run at its time and again a few minutes later (a tick that resumes it, a takeover).
        const passes = slotTimes.flatMap((slot, k) => [0, 1].map((again) => ({ slot, at: START + k * 6 * 3600_000 + again * (120_000 + this.rng.int(600_000)) })));
        for (const { slot, at } of passes) {
          if (this.sched.nowMs < at) await this.sched.yieldUntil(name, at);
          // Each executor believes it holds some partitions; overlaps are the split brain.
          const held = [0, 1, 2, 3].filter((p) => this.opts.allHoldAll || p % this.opts.executors === e || this.rng.chance(0.3));
          for (const p of held) {
            for (const item of await this.due(p)) {
              const plan = item;
              try {
                await debitPlan(item, `2026-02-15T${slot}`, `run-${slot}`, settings, ports, async () => ({ bindingId: plan.agreementNo, cardFingerprint: plan.card.padEnd(64, "0"), agreements: BANKS.map((c) => ({ channel: c, agreementNo: plan.agreementNo })) }), this.timings);
              } catch (err) {
                if (!(err instanceof SimCrash)) throw err;
                this.crashes.push(`${name}: ${err.message}`);
              }
            }
          }
        }
      });
    }
    for (let s = 0; s < 2; s++) {
      const name = `sweep${s}`;
      const ports = this.ports(name);
      this.spawn(name, async () => {
        const end = START + (slotTimes.length - 1) * 6 * 3600_000 + 3600_000;
        while (this.sched.nowMs < end) {
          await this.sweepOnce(ports, name);
          await this.sched.yieldUntil(name, this.sched.nowMs + 15_000 + this.rng.int(120_000));
        }
      });
    }
    const payouts = this.opts.payoutNos ?? Array.from({ length: this.opts.payouts }, (_, i) => (this.rng.chance(0.3) ? `PO.${i}.${"x".repeat(this.rng.int(60))}`.slice(0, 64) : `PO-${i}`));
    for (const [i, payoutNo] of payouts.entries()) {
      const amount = fmt(money(String(100 + this.rng.int(3000))));
      for (let c = 0; c < this.opts.payoutCallers; c++) {
        const name = `pay${i}.${c}`;
        const ports = this.ports(name);
        this.spawn(name, () => payout({ payoutNo, amount, partition: i % 4, beneficiary: { accountNo: `62170000${String(i).padStart(8, "0")}`, accountName: `Funder ${i}` } }, this.settings, ports, this.timings));
      }
    }
    await this.sched.run();
    await this.checkNoFalseFailure();
  }

  async sweepOnce(ports: FlowPorts, name: string): Promise<void> {
    try {
      const open = (await this.trades.find({ state: { $in: ["INIT", "SENDING", "UNKNOWN"] } })) as unknown as TradeLike[];
      const pending = (await this.trades.find({ "pending.0": { $exists: true } })) as unknown as TradeLike[];
      const report = await repairTrades([...open, ...pending], this.settings, ports, this.timings);
      // The sweep goes on past a trade whose repair failed; only simulated crashes may be among them.
      for (const m of report.errorMessages) this.crashes.push(`${name}: ${m.includes("simulated crash") ? "" : "UNEXPECTED "}${m}`);
      this.current = name;
      await this.ledger.sweepReservations();
    } catch (err) {
      if (!(err instanceof SimCrash)) throw err;
      this.crashes.push(`${name}: ${err.message}`);
    }
  }

  /**
   * After the faults: the network heals, time passes beyond every expiry and back-off, sweeps run
   * until nothing changes, then the statement settles what was flagged for reconciliation.
   */
  async quiesce(): Promise<void> {
    this.faultsOn = false;
    this.faults = NO_FAULTS;
    const ports = this.ports("final");
    for (let round = 0; round < 12; round++) {
      this.sched.nowMs += 3600_000;
      this.sched.spawn("final", () => this.sweepOnce(ports, "final"), (e) => this.crashes.push(`final: ${String(e)}`));
      await this.sched.run();
    }
    // The statement decides the flagged trades (the reconciler's rule).
    this.sched.spawn("statement", async () => {
      for (const t of (await this.trades.find({})) as unknown as TradeLike[]) {
        const truth = this.banks.get(t.channel)!.query(t.tradeNo);
        if (t.state === "SENDING" || t.state === "UNKNOWN") {
          const to = truth.status === "SUCCESS" ? "SUCCESS" : "FAILED";
          const res = await ports.transition({ tradeNo: t.tradeNo, kind: t.kind, from: t.state, to, note: "statement" });
          await finishSteps(res.trade, ports);
        } else if (t.state === "FAILED" && truth.status === "SUCCESS") {
          this.alerts.push({ message: `statement: late success ${t.tradeNo}`, kind: "LATE_SUCCESS" });
          const res = await ports.lateSuccess({ tradeNo: t.tradeNo, source: "STATEMENT" });
          await finishSteps(res.trade, ports);
        }
      }
    }, (e) => this.crashes.push(`statement: ${String(e)}`));
    await this.sched.run();
    this.sched.spawn("final", () => this.sweepOnce(ports, "final"), (e) => this.crashes.push(`final: ${String(e)}`));
    await this.sched.run();
  }

  /** The invariants. Returns the violations (empty = the seed passed). */
  async check(): Promise<string[]> {
    const bad: string[] = [];
    const trades = await this.trades.find({});
    const flows = await this.flows.find({});
    const banks = [...this.banks.values()];
    for (const plan of await this.plans.find({})) {
      const atBanks = banks.reduce((s, b) => s.plus(money(b.moved((t) => t.kind === "DEBIT" && t.account === plan.agreementNo))), ZERO);
      const credited = Object.values(plan.appliedTrades).reduce((s, a) => s.plus(money(a.amount)), ZERO);
      const surplus = Object.values(plan.appliedTrades).reduce((s, a) => s.plus(money(a.surplus)), ZERO);
      const inFlows = flows.filter((f) => f.planId === plan.planId).reduce((s, f) => s.plus(money(f.amount)), ZERO);
      if (!atBanks.eq(credited)) bad.push(`plan ${plan.planId}: banks moved ${fmt(atBanks)}, plan credited ${fmt(credited)}`);
      if (!credited.eq(inFlows)) bad.push(`plan ${plan.planId}: credited ${fmt(credited)}, flows ${fmt(inFlows)}`);
      if (surplus.gt(ZERO) && !this.opts.banksIgnoreExpiry) bad.push(`plan ${plan.planId}: debited ${fmt(surplus)} more than owed (twice?)`);
      if (surplus.gt(ZERO) && !this.alerts.some((a) => a.kind === "OVERPAYMENT" && a.message.includes(plan.planId))) bad.push(`plan ${plan.planId}: surplus ${fmt(surplus)} not alerted`);
      const owed = plan.installments.reduce((s, i) => s.plus(money(i.amount)), ZERO);
      if (credited.minus(surplus).gt(owed)) bad.push(`plan ${plan.planId}: applied more than owed`);
    }
    // Payouts: never paid twice; each position = top-ups − what the banks paid out from it.
    const byPayout = new Map<string, number>();
    for (const t of trades.filter((x) => x.kind === "PAYOUT")) {
      const bt = this.banks.get(t.channel)!.trades.get(t.tradeNo);
      if (bt?.status === "SUCCESS") byPayout.set(t.payoutNo!, (byPayout.get(t.payoutNo!) ?? 0) + 1);
    }
    // Only a bank that acts on a request after its expiry can pay twice, and then the late success is alerted.
    for (const [no, n] of byPayout) {
      if (n <= 1) continue;
      const alerted = trades.some((t) => t.payoutNo === no && t.lateSuccess && this.alerts.some((a) => a.kind === "LATE_SUCCESS" && a.message.includes(t.tradeNo)));
      if (!this.opts.banksIgnoreExpiry || !alerted) bad.push(`payout ${no} paid ${n} times${alerted ? "" : " (not alerted)"}`);
    }
    for (const pos of await this.positions.find({})) {
      const paid = money(this.banks.get(pos.channel)!.moved((t) => t.kind === "PAYOUT"));
      const expected = money(this.topUps.get(pos.channel) ?? "0").minus(paid);
      if (!money(pos.balance).eq(expected)) bad.push(`position ${pos.channel}: balance ${pos.balance}, top-ups − paid = ${fmt(expected)}`);
      if (!money(pos.reserved).eq(ZERO) || Object.keys(pos.reservations).length) bad.push(`position ${pos.channel}: ${pos.reserved} still reserved (${Object.keys(pos.reservations).join(",")})`);
    }
    // Every trade final (after the statement), its steps done, and the ledger agrees with the banks.
    for (const t of trades) {
      if (t.state !== "SUCCESS" && t.state !== "FAILED") bad.push(`trade ${t.tradeNo} still ${t.state}${t.needsReconciliation ? " (flagged)" : ""}`);
      if (t.pending?.length) bad.push(`trade ${t.tradeNo} ${t.state} with steps pending: ${t.pending.join(",")}`);
      const bt = this.banks.get(t.channel)!.trades.get(t.tradeNo);
      const bankSays = bt?.status === "SUCCESS" ? "SUCCESS" : "FAILED";
      if ((t.state === "SUCCESS" || t.state === "FAILED") && t.state !== bankSays) bad.push(`trade ${t.tradeNo}: ledger ${t.state}, bank ${bt?.status ?? "never saw it"}`);
      if (t.kind === "DEBIT" && t.state === "SUCCESS" && !t.applied) bad.push(`trade ${t.tradeNo}: SUCCESS not applied`);
    }
    // The bank saw exactly what the ledger records: no request the ledger does not know, none for another channel or amount.
    const byNo = new Map(trades.map((t) => [t.tradeNo, t]));
    for (const b of banks) {
      for (const bt of b.trades.values()) {
        const t = byNo.get(bt.tradeNo);
        if (!t) bad.push(`bank ${b.code} received ${bt.tradeNo}, which the ledger never opened`);
        else if (t.channel !== b.code || !money(t.amount).eq(money(bt.amount)) || t.kind !== bt.kind) bad.push(`bank ${b.code} received ${bt.kind} ${bt.tradeNo} ${bt.amount}; the ledger records ${t.kind} ${t.channel} ${t.amount}`);
      }
    }
    for (const c of this.crashes) if (c.includes("UNEXPECTED")) bad.push(c);
    return [...this.midRun, ...bad];
  }

  /** Violations seen while the faults still ran (checked by `runFaulty` before the network heals). */
  readonly midRun: string[] = [];

  /**
   * While the faults run: a trade the ledger holds FAILED was not acted on by a bank that honours
   * expiry (a query without a definite answer, or NOT_FOUND before the request expired, changes nothing).
   */
  async checkNoFalseFailure(): Promise<void> {
    if (this.opts.banksIgnoreExpiry) return;
    for (const t of await this.trades.find({ state: "FAILED" })) {
      const bt = this.banks.get(t.channel)!.trades.get(t.tradeNo);
      if (bt && (bt.status === "SUCCESS" || (bt.status === "PROCESSING" && bt.settleTo === "SUCCESS"))) {
        this.midRun.push(`trade ${t.tradeNo} recorded FAILED (${t.failure?.reason}) while its bank holds it ${bt.status}`);
      }
    }
  }

  async summary(): Promise<Record<string, number>> {
    let bankTrades = 0;
    let expiredRefusals = 0;
    for (const b of this.banks.values()) {
      bankTrades += b.trades.size;
      expiredRefusals += b.expired.size;
    }
    const trades = await this.trades.find({});
    const count = (f: (t: Trade) => boolean) => trades.filter(f).length;
    return {
      steps: this.sched.steps,
      crashes: this.crashes.length,
      trades: trades.length,
      bankTrades,
      expiredRefusals,
      staleInit: count((t) => t.failure?.reason === "STALE_INIT"),
      notReceived: count((t) => t.failure?.reason === "NOT_RECEIVED"),
      settledByQuery: count((t) => t.history.some((h) => h.note === "compensating query")),
      flagged: count((t) => !!t.needsReconciliation),
      lateSuccess: count((t) => !!t.lateSuccess),
      alerts: this.alerts.length,
    };
  }
}

export async function runSeed(seed: number, over: Partial<SimOptions> = {}): Promise<{ violations: string[]; summary: Record<string, number>; sim: Simulation }> {
  const sim = new Simulation({ seed, plans: 12, executors: 3, payouts: 3, payoutCallers: 3, slots: ["12:00", "18:00"], faults: "random", banksIgnoreExpiry: seed % 10 === 0, ...over });
  await sim.setup();
  await sim.runFaulty();
  await sim.quiesce();
  const violations = await sim.check();
  return { violations, summary: await sim.summary(), sim };
}
