/**
 * Gives a service `this.resolveRule(kind, scope, date)`: the rule set in force, cached per
 * (kind, scope, date) and dropped on `rules.changed`, so a rule change applies without a release.
 */
import type { ServiceSchema } from "moleculer";
import type { RuleKind, RuleScope } from "../domain/rules";

export function RulesCacheMixin(): Partial<ServiceSchema> {
  return {
    events: {
      "rules.changed": {
        handler(this: any, ctx: { params: { kind: RuleKind } }) {
          for (const key of [...this.ruleCache.keys()]) if (key.startsWith(ctx.params.kind + "|")) this.ruleCache.delete(key);
        },
      },
    },
    methods: {
      async resolveRule(this: any, kind: RuleKind, scope: RuleScope, date: string): Promise<{ id: string; version: number; content: any } | null> {
        const key = [kind, scope.bizType ?? "", scope.funderId ?? "", scope.productCode ?? "", date].join("|");
        let hit = this.ruleCache.get(key);
        if (!hit) {
          hit = this.broker.call("rules.resolve", { kind, date, ...scope }).catch((err: Error) => {
            this.ruleCache.delete(key);
            throw err;
          });
          if (this.ruleCache.size > 5000) this.ruleCache.clear();
          this.ruleCache.set(key, hit);
        }
        return hit;
      },
    },
    created(this: any) {
      this.ruleCache = new Map();
    },
  } as Partial<ServiceSchema>;
}
