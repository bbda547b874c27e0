/** clock: the business clock and, with TEST_CLOCK=1, the test clock. */
import type { ValidationSchema } from "fastest-validator";
import type { ClockMove } from "../domain/clock";

export type MoveClockParams = ClockMove;
export const moveClockParams = {
  $$strict: true,
  to: { type: "string", min: 10, max: 40, optional: true },
  advanceSeconds: { type: "number", integer: true, min: 0, max: 10 * 366 * 86400, optional: true },
  advanceDays: { type: "number", integer: true, min: 0, max: 10 * 366, optional: true },
  frozen: { type: "boolean", optional: true },
} satisfies ValidationSchema<MoveClockParams>;

export interface ClockView {
  now: string;
  businessDate: string;
  localTime: string;
  timeZone: string;
  frozen: boolean;
  version: number;
  testClock: boolean;
}
