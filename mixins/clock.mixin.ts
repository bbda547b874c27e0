/**
 * Gives a service `this.clock`: the business clock, kept current from the clock service
 * (`clock.state` at start, then the `clock.changed` broadcast).
 */
import type { ServiceSchema } from "moleculer";
import { BusinessClock, type ClockState } from "../domain/clock";

export function ClockMixin(timeZone: string): Partial<ServiceSchema> {
  return {
    dependencies: ["clock"],
    events: {
      "clock.changed": {
        handler(this: any, ctx: { params: ClockState }) {
          this.clock.apply(ctx.params);
        },
      },
    },
    created(this: any) {
      this.clock = new BusinessClock(timeZone);
      this.clockSynced = false;
    },
    async started(this: any) {
      const state = await this.broker.call("clock.state");
      this.clock.apply(state as ClockState);
      this.clockSynced = true; // jobs scheduled by time of day wait for this (partitioned-jobs mixin)
    },
  } as Partial<ServiceSchema>;
}
