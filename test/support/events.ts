/** Listens to mesh events on a test node, deduping on the event id as every consumer must (delivery is at least once). */
import type { TestNode } from "./node";

export function spy(node: TestNode, names: string[]): Array<{ event: string; params: any }> {
  const seen: Array<{ event: string; params: any }> = [];
  const ids = new Set<string>();
  const events = Object.fromEntries(
    names.map((n) => [
      n,
      (ctx: any) => {
        if (ctx.params.eventId && ids.has(ctx.params.eventId)) return;
        ids.add(ctx.params.eventId);
        seen.push({ event: n, params: ctx.params });
      },
    ]),
  );
  node.broker.createService({ name: `spy-${Math.random().toString(36).slice(2, 8)}`, events });
  return seen;
}
