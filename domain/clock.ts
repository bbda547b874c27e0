/**
 * The business clock. All business time (due dates, slots, accruals, audit stamps) reads it, so
 * tests and demos can move the date the way Kill Bill's and Stripe's test clocks do.
 *
 * State: either running (real time + offset) or frozen at an instant. The first move may set any
 * instant (a demo or a test starts at its own date, as with Stripe's test clocks); after that,
 * moves only go forward: idempotency keys and accruals are keyed by business dates, and a clock
 * that went back would replay them.
 */
import { DateTime } from "luxon";
import { DomainError } from "./errors";

export interface ClockState {
  /** Milliseconds added to real time while running. */
  offsetMs: number;
  /** When set, time stands still at this epoch millisecond. */
  frozenAt: number | null;
  /** Bumped on every change so that nodes apply updates in order. */
  version: number;
}

export interface ClockMove {
  /** Set the business time to this ISO-8601 instant (must carry a zone or offset, or is read in the business zone). */
  to?: string;
  /** Move forward by this many seconds / days. */
  advanceSeconds?: number;
  advanceDays?: number;
  /** Freeze (true) or let time run from the current business instant (false). */
  frozen?: boolean;
}

export const SYSTEM_CLOCK: ClockState = Object.freeze({ offsetMs: 0, frozenAt: null, version: 0 });

export function clockNow(state: ClockState, realNow: number): number {
  return state.frozenAt ?? realNow + state.offsetMs;
}

/** Pure: the next clock state for a move, or a DomainError. */
export function moveClock(state: ClockState, move: ClockMove, realNow: number, timeZone: string): ClockState {
  const current = clockNow(state, realNow);
  let target = current;
  if (move.to !== undefined) {
    const dt = DateTime.fromISO(move.to, { zone: timeZone, setZone: false });
    if (!dt.isValid) throw new DomainError("INVALID_DATE", "to must be an ISO-8601 date-time", { field: "to" });
    target = dt.toMillis();
  }
  target += (move.advanceSeconds ?? 0) * 1000 + (move.advanceDays ?? 0) * 86_400_000;
  if (target < current && state.version > 0) {
    throw new DomainError("CLOCK_BACKWARDS", "The business clock only moves forward", {
      current: new Date(current).toISOString(),
      requested: new Date(target).toISOString(),
    });
  }
  const frozen = move.frozen ?? state.frozenAt !== null;
  return frozen
    ? { offsetMs: 0, frozenAt: target, version: state.version + 1 }
    : { offsetMs: target - realNow, frozenAt: null, version: state.version + 1 };
}

/** A clock bound to a time zone, reading a state that the clock service keeps current. */
export class BusinessClock {
  private state: ClockState = SYSTEM_CLOCK;
  private day: { start: number; end: number; date: string } | null = null;
  constructor(
    readonly timeZone: string,
    private readonly realNow: () => number = Date.now,
  ) {}

  /** Apply a newer state; older or equal versions are ignored (events may arrive out of order). */
  apply(state: ClockState): boolean {
    if (state.version <= this.state.version && this.state.version !== 0) return false;
    this.state = { ...state };
    return true;
  }

  get current(): ClockState {
    return { ...this.state };
  }

  nowMs(): number {
    return clockNow(this.state, this.realNow());
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  /** ISO instant, e.g. for createdAt stamps. */
  iso(): string {
    return this.now().toISOString();
  }

  /** The business date (YYYY-MM-DD) in the business time zone (the day's bounds are cached: hot path). */
  today(): string {
    const now = this.nowMs();
    const d = this.day;
    if (d && now >= d.start && now < d.end) return d.date;
    const dt = DateTime.fromMillis(now, { zone: this.timeZone });
    this.day = { start: dt.startOf("day").toMillis(), end: dt.endOf("day").toMillis() + 1, date: dt.toISODate() as string };
    return this.day.date;
  }

  /** Local wall time HH:mm in the business time zone. */
  localTime(): string {
    return DateTime.fromMillis(this.nowMs(), { zone: this.timeZone }).toFormat("HH:mm");
  }

  describe(): { now: string; businessDate: string; localTime: string; timeZone: string; frozen: boolean; version: number } {
    return {
      now: this.iso(),
      businessDate: this.today(),
      localTime: this.localTime(),
      timeZone: this.timeZone,
      frozen: this.state.frozenAt !== null,
      version: this.state.version,
    };
  }
}
