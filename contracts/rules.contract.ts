/** rules: versioned, audited rule sets of every configurable behaviour. */
import type { ValidationSchema } from "fastest-validator";
import { RULE_KINDS, type RuleKind, type RuleScope } from "../domain/rules";
import { optionalDateRule, optionalIdRule, pageRules, type PageParams } from "./common";

const kindRule = { type: "enum", values: [...RULE_KINDS] } as const;
const scopeRule = {
  type: "object",
  strict: true,
  optional: true,
  props: { bizType: { type: "enum", values: ["LEASE", "CONSUMER", "SUPPLY_CHAIN"], optional: true }, funderId: optionalIdRule, productCode: optionalIdRule },
} as const;
const ruleIdRule = { type: "string", pattern: "^RS-[A-Za-z0-9-]{1,60}$" } as const;

export interface CreateRuleParams {
  kind: RuleKind;
  name: string;
  scope?: RuleScope;
  effectiveFrom?: string;
  enabled?: boolean;
  content: Record<string, unknown>;
}
export const createRuleParams = {
  $$strict: true,
  kind: kindRule,
  name: { type: "string", min: 1, max: 120, trim: true },
  scope: scopeRule,
  effectiveFrom: optionalDateRule,
  enabled: { type: "boolean", optional: true },
  content: { type: "object" },
} satisfies ValidationSchema<CreateRuleParams>;

export interface UpdateRuleParams {
  id: string;
  expectedVersion: number;
  name?: string;
  effectiveFrom?: string;
  enabled?: boolean;
  content?: Record<string, unknown>;
}
export const updateRuleParams = {
  $$strict: true,
  id: ruleIdRule,
  expectedVersion: { type: "number", integer: true, min: 1 },
  name: { type: "string", min: 1, max: 120, trim: true, optional: true },
  effectiveFrom: optionalDateRule,
  enabled: { type: "boolean", optional: true },
  content: { type: "object", optional: true },
} satisfies ValidationSchema<UpdateRuleParams>;

export interface RuleIdParams {
  id: string;
}
export const ruleIdParams = { $$strict: true, id: ruleIdRule } satisfies ValidationSchema<RuleIdParams>;

export interface RemoveRuleParams {
  id: string;
  expectedVersion?: number;
}
export const removeRuleParams = {
  $$strict: true,
  id: ruleIdRule,
  expectedVersion: { type: "number", integer: true, min: 1, optional: true, convert: true },
} satisfies ValidationSchema<RemoveRuleParams>;

export interface ListRulesParams extends PageParams {
  kind?: RuleKind;
  bizType?: string;
  funderId?: string;
  productCode?: string;
  includeDeleted?: boolean;
}
export const listRulesParams = {
  $$strict: true,
  ...pageRules,
  kind: { ...kindRule, optional: true },
  bizType: { type: "enum", values: ["LEASE", "CONSUMER", "SUPPLY_CHAIN"], optional: true },
  funderId: optionalIdRule,
  productCode: optionalIdRule,
  includeDeleted: { type: "boolean", optional: true, convert: true },
} satisfies ValidationSchema<ListRulesParams>;

export interface ResolveRuleParams {
  kind: RuleKind;
  bizType?: string;
  funderId?: string;
  productCode?: string;
  date?: string;
}
export const resolveRuleParams = {
  $$strict: true,
  kind: kindRule,
  bizType: { type: "enum", values: ["LEASE", "CONSUMER", "SUPPLY_CHAIN"], optional: true },
  funderId: optionalIdRule,
  productCode: optionalIdRule,
  date: optionalDateRule,
} satisfies ValidationSchema<ResolveRuleParams>;

export interface AuditParams extends PageParams {
  kind?: RuleKind;
}
export const auditParams = { $$strict: true, ...pageRules, kind: { ...kindRule, optional: true } } satisfies ValidationSchema<AuditParams>;

export type AuditAction = "CREATE" | "UPDATE" | "DELETE" | "SEED";

/** One entry of a rule set's audit trail: who, when, what, before and after. */
export interface RuleAuditEntry {
  version: number;
  action: AuditAction;
  by: string;
  at: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

/** Event `rules.changed`: caches holding this kind refresh. */
export interface RulesChangedEvent {
  ruleId: string;
  kind: RuleKind;
  version: number;
  action: AuditAction;
}
