/** Who asked: the API key's user over REST (set by the gateway), "mesh" for calls between services. */
import type { Context } from "moleculer";

export function actorOf(ctx: Context): string {
  return (ctx.meta as { user?: { name?: string } } | undefined)?.user?.name ?? "mesh";
}
