/**
 * Domain errors: one closed set of upper-case codes. Services map them to
 * MoleculerClientError(message, status, code, data) — see mixins/errors.ts.
 */
export const ERROR_STATUS = {
  VALIDATION_ERROR: 422,
  INVALID_AMOUNT: 422,
  INVALID_RATE: 422,
  INVALID_DATE: 422,
  INVALID_TERM: 422,
  INVALID_SCHEDULE: 422,
  UNSUPPORTED_METHOD: 422,
  INVALID_RULE: 422,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  ORDER_CONFLICT: 409,
  DUPLICATE_KEY: 409,
  VERSION_CONFLICT: 409,
  ILLEGAL_TRANSITION: 409,
  TEST_CLOCK_DISABLED: 403,
  TRADE_IN_FLIGHT: 409,
  POSITION_INSUFFICIENT: 409,
  PAYOUT_CONFLICT: 409,
  NO_CHANNEL: 422,
  BINDING_STATE: 409,
  SIGN_FAILED: 422,
  CHANNEL_UNAVAILABLE: 503,
  CLOCK_BACKWARDS: 422,
  RESCHEDULE_UNSUPPORTED: 422,
  PLAN_SETTLED: 409,
  PLAN_STATE: 409,
  OPERATION_CONFLICT: 409,
  AMOUNT_MISMATCH: 422,
  /** An offline repayment above what the plan owes, without allowOverpayment. */
  OVERPAYMENT: 422,
  SETTLEMENT_PENDING: 409,
  TRANSFER_SAME_FUNDER: 422,
  TRANSFER_STATE: 409,
  STATEMENT_INVALID: 422,
  RECONCILIATION_RUNNING: 409,
  DISCREPANCY_RESOLVED: 409,
  WEBHOOK_STATE: 409,
  ALERT_STATE: 409,
  /** A step inside the system failed (e.g. an internal action refused our own parameters): never the caller's fault. */
  INTERNAL_ERROR: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly data: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, data: Record<string, unknown> = {}) {
    super(message);
    this.name = "DomainError";
    this.code = code;
    this.data = data;
  }
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export function isDomainError(err: unknown): err is DomainError {
  return err instanceof DomainError;
}
