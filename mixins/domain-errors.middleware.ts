/**
 * Broker middleware: a DomainError thrown by any local action leaves it as a
 * MoleculerClientError(message, status, CODE, data) — a 4xx, not retried — so the gateway and
 * remote callers see one shape. Validation errors keep Moleculer's 422 VALIDATION_ERROR, with the
 * offending values removed (they may be ID or card numbers). A store that cannot be reached answers
 * 503 STORE_UNAVAILABLE.
 */
import { Errors, type Middleware } from "moleculer";
import { isDomainError } from "../domain/errors";

export function scrubValidationDetails(data: unknown): unknown {
  if (!Array.isArray(data)) return data;
  return data.map((d) => {
    if (d && typeof d === "object") {
      // eslint-disable-next-line @typescript-eslint/no-unused-vars
      const { actual, nodeID, ...rest } = d as Record<string, unknown>;
      // fastest-validator writes a pattern's `expected` through generated code that drops its
      // backslashes (`^\d{12,19}$` came out as "/^d{12,19}$/"): the message says what is expected,
      // the OpenAPI document shows the pattern as written.
      if (rest.type === "stringPattern") delete rest.expected;
      return rest;
    }
    return d;
  });
}

export function toClientError(err: unknown): unknown {
  if (isDomainError(err)) {
    return new Errors.MoleculerClientError(err.message, err.status, err.code, err.data);
  }
  // The store could not be reached (mixins/mongo-store.ts): the caller may try again later.
  if ((err as { name?: string })?.name === "StoreUnavailableError") {
    return new Errors.MoleculerServerError((err as Error).message, 503, "STORE_UNAVAILABLE");
  }
  if (err instanceof Errors.ValidationError) {
    return new Errors.ValidationError(err.message, "VALIDATION_ERROR", scrubValidationDetails(err.data) as any);
  }
  return err;
}

export const DomainErrorsMiddleware: Middleware = {
  name: "DomainErrors",
  localAction(next: (ctx: any) => Promise<unknown>) {
    return function domainErrors(ctx: any) {
      return next(ctx).catch((err: unknown) => {
        throw toClientError(err);
      });
    };
  },
} as Middleware;
