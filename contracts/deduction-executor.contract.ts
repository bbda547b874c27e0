/** deduction-executor: debit runs (代扣批次) and payouts (代付). */
import type { ValidationSchema } from "fastest-validator";
import { amountRule, idRule, optionalIdRule, pageRules, type PageParams } from "./common";

export interface CreateRunParams {
  bizType?: "LEASE" | "CONSUMER" | "SUPPLY_CHAIN";
  funderId?: string;
  productCode?: string;
  /** The slot's wall time (HH:mm, business zone); default: now. Trade numbers derive from it. */
  slotTime?: string;
  partitions?: number[];
}
export const createRunParams = {
  $$strict: true,
  bizType: { type: "enum", values: ["LEASE", "CONSUMER", "SUPPLY_CHAIN"], optional: true },
  funderId: optionalIdRule,
  productCode: optionalIdRule,
  slotTime: { type: "string", pattern: "^([01]\\d|2[0-3]):[0-5]\\d$", optional: true },
  partitions: { type: "array", optional: true, min: 1, max: 4096, items: { type: "number", integer: true, min: 0, max: 4095 } },
} satisfies ValidationSchema<CreateRunParams>;

export interface RunIdParams {
  runId: string;
}
export const runIdParams = { $$strict: true, runId: { type: "string", pattern: "^[A-Za-z0-9_-]{4,64}$" } } satisfies ValidationSchema<RunIdParams>;

export interface ListRunsParams extends PageParams {
  job?: string;
}
export const listRunsParams = { $$strict: true, ...pageRules, job: { type: "enum", values: ["debitSlot", "repair", "accrual", "daily", "reminderScan"], optional: true } } satisfies ValidationSchema<ListRunsParams>;

export interface CreatePayoutParams {
  payoutNo: string;
  amount: string;
  beneficiary: { accountNo: string; accountName: string; funderId?: string };
  purpose?: string;
}
export const createPayoutParams = {
  $$strict: true,
  payoutNo: idRule,
  amount: amountRule,
  beneficiary: {
    type: "object",
    strict: true,
    props: {
      accountNo: { type: "string", pattern: "^\\d{8,32}$", messages: { stringPattern: "'beneficiary.accountNo' must be 8-32 digits" } },
      accountName: { type: "string", min: 1, max: 64, trim: true },
      funderId: optionalIdRule,
    },
  },
  purpose: { type: "string", max: 200, optional: true },
} satisfies ValidationSchema<CreatePayoutParams>;

export interface PayoutNoParams {
  payoutNo: string;
}
export const payoutNoParams = { $$strict: true, payoutNo: idRule } satisfies ValidationSchema<PayoutNoParams>;

/** One node instance's executions of a partition in a run (its attempts and counters, summed). */
export interface RunExecution {
  nodeId: string;
  status: "PENDING" | "RUNNING" | "DONE" | "FAILED" | "SKIPPED";
  attempts: number;
  processed: number;
  counters: Record<string, number>;
  error?: string;
  /** Why a partition that returned is not DONE yet (work still in flight). */
  note?: string;
  startedAt?: string;
  finishedAt?: string;
  /** The number of the report this came from (JobRun.seq): an older report of the same instance is dropped. */
  seq?: number;
}

/**
 * A partition of a run, merged over every node instance that worked on it: DONE once any execution
 * is DONE (SKIPPED never is), else the latest execution's status; attempts and the event counters
 * (sent, succeeded, …) are summed over the executions (a re-run counts what it finds as already
 * collected or in flight), the job's state counters (`levels`: due, in flight, …) are the latest
 * ended execution's.
 */
export interface RunPartition {
  status: RunExecution["status"];
  attempts: number;
  processed: number;
  counters: Record<string, number>;
  error?: string;
  note?: string;
  /** The node whose execution decided the status (the first DONE, else the latest). */
  nodeId?: string;
  startedAt?: string;
  finishedAt?: string;
  /** By node instance (one per service start). */
  executions: Record<string, RunExecution>;
}

/**
 * A run as stored and shown: one record per run across all nodes (a scheduled slot's run id derives
 * from the slot: `SLOT-<slot>-<rule>`), progress per partition and totals. DONE only when every
 * wanted partition is DONE; FAILED once a slot's window is over (`until`) with partitions not done,
 * or, for a manual run, when every wanted partition ended and some not DONE.
 */
export interface RunRecord {
  _id: string;
  runId: string;
  job: string;
  trigger: "SCHEDULE" | "MANUAL";
  slotId?: string;
  scope?: { bizType?: string; funderId?: string; productCode?: string };
  status: "RUNNING" | "DONE" | "FAILED";
  /** The partitions the run is for (all P unless a manual run named some); absent on old records. */
  wanted?: number[];
  /** Slots: the end of the slot's window (business time, ISO): not run after it. */
  until?: string;
  partitions: Record<string, RunPartition>;
  totals: Record<string, number>;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
  /** Bumped on every update (compare-and-set: progress arrives from several nodes). */
  version: number;
}

export interface RunDoneParams {
  runId: string;
}
export const runDoneParams = { $$strict: true, runId: { type: "string", pattern: "^[A-Za-z0-9_-]{4,64}$" } } satisfies ValidationSchema<RunDoneParams>;

/** Collect one plan now (主动还款): what is due today, or `amount` up to everything owed; idempotent on requestNo. */
export interface CollectNowParams {
  planId: string;
  requestNo: string;
  amount?: string;
}
export const collectNowParams = {
  $$strict: true,
  planId: idRule,
  requestNo: { type: "string", pattern: "^[A-Za-z0-9_-]{4,48}$", messages: { stringPattern: "'{field}' must be 4-48 letters, digits, _ or -" } },
  amount: { ...amountRule, optional: true },
} satisfies ValidationSchema<CollectNowParams>;
