/**
 * Rule sets (规则): every configurable behaviour — debit time points (代扣节点), overdue fee rules
 * (算费), allocation order, reminder rules (短信节点), channel settings — as versioned documents
 * scoped by business type / funder / product and effective from a date.
 *
 * Pure: content validation per kind and resolution of the rule that applies to a scope.
 */
import Validator from "fastest-validator";
import { DomainError } from "./errors";
import { AMOUNT_PATTERN, RATE_PATTERN } from "./money";
import { EVENT_TRIGGERS, TEMPLATE_VARIABLES, unknownPlaceholders } from "./reminders";

export const RULE_KINDS = ["DEBIT_TIME_POINTS", "FEE", "ALLOCATION", "REMINDER", "CHANNEL_SETTINGS", "SERVICING"] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

export interface RuleScope {
  bizType?: string;
  funderId?: string;
  productCode?: string;
}

export interface RuleSet<C = Record<string, unknown>> {
  _id: string;
  kind: RuleKind;
  name: string;
  scope: RuleScope;
  effectiveFrom: string;
  enabled: boolean;
  content: C;
  version: number;
  deleted: boolean;
}

const HHMM = "^([01]\\d|2[0-3]):[0-5]\\d$";
const amount = { type: "string", pattern: AMOUNT_PATTERN.source };
const rate = { type: "string", pattern: RATE_PATTERN.source };
const hhmm = { type: "string", pattern: HHMM };

export const ALLOCATION_COMPONENTS = ["PENALTY", "FEE", "INTEREST", "PRINCIPAL"] as const;

/** fastest-validator schemas of each kind's content; also published by GET /rules/kinds. */
export const RULE_CONTENT_SCHEMAS: Record<RuleKind, Record<string, unknown>> = {
  DEBIT_TIME_POINTS: {
    $$strict: true,
    times: { type: "array", min: 1, max: 24, items: hhmm },
    misfireGraceMinutes: { type: "number", integer: true, min: 0, max: 1440, default: 30 },
    window: { type: "object", optional: true, strict: true, props: { start: hhmm, end: hhmm } },
  },
  FEE: {
    $$strict: true,
    graceDays: { type: "number", integer: true, min: 0, max: 90 },
    base: { type: "enum", values: ["OVERDUE_PRINCIPAL", "PRINCIPAL_INTEREST", "INSTALLMENT"] },
    rateType: { type: "enum", values: ["DAILY", "ANNUAL"] },
    rate,
    fixedLateFee: { ...amount, default: "0.00" },
    chargeFrom: { type: "enum", values: ["DUE_DATE", "GRACE_END"], default: "DUE_DATE" },
    capAbsolute: { ...amount, optional: true },
    capPctOfPrincipal: { ...rate, optional: true },
    capAnnualRate: { ...rate, optional: true },
    accrualTime: { ...hhmm, default: "01:00" },
    agingBuckets: {
      type: "array",
      optional: true,
      max: 12,
      items: { type: "object", strict: true, props: { name: { type: "string", min: 1, max: 16 }, minDays: { type: "number", integer: true, min: 1 }, maxDays: { type: "number", integer: true, min: 1, optional: true } } },
    },
  },
  ALLOCATION: {
    $$strict: true,
    order: { type: "array", min: 4, max: 4, items: { type: "enum", values: [...ALLOCATION_COMPONENTS] } },
    installmentOrder: { type: "enum", values: ["OLDEST_FIRST"], default: "OLDEST_FIRST" },
  },
  REMINDER: {
    $$strict: true,
    rules: {
      type: "array",
      min: 1,
      max: 50,
      items: {
        type: "object",
        strict: true,
        props: {
          trigger: { type: "enum", values: ["BEFORE_DUE", "DUE", "OVERDUE", "DEBIT_SUCCESS", "DEBIT_FAILURE"] },
          offsetDays: { type: "number", integer: true, min: 0, max: 60, default: 0 },
          overdueDays: { type: "array", optional: true, min: 1, max: 60, items: { type: "number", integer: true, min: 1, max: 3650 } },
          everyDays: { type: "number", integer: true, min: 1, max: 365, optional: true },
          time: { ...hhmm, optional: true },
          template: { type: "string", min: 1, max: 500 },
          channel: { type: "enum", values: ["SMS", "EMAIL", "WEBHOOK"], default: "SMS" },
        },
      },
    },
    quietHours: { type: "object", optional: true, strict: true, props: { start: hhmm, end: hhmm } },
    maxPerDay: { type: "number", integer: true, min: 1, max: 100, optional: true },
  },
  CHANNEL_SETTINGS: {
    $$strict: true,
    channels: {
      type: "array",
      min: 1,
      max: 32,
      items: {
        type: "object",
        strict: true,
        props: {
          code: { type: "string", pattern: "^[A-Z0-9_]{1,16}$" },
          enabled: { type: "boolean", default: true },
          priority: { type: "number", integer: true, min: 0, max: 1000, default: 100 },
          designated: { type: "boolean", default: false },
          capabilities: { type: "array", optional: true, items: { type: "enum", values: ["DEBIT", "PAYOUT"] } },
          limits: {
            type: "object",
            optional: true,
            strict: true,
            props: {
              perTransaction: { ...amount, optional: true },
              perDay: { ...amount, optional: true },
              perCardPerDay: { type: "number", integer: true, min: 1, max: 100, optional: true },
            },
          },
          cost: { type: "object", optional: true, strict: true, props: { fixed: { ...amount, optional: true }, rate: { ...rate, optional: true } } },
          /** This channel's breaker: any of the global `circuitBreaker` fields, on top of it. */
          circuitBreaker: {
            type: "object",
            optional: true,
            strict: true,
            props: {
              windowSeconds: { type: "number", integer: true, min: 10, max: 86400, optional: true },
              minRequests: { type: "number", integer: true, min: 1, max: 10000, optional: true },
              failureRatio: { type: "number", min: 0.01, max: 1, optional: true },
              halfOpenAfterSeconds: { type: "number", integer: true, min: 1, max: 86400, optional: true },
            },
          },
        },
      },
    },
    cardDailyAttemptCap: { type: "number", integer: true, min: 1, max: 100, default: 3 },
    channelDailyAttemptCap: { type: "number", integer: true, min: 1, optional: true },
    unknownQueryBackoffMinutes: { type: "array", min: 1, max: 20, items: { type: "number", integer: true, min: 1, max: 10080 }, default: [1, 5, 15, 60, 240] },
    circuitBreaker: {
      type: "object",
      optional: true,
      strict: true,
      props: {
        windowSeconds: { type: "number", integer: true, min: 10, max: 86400, default: 300 },
        minRequests: { type: "number", integer: true, min: 1, max: 10000, default: 20 },
        failureRatio: { type: "number", min: 0.01, max: 1, default: 0.5 },
        halfOpenAfterSeconds: { type: "number", integer: true, min: 1, max: 86400, default: 60 },
      },
    },
    /** The success rate routing ranks by: the last `windowAttempts` attempts within `windowHours` (business time); no data ranks as `unknownPrior`. */
    successRate: {
      type: "object",
      optional: true,
      strict: true,
      props: {
        windowAttempts: { type: "number", integer: true, min: 1, max: 10000, default: 200 },
        windowHours: { type: "number", integer: true, min: 1, max: 720, default: 24 },
        unknownPrior: { type: "number", min: 0, max: 1, default: 0.5 },
      },
    },
  },
  /** Settlement interest, prepayment and rescheduling fees, limits of rescheduling (flow 5). */
  SERVICING: {
  $$strict: true,
  settlementInterest: { type: "enum", values: ["TO_DATE", "TO_NEXT_DUE", "FULL_TERM"], default: "TO_NEXT_DUE" },
  prepaymentFeeRate: { ...rate, default: "0" },
  prepaymentFeeMin: { ...amount, default: "0.00" },
  rescheduleFee: { ...amount, default: "0.00" },
  maxDeferDays: { type: "number", integer: true, min: 1, max: 3650, default: 365 },
  maxExtendPeriods: { type: "number", integer: true, min: 1, max: 600, default: 36 },
  /** A credit balance (overpayment): applied to installments as they fall due, or held (for a refund). */
  creditApplication: { type: "enum", values: ["NEXT_DUE", "HOLD"], default: "HOLD" },
},
};

const v = new Validator({ useNewCustomCheckerFunction: true });
const checkers = Object.fromEntries(RULE_KINDS.map((k) => [k, v.compile(RULE_CONTENT_SCHEMAS[k])])) as unknown as Record<
  RuleKind,
  (value: unknown) => true | Array<{ type: string; field: string; message?: string }> | Promise<unknown>
>;

function fail(message: string, details: unknown[]): never {
  throw new DomainError("INVALID_RULE", message, { details });
}

/**
 * Validate (and fill defaults into) a rule's content. Returns a new object; the caller's is untouched.
 * Beyond the schema: time points sorted and unique, allocation a permutation, HH:mm windows ordered.
 */
export function validateRuleContent(kind: RuleKind, content: unknown): Record<string, unknown> {
  if (!RULE_KINDS.includes(kind)) fail(`Unknown rule kind ${String(kind)}`, [{ field: "kind" }]);
  if (content === null || typeof content !== "object" || Array.isArray(content)) fail("content must be an object", [{ field: "content" }]);
  const copy = JSON.parse(JSON.stringify(content)) as Record<string, any>;
  const res = checkers[kind](copy);
  if (res !== true) {
    const errs = res as Array<{ type: string; field: string; message?: string }>;
    fail(`Invalid ${kind} content`, errs.map((e) => ({ type: e.type, field: `content.${e.field}`, message: e.message?.replace(/'([^']+)'/, "'content.$1'") })));
  }
  if (kind === "DEBIT_TIME_POINTS") {
    const times: string[] = copy.times;
    if (new Set(times).size !== times.length) fail("Debit time points must be unique", [{ field: "content.times" }]);
    copy.times = [...times].sort();
    if (copy.window && copy.window.start >= copy.window.end) fail("window.start must be before window.end", [{ field: "content.window" }]);
    if (copy.window && copy.times.some((t: string) => t < copy.window.start || t > copy.window.end)) {
      fail("Every time point must lie inside the daily window", [{ field: "content.times" }]);
    }
  }
  if (kind === "ALLOCATION") {
    if (new Set(copy.order).size !== ALLOCATION_COMPONENTS.length) fail("order must name each of PENALTY, FEE, INTEREST, PRINCIPAL once", [{ field: "content.order" }]);
  }
  if (kind === "FEE" && copy.agingBuckets) {
    for (const b of copy.agingBuckets) {
      if (b.maxDays !== undefined && b.maxDays < b.minDays) fail(`aging bucket ${b.name}: maxDays < minDays`, [{ field: "content.agingBuckets" }]);
    }
  }
  if (kind === "REMINDER") validateReminderContent(copy);
  if (kind === "CHANNEL_SETTINGS") {
    const codes = copy.channels.map((c: { code: string }) => c.code);
    if (new Set(codes).size !== codes.length) fail("Channel codes must be unique", [{ field: "content.channels" }]);
    // Breaker windows are counted in 10-second buckets.
    if (copy.circuitBreaker?.windowSeconds !== undefined && copy.circuitBreaker.windowSeconds % 10 !== 0) {
      fail("circuitBreaker.windowSeconds must be a multiple of 10", [{ field: "content.circuitBreaker.windowSeconds" }]);
    }
    copy.channels.forEach((c: { circuitBreaker?: { windowSeconds?: number } }, i: number) => {
      if (c.circuitBreaker?.windowSeconds !== undefined && c.circuitBreaker.windowSeconds % 10 !== 0) {
        fail("circuitBreaker.windowSeconds must be a multiple of 10", [{ field: `content.channels[${i}].circuitBreaker.windowSeconds` }]);
      }
    });
  }
  return copy;
}

/** REMINDER beyond the schema: overdue days only on OVERDUE, one of list / every N, known template variables. */
function validateReminderContent(copy: Record<string, any>): void {
  copy.rules.forEach((e: Record<string, any>, i: number) => {
    const field = `content.rules[${i}]`;
    if ((e.overdueDays !== undefined || e.everyDays !== undefined) && e.trigger !== "OVERDUE") fail("overdueDays and everyDays apply to OVERDUE only", [{ field }]);
    if (e.overdueDays !== undefined && e.everyDays !== undefined) fail("Give overdueDays or everyDays, not both", [{ field }]);
    if (e.overdueDays) {
      if (new Set(e.overdueDays).size !== e.overdueDays.length) fail("overdueDays must be unique", [{ field: `${field}.overdueDays` }]);
      e.overdueDays = [...e.overdueDays].sort((a: number, b: number) => a - b);
    }
    if (e.time !== undefined && EVENT_TRIGGERS.includes(e.trigger)) fail(`${e.trigger} is sent when the trade event arrives: it takes no time`, [{ field: `${field}.time` }]);
    const unknown = unknownPlaceholders(e.template);
    if (unknown.length) fail(`Unknown template variables ${unknown.map((u) => `{${u}}`).join(", ")}; known: ${TEMPLATE_VARIABLES.map((t) => `{${t}}`).join(", ")}`, [{ field: `${field}.template`, unknown }]);
  });
  if (copy.quietHours && copy.quietHours.start === copy.quietHours.end) fail("quietHours.start and end must differ", [{ field: "content.quietHours" }]);
}

/** A scope's identity, used as a unique key: one live rule set per kind, scope and start date. */
export function scopeKey(kind: RuleKind, scope: RuleScope, effectiveFrom: string): string {
  return [kind, scope.bizType ?? "*", scope.funderId ?? "*", scope.productCode ?? "*", effectiveFrom].join("|");
}

function specificity(scope: RuleScope): number {
  // productCode is the most specific, then funderId, then bizType.
  return (scope.productCode ? 4 : 0) + (scope.funderId ? 2 : 0) + (scope.bizType ? 1 : 0);
}

function matches(scope: RuleScope, target: RuleScope): boolean {
  return (
    (!scope.bizType || scope.bizType === target.bizType) &&
    (!scope.funderId || scope.funderId === target.funderId) &&
    (!scope.productCode || scope.productCode === target.productCode)
  );
}

/**
 * The rule set that applies to `target` on `date`: enabled, not deleted, scope matching, effective
 * on or before the date; the most specific scope wins, then the latest effective date.
 */
export function resolveRule<T extends RuleSet<any>>(rules: readonly T[], kind: RuleKind, target: RuleScope, date: string): T | null {
  let best: T | null = null;
  for (const r of rules) {
    if (r.kind !== kind || !r.enabled || r.deleted || r.effectiveFrom > date || !matches(r.scope, target)) continue;
    if (
      !best ||
      specificity(r.scope) > specificity(best.scope) ||
      (specificity(r.scope) === specificity(best.scope) && r.effectiveFrom > best.effectiveFrom)
    ) {
      best = r;
    }
  }
  return best;
}
