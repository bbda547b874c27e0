/**
 * clock — owns the business clock's state (a single document). Every service reads business time
 * through ClockMixin; with TEST_CLOCK=1 ops and tests can freeze and move it forward.
 */
import type { Context, ServiceSchema } from "moleculer";
import { actorOf } from "../mixins/actor";
import type { Config } from "../config";
import { BusinessClock, moveClock, SYSTEM_CLOCK, type ClockState } from "../domain/clock";
import { DomainError } from "../domain/errors";
import { moveClockParams, type ClockView, type MoveClockParams } from "../contracts/clock.contract";
import { StoreMixin } from "../mixins/store.mixin";

const STATE_ID = "business-clock";

export default function clockService(cfg: Config): ServiceSchema {
  return {
    name: "clock",
    mixins: [StoreMixin({ collection: "clock" }, cfg)],
    settings: { rest: "/" },
    actions: {
      /** Internal: the raw state every node applies. */
      state: {
        visibility: "public",
        handler(this: any): ClockState {
          return this.clock.current;
        },
      },
      get: {
        rest: "GET /test-clock",
        doc: { summary: "Read the business clock", tags: ["clock"] },
        handler(this: any): ClockView {
          return this.view();
        },
      },
      move: {
        rest: "POST /test-clock",
        params: moveClockParams,
        doc: { summary: "Freeze or move the business clock forward (TEST_CLOCK=1 only)", tags: ["clock"], role: "admin" },
        async handler(this: any, ctx: Context<MoveClockParams>): Promise<ClockView> {
          if (!cfg.testClock) throw new DomainError("TEST_CLOCK_DISABLED", "The test clock is off; start the node with TEST_CLOCK=1");
          const p = ctx.params;
          if (p.to === undefined && p.advanceSeconds === undefined && p.advanceDays === undefined && p.frozen === undefined) {
            throw new DomainError("VALIDATION_ERROR", "Give to, advanceSeconds, advanceDays or frozen", { field: "to" });
          }
          const current: ClockState = this.clock.current;
          const next = moveClock(current, p, Date.now(), cfg.timeZone);
          // Compare-and-set on the version: two concurrent moves cannot both apply to the same state.
          const saved = await this.store.updateOne({ _id: STATE_ID, version: current.version }, { $set: next });
          if (!saved) throw new DomainError("VERSION_CONFLICT", "The clock was moved concurrently; read it and try again");
          this.clock.apply(next);
          this.logger.info(`Business clock moved to ${this.clock.iso()} by ${actorOf(ctx)}`);
          await this.broker.broadcast("clock.changed", next);
          return this.view();
        },
      },
    },
    methods: {
      view(this: any): ClockView {
        return { ...this.clock.describe(), testClock: cfg.testClock };
      },
    },
    created(this: any) {
      this.clock = new BusinessClock(cfg.timeZone);
    },
    async onStoreReady(this: any) {
      let state: ClockState | null = await this.store.findById(STATE_ID);
      if (!state) {
        try {
          state = await this.store.insert({ _id: STATE_ID, ...SYSTEM_CLOCK });
        } catch {
          state = await this.store.findById(STATE_ID);
        }
      }
      // A test clock left behind by a TEST_CLOCK run never leaks into a production start.
      if (state && cfg.testClock) this.clock.apply({ offsetMs: state.offsetMs, frozenAt: state.frozenAt, version: state.version });
      else if (state && state.version > 0) this.logger.warn("A test-clock state is stored but TEST_CLOCK is off: using real time");
    },
  } as ServiceSchema;
}
