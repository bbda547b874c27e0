/** reconciler: statement reconciliation runs (对账), discrepancies and statement settlements. */
import type { ValidationSchema } from "fastest-validator";
import type { Category, DiscrepancyCategory } from "../domain/reconcile";
import { dateRule, optionalDateRule, pageRules, type PageParams } from "./common";

const channelRule = { type: "string", pattern: "^[A-Z0-9_]{1,16}$" } as const;
const runIdRule = { type: "string", pattern: "^RC-[A-Za-z0-9_-]{4,80}$" } as const;

export type RunSource = "PULL" | "UPLOAD";
export type RunStatus = "RUNNING" | "DONE" | "FAILED";
export const RESOLUTIONS = ["ACCEPT_BANK", "ACCEPT_OURS", "WRITE_OFF", "MANUAL_ADJUSTMENT"] as const;
export type ResolutionAction = (typeof RESOLUTIONS)[number] | "CLEARED_BY_RERUN";

export interface RunProgress {
  phase: "PARSE" | "MATCH" | "APPLY" | "DONE";
  linesParsed: number;
  tradesRead: number;
  matched: number;
  discrepancies: number;
  settled: number;
}

export interface CategorySummary {
  count: number;
  /** Sum of our amounts (decimal string). */
  amount: string;
  /** Sum of the bank's amounts. */
  theirAmount: string;
}

export interface ReconRun {
  _id: string;
  runId: string;
  channel: string;
  date: string;
  source: RunSource;
  /** 1, 2, … per (channel, date). */
  attempt: number;
  status: RunStatus;
  /** Set while RUNNING (unique): one run per (channel, date) at a time. */
  activeKey?: string;
  progress: RunProgress;
  summary?: Record<Category, CategorySummary>;
  settled: { success: number; failed: number };
  /** Discrepancies this run found for the first time / found again / cleared (found before, not now). */
  discrepancies?: { new: number; seen: number; cleared: number; open: number };
  skipped?: { ABSENT_FAILED: number; IN_FLIGHT: number };
  lines?: number;
  error?: { code: string; message: string; line?: number; reason?: string };
  startedAt: string;
  finishedAt?: string;
  by: string;
  outbox?: unknown[];
}

export interface Side {
  state?: string;
  kind?: string;
  amount?: string;
  date?: string;
  planId?: string;
  channelRef?: string;
  status?: string;
  bankCode?: string;
  line?: number;
}

export interface Discrepancy {
  _id: string;
  id: string;
  channel: string;
  date: string;
  tradeNo: string;
  category: DiscrepancyCategory;
  /** The run that found it first, and the last run that found it. */
  runId: string;
  lastRunId: string;
  ours?: Side;
  theirs?: Side;
  status: "OPEN" | "RESOLVED";
  resolution?: { action: ResolutionAction; note?: string; by: string; at: string };
  alertedAt?: string;
  createdAt: string;
  updatedAt: string;
  outbox?: unknown[];
}

/** Audit of one trade settled from a statement (one per trade, ever). */
export interface StatementSettlement {
  _id: string;
  tradeNo: string;
  runId: string;
  channel: string;
  date: string;
  kind: string;
  /** UNKNOWN: settled either way; FAILED: the statement shows the money moved after all (an audited late success). */
  from: "UNKNOWN" | "FAILED";
  to: "SUCCESS" | "FAILED";
  amount: string;
  planId?: string;
  status: "PENDING" | "DONE";
  repaymentApplied?: boolean;
  at: string;
  outbox?: unknown[];
}

export interface StartRunParams {
  channel: string;
  date: string;
  /** false: answer once the statement is parsed (status RUNNING); poll GET /reconciliations/:runId. */
  wait?: boolean;
}
export const startRunParams = {
  $$strict: true,
  channel: channelRule,
  date: dateRule,
  wait: { type: "boolean", optional: true },
} satisfies ValidationSchema<StartRunParams>;

export interface UploadParams extends StartRunParams {
  /** The file: text, or base64 with encoding "base64" (keeps the bytes exactly, e.g. to prove a GBK file is refused). */
  content: string;
  encoding?: "utf8" | "base64";
}
export const uploadParams = {
  ...startRunParams,
  content: { type: "string", max: 700_000 },
  encoding: { type: "enum", values: ["utf8", "base64"], optional: true },
} satisfies ValidationSchema<UploadParams>;

/** A raw upload: the body is the file, channel and date in the path. */
export const uploadRawParams = { ...startRunParams, wait: { type: "boolean", optional: true, convert: true } } satisfies ValidationSchema<StartRunParams>; // wait from the query string

export interface RunIdParams {
  runId: string;
}
export const runIdParams = { $$strict: true, runId: runIdRule } satisfies ValidationSchema<RunIdParams>;

export interface ListRunsParams extends PageParams {
  channel?: string;
  date?: string;
  status?: RunStatus;
}
export const listRunsParams = {
  $$strict: true,
  ...pageRules,
  channel: { ...channelRule, optional: true },
  date: optionalDateRule,
  status: { type: "enum", values: ["RUNNING", "DONE", "FAILED"], optional: true },
} satisfies ValidationSchema<ListRunsParams>;

export interface ListDiscrepanciesParams extends PageParams {
  runId?: string;
  channel?: string;
  date?: string;
  category?: DiscrepancyCategory;
  status?: "OPEN" | "RESOLVED";
}
export const listDiscrepanciesParams = {
  $$strict: true,
  ...pageRules,
  runId: { ...runIdRule, optional: true },
  channel: { ...channelRule, optional: true },
  date: optionalDateRule,
  category: { type: "enum", values: ["ONLY_OURS", "ONLY_THEIRS", "AMOUNT_DIFFERS", "STATUS_DIFFERS", "DATE_DIFFERS"], optional: true },
  status: { type: "enum", values: ["OPEN", "RESOLVED"], optional: true },
} satisfies ValidationSchema<ListDiscrepanciesParams>;

export interface ResolveParams {
  id: string;
  action: (typeof RESOLUTIONS)[number];
  note: string;
}
export const resolveParams = {
  $$strict: true,
  id: { type: "string", pattern: "^[A-Z0-9_]{1,16}:\\d{4}-\\d{2}-\\d{2}:[A-Za-z0-9_.:-]{1,64}:[A-Z_]{8,16}$" },
  action: { type: "enum", values: [...RESOLUTIONS] },
  note: { type: "string", min: 3, max: 500 },
} satisfies ValidationSchema<ResolveParams>;

export interface AlertCheckParams {
  olderThanDays?: number;
}
export const alertCheckParams = {
  $$strict: true,
  olderThanDays: { type: "number", integer: true, min: 0, max: 365, optional: true },
} satisfies ValidationSchema<AlertCheckParams>;

/** Payloads of the events (outbox). */
export interface ReconciliationCompletedEvent {
  runId: string;
  channel: string;
  date: string;
  source: RunSource;
  summary: Record<Category, CategorySummary>;
  settled: { success: number; failed: number };
  discrepancies: { new: number; seen: number; cleared: number; open: number };
}
export interface ReconciliationDiscrepancyEvent {
  id: string;
  runId: string;
  channel: string;
  date: string;
  tradeNo: string;
  category: DiscrepancyCategory;
  ours?: Side;
  theirs?: Side;
}
export interface TradeSettledEvent {
  tradeNo: string;
  runId: string;
  channel: string;
  date: string;
  to: "SUCCESS" | "FAILED";
  amount: string;
  planId?: string;
}
