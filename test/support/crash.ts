/**
 * Simulated process death between two steps: the first `times` calls of `action` throw, either
 * before the call (it never took effect) or after it (it took effect, the caller never heard).
 */
import type { Middleware } from "moleculer";

export function crashOn(action: string, opts: { times?: number; after?: boolean; message?: string } = {}): Middleware {
  let left = opts.times ?? 1;
  const message = opts.message ?? "simulated process death";
  return {
    name: "Crash",
    call(next: any) {
      return async (actionName: any, params: any, callOpts: any) => {
        if (actionName !== action || left <= 0) return next(actionName, params, callOpts);
        left--;
        if (opts.after) await next(actionName, params, callOpts);
        throw new Error(message);
      };
    },
  } as unknown as Middleware;
}
