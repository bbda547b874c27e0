/**
 * rules — owns rule sets: versioned (compare-and-set on `version`), audited (the trail is written in
 * the same document update as the change, so it cannot be lost), validated per kind, seeded from
 * config/defaults on first start, and announced with `rules.changed` so caches refresh without a
 * release.
 */
import crypto from "node:crypto";
import type { Context, ServiceSchema } from "moleculer";
import type { Config } from "../config";
import { DomainError } from "../domain/errors";
import { RULE_CONTENT_SCHEMAS, RULE_KINDS, resolveRule, scopeKey, validateRuleContent, type RuleKind, type RuleSet } from "../domain/rules";
import type { Page } from "../contracts/common";
import {
  auditParams,
  createRuleParams,
  listRulesParams,
  removeRuleParams,
  resolveRuleParams,
  ruleIdParams,
  updateRuleParams,
  type AuditAction,
  type AuditParams,
  type CreateRuleParams,
  type ListRulesParams,
  type RemoveRuleParams,
  type ResolveRuleParams,
  type RuleAuditEntry,
  type RuleIdParams,
  type RulesChangedEvent,
  type UpdateRuleParams,
} from "../contracts/rules.contract";
import { findPage, StoreMixin } from "../mixins/store.mixin";
import { AuditHistory, type HistoryRecord } from "../domain/history";
import { ClockMixin } from "../mixins/clock.mixin";
import defaults from "../config/defaults/rules.json";

export interface StoredRule extends RuleSet {
  scopeKey: string;
  createdBy: string;
  createdAt: string;
  updatedBy: string;
  updatedAt: string;
  /** The last RULE_HISTORY_KEEP changes; all of them are in ruleHistory (domain/history.ts). */
  history: RuleAuditEntry[];
  /** Every change numbered (by version) at or below this is in ruleHistory. */
  historyCopied?: number;
}

/**
 * Changes a rule set's document keeps. The audit trail itself (every change with the content before
 * and after) is in the ruleHistory collection, never cut: a rule changed for years stays small.
 */
export const RULE_HISTORY_KEEP = 10;

export type RuleView = Omit<StoredRule, "_id" | "scopeKey" | "history" | "historyCopied"> & { id: string };

export function ruleView(r: StoredRule): RuleView {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { _id, scopeKey: _k, history, historyCopied: _c, ...rest } = r;
  return { id: _id, ...rest };
}

/** A ruleHistory record as the audit shows it. */
function auditEntry(r: HistoryRecord): RuleAuditEntry & { ruleId: string; kind: string; name: string } {
  const { _id: _i, seq: _s, ...entry } = r;
  return entry as RuleAuditEntry & { ruleId: string; kind: string; name: string };
}

function snapshot(r: StoredRule): Record<string, unknown> {
  return { name: r.name, scope: r.scope, effectiveFrom: r.effectiveFrom, enabled: r.enabled, content: r.content, deleted: r.deleted };
}

function actor(ctx: Context): string {
  const user = (ctx.meta as { user?: { name?: string } })?.user;
  return user?.name ?? "mesh";
}

export default function rulesService(cfg: Config): ServiceSchema {
  return {
    name: "rules",
    mixins: [
      StoreMixin(
        {
          collection: "rules",
          indexes: [{ field: "scopeKey", unique: true }, { field: "kind" }],
          more: [
            {
              collection: "ruleHistory",
              // The audit list pages by time: MongoDB from its keys, the file store sorts (rule changes are few).
              indexes: [{ field: "ruleId" }, { fields: { ruleId: 1, seq: -1 } }, { fields: { at: -1, seq: -1 } }, { fields: { kind: 1, at: -1, seq: -1 } }],
            },
          ],
        },
        cfg,
      ),
      ClockMixin(cfg.timeZone),
    ],
    settings: { rest: "/" },
    actions: {
      kinds: {
        rest: "GET /rules/kinds",
        doc: { summary: "Rule kinds and the schema of each kind's content", tags: ["rules"] },
        handler() {
          return RULE_KINDS.map((kind) => ({ kind, schema: RULE_CONTENT_SCHEMAS[kind] }));
        },
      },
      create: {
        rest: "POST /rules",
        params: createRuleParams,
        doc: { summary: "Create a rule set (validated per kind, audited)", tags: ["rules"], role: "ops" },
        async handler(this: any, ctx: Context<CreateRuleParams>): Promise<RuleView> {
          const p = ctx.params;
          const content = validateRuleContent(p.kind, p.content);
          const effectiveFrom = p.effectiveFrom ?? this.clock.today();
          this.checkDate(effectiveFrom);
          const now = this.clock.iso();
          const by = actor(ctx);
          const rule: StoredRule = {
            _id: "RS-" + crypto.randomUUID(),
            kind: p.kind,
            name: p.name,
            scope: this.cleanScope(p.scope),
            effectiveFrom,
            enabled: p.enabled ?? true,
            content,
            version: 1,
            deleted: false,
            scopeKey: scopeKey(p.kind, p.scope ?? {}, effectiveFrom),
            createdBy: by,
            createdAt: now,
            updatedBy: by,
            updatedAt: now,
            history: [],
            historyCopied: 0,
          };
          rule.history.push({ version: 1, action: "CREATE", by, at: now, before: null, after: snapshot(rule) });
          try {
            await this.store.insert(rule);
            await this.audited(rule, 1);
          } catch (err: any) {
            if (err?.code === "DUPLICATE_KEY") {
              throw new DomainError("DUPLICATE_KEY", "A rule set of this kind already exists for this scope and effective date", {
                kind: p.kind,
                scope: rule.scope,
                effectiveFrom,
              });
            }
            throw err;
          }
          await this.changed(ctx, rule, "CREATE");
          return ruleView(rule);
        },
      },
      list: {
        rest: "GET /rules",
        params: listRulesParams,
        doc: { summary: "Rule sets, filtered and paged", tags: ["rules"] },
        async handler(this: any, ctx: Context<ListRulesParams>): Promise<Page<RuleView>> {
          const query: Record<string, unknown> = {};
          if (ctx.params.kind) query.kind = ctx.params.kind;
          if (!ctx.params.includeDeleted) query.deleted = false;
          for (const f of ["bizType", "funderId", "productCode"] as const) if (ctx.params[f]) query[`scope.${f}`] = ctx.params[f];
          return findPage(this.store, query, ctx.params, { kind: 1, effectiveFrom: -1, _id: 1 }, ruleView);
        },
      },
      get: {
        rest: "GET /rules/:id",
        params: ruleIdParams,
        doc: { summary: "A rule set", tags: ["rules"] },
        async handler(this: any, ctx: Context<RuleIdParams>): Promise<RuleView> {
          return ruleView(await this.load(ctx.params.id));
        },
      },
      history: {
        rest: "GET /rules/:id/history",
        params: ruleIdParams,
        doc: { summary: "The audit trail of a rule set: who, when, before and after", tags: ["rules"] },
        async handler(this: any, ctx: Context<RuleIdParams>): Promise<RuleAuditEntry[]> {
          const rule: StoredRule = await this.load(ctx.params.id, true);
          const { rows } = await this.history.list(rule);
          return rows.map((r: HistoryRecord) => {
            const { ruleId: _r, kind: _k, name: _n, ...entry } = auditEntry(r);
            return entry;
          });
        },
      },
      update: {
        rest: "PUT /rules/:id",
        params: updateRuleParams,
        doc: { summary: "Change a rule set (compare-and-set on expectedVersion); the change is audited", tags: ["rules"], role: "ops" },
        async handler(this: any, ctx: Context<UpdateRuleParams>): Promise<RuleView> {
          const p = ctx.params;
          const current: StoredRule = await this.load(p.id);
          if (current.version !== p.expectedVersion) {
            throw new DomainError("VERSION_CONFLICT", `Rule set ${p.id} is at version ${current.version}, not ${p.expectedVersion}`, {
              currentVersion: current.version,
            });
          }
          const next: StoredRule = { ...current };
          if (p.name !== undefined) next.name = p.name;
          if (p.enabled !== undefined) next.enabled = p.enabled;
          if (p.content !== undefined) next.content = validateRuleContent(current.kind, p.content);
          if (p.effectiveFrom !== undefined) {
            this.checkDate(p.effectiveFrom);
            next.effectiveFrom = p.effectiveFrom;
          }
          next.scopeKey = scopeKey(current.kind, current.scope, next.effectiveFrom);
          return ruleView(await this.commit(ctx, current, next, "UPDATE"));
        },
      },
      remove: {
        rest: "DELETE /rules/:id",
        params: removeRuleParams,
        doc: { summary: "Delete a rule set (kept, marked deleted, audited)", tags: ["rules"], role: "admin" },
        async handler(this: any, ctx: Context<RemoveRuleParams>): Promise<RuleView> {
          const current: StoredRule = await this.load(ctx.params.id);
          if (ctx.params.expectedVersion !== undefined && ctx.params.expectedVersion !== current.version) {
            throw new DomainError("VERSION_CONFLICT", `Rule set ${current._id} is at version ${current.version}`, { currentVersion: current.version });
          }
          // Free the scope key so a replacement can be created for the same scope and date.
          const next: StoredRule = { ...current, deleted: true, enabled: false, scopeKey: `${current.scopeKey}#deleted#${current._id}` };
          return ruleView(await this.commit(ctx, current, next, "DELETE"));
        },
      },
      resolve: {
        rest: "GET /rules/resolve",
        params: resolveRuleParams,
        doc: { summary: "The rule set that applies to a scope on a date (default: today)", tags: ["rules"] },
        async handler(this: any, ctx: Context<ResolveRuleParams>): Promise<RuleView | null> {
          const { kind, date, ...target } = ctx.params;
          const on = date ?? this.clock.today();
          const candidates: StoredRule[] = await this.store.find({ kind, deleted: false, enabled: true });
          const best = resolveRule(candidates, kind, target, on);
          return best ? ruleView(best) : null;
        },
      },
      audit: {
        rest: "GET /rules-audit",
        params: auditParams,
        doc: { summary: "Who changed which rule set, newest first", tags: ["rules"] },
        async handler(this: any, ctx: Context<AuditParams>) {
          // A page of ruleHistory, in the store (a change whose copy a crash left undone shows once the rule is next written or read, or at the next start).
          return findPage(this.stores.ruleHistory, ctx.params.kind ? { kind: ctx.params.kind } : {}, ctx.params, { at: -1, seq: -1 }, auditEntry);
        },
      },
    },
    methods: {
      async load(this: any, id: string, includeDeleted = false): Promise<StoredRule> {
        const rule: StoredRule | null = await this.store.findById(id);
        if (!rule || (rule.deleted && !includeDeleted)) throw new DomainError("NOT_FOUND", `Rule set ${id} not found`, { id });
        return rule;
      },
      checkDate(date: string) {
        if (Number.isNaN(Date.parse(date + "T00:00:00Z")) || new Date(date + "T00:00:00Z").toISOString().slice(0, 10) !== date) {
          throw new DomainError("INVALID_DATE", `${date} is not a date`, { field: "effectiveFrom" });
        }
      },
      cleanScope(scope?: Record<string, string | undefined>) {
        const out: Record<string, string> = {};
        for (const k of ["bizType", "funderId", "productCode"]) if (scope?.[k]) out[k] = scope[k] as string;
        return out;
      },
      /** Compare-and-set on version; the audit entry travels in the same update. */
      async commit(this: any, ctx: Context, current: StoredRule, next: StoredRule, action: AuditAction): Promise<StoredRule> {
        const now = this.clock.iso();
        const by = actor(ctx);
        const version = current.version + 1;
        const entry: RuleAuditEntry = { version, action, by, at: now, before: snapshot(current), after: snapshot(next) };
        const audit = await this.history.prepare(current, entry, version);
        const saved: StoredRule | null = await this.store.updateOne(
          { _id: current._id, version: current.version },
          {
            $set: {
              name: next.name,
              enabled: next.enabled,
              content: next.content,
              effectiveFrom: next.effectiveFrom,
              deleted: next.deleted,
              scopeKey: next.scopeKey,
              version,
              updatedBy: by,
              updatedAt: now,
              ...audit.set,
            },
            $push: audit.push,
          },
        );
        if (!saved) {
          throw new DomainError("VERSION_CONFLICT", `Rule set ${current._id} was changed concurrently`, { id: current._id });
        }
        await this.audited(saved, version);
        await this.changed(ctx, saved, action);
        return saved;
      },
      /** Copy a change just written to ruleHistory (if this fails, the next write, a read or the next start copies it). */
      async audited(this: any, rule: StoredRule, version: number) {
        await this.history.written(rule, version).catch((err: Error) => this.logger.warn(`Change ${version} of rule set ${rule._id} not in ruleHistory yet: ${err.message}`));
      },
      async changed(this: any, ctx: Context, rule: StoredRule, action: AuditAction) {
        const event: RulesChangedEvent = { ruleId: rule._id, kind: rule.kind as RuleKind, version: rule.version, action };
        this.logger.info(`Rule set ${rule._id} (${rule.kind}) ${action} v${rule.version} by ${actor(ctx)}`);
        await ctx.broadcast("rules.changed", event);
      },
    },
    async onStoreReady(this: any) {
      this.history = new AuditHistory<StoredRule>(this.stores.ruleHistory, {
        parentField: "ruleId",
        keep: RULE_HISTORY_KEEP,
        seqOf: (e) => e.version,
        extra: (r) => ({ kind: r.kind, name: r.name }),
      });
      // Seed the defaults once; fixed ids make a concurrent or repeated seed harmless.
      if ((await this.store.count({})) > 0) {
        // Rule sets from before ruleHistory (or a copy a crash left undone): copied once, duplicates ignored.
        const n = await this.history.backfill(await this.store.find({}));
        if (n) this.logger.info(`Rule history: ${n} change(s) checked into ruleHistory`);
        return;
      }
      const now = new Date().toISOString();
      for (const d of defaults as Array<{ id: string; kind: RuleKind; name: string; content: Record<string, unknown> }>) {
        const effectiveFrom = "2000-01-01";
        const rule: StoredRule = {
          _id: d.id,
          kind: d.kind,
          name: d.name,
          scope: {},
          effectiveFrom,
          enabled: true,
          content: validateRuleContent(d.kind, d.content),
          version: 1,
          deleted: false,
          scopeKey: scopeKey(d.kind, {}, effectiveFrom),
          createdBy: "system",
          createdAt: now,
          updatedBy: "system",
          updatedAt: now,
          history: [],
          historyCopied: 0,
        };
        rule.history.push({ version: 1, action: "SEED", by: "system", at: now, before: null, after: snapshot(rule) });
        try {
          await this.store.insert(rule);
          await this.audited(rule, 1);
        } catch (err: any) {
          if (err?.code !== "DUPLICATE_KEY") throw err;
        }
      }
      this.logger.info(`Seeded ${defaults.length} default rule sets`);
    },
  } as ServiceSchema;
}
