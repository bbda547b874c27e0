/**
 * The ledger core's rules on in-memory stores with the real stores' semantics (NeDB): pending steps
 * written with the outcome, idempotent steps, audited late successes, and a late payout that races
 * with the release of its failure — the amount leaves the position exactly once in every order.
 */
import Datastore from "@seald-io/nedb";
import { LedgerCore } from "../../../domain/ledger-core";
import { NedbStore } from "../../../mixins/store.mixin";
import type { Store } from "../../../domain/store";
import type { Flow, Position, Trade } from "../../../contracts/ledger.contract";
import type { HistoryRecord } from "../../../domain/history";

function core() {
  const store = <T extends { _id: string }>(name: string, unique?: string): Store<T> => {
    const db = new Datastore();
    if (unique) void db.ensureIndexAsync({ fieldName: unique, unique: true, sparse: true });
    return new NedbStore<any>(name, db) as unknown as Store<T>;
  };
  const trades = store<Trade>("trades", "openKey");
  const flows = store<Flow>("flows");
  const positions = store<Position>("positions");
  const positionMoves = store<HistoryRecord>("positionMoves");
  const ledger = new LedgerCore({ trades, flows, positions, positionMoves, iso: () => "2026-02-15T04:00:00.000Z", today: () => "2026-02-15" });
  return { ledger, trades, flows, positions, positionMoves };
}

async function failedPayout(l: LedgerCore) {
  await l.adjust("BANK_A", { amount: "1000.00", direction: "TOP_UP", reason: "float", by: "test" });
  await l.open({ tradeNo: "P-PO-1-1", kind: "PAYOUT", amount: "300.00", channel: "BANK_A", openKey: "PO-1", attempt: 1, payoutNo: "PO-1", partition: 0 } as any);
  await l.transition({ tradeNo: "P-PO-1-1", from: "INIT", to: "SENDING" });
  await l.reserve({ channel: "BANK_A", tradeNo: "P-PO-1-1", amount: "300.00" });
  const failed = await l.transition({ tradeNo: "P-PO-1-1", from: "SENDING", to: "FAILED", failure: { reason: "NOT_RECEIVED", side: "CHANNEL" } });
  expect(failed.trade.pending).toEqual(["RELEASE"]);
}

describe("ledger core", () => {
  it("refuses a top-up that would take a position past 15 integer digits, and changes nothing", async () => {
    const { ledger, positions } = core();
    await ledger.adjust("BANK_A", { amount: "999999999999000.00", direction: "TOP_UP", reason: "float", by: "test" });
    await expect(ledger.adjust("BANK_A", { amount: "1000.00", direction: "TOP_UP", reason: "float", by: "test" })).rejects.toMatchObject({ code: "INVALID_AMOUNT" });
    expect((await positions.findById("BANK_A"))?.balance).toBe("999999999999000.00");
    await ledger.adjust("BANK_A", { amount: "999.99", direction: "TOP_UP", reason: "float", by: "test" });
    expect((await positions.findById("BANK_A"))?.balance).toBe("999999999999999.99");
  });

  it("writes a debit's steps with its outcome; each step finishes once", async () => {
    const { ledger, flows, trades } = core();
    await ledger.open({ tradeNo: "D-P1-S-1", kind: "DEBIT", amount: "100.00", channel: "BANK_A", openKey: "P1", attempt: 1, planId: "P1", partition: 0 } as any);
    await ledger.transition({ tradeNo: "D-P1-S-1", from: "INIT", to: "SENDING" });
    const ok = await ledger.transition({ tradeNo: "D-P1-S-1", from: "SENDING", to: "SUCCESS", channelRef: "R1" });
    expect(ok.changed).toBe(true);
    // The flow is written at once (best effort) and its step pulled; APPLY waits for the plan.
    expect((await trades.findById("D-P1-S-1"))!.pending).toEqual(["APPLY"]);
    expect(await flows.count({ tradeNo: "D-P1-S-1" })).toBe(1);
    expect(await ledger.finishFlow("D-P1-S-1")).toEqual({ changed: false });
    expect(await flows.count({ tradeNo: "D-P1-S-1" })).toBe(1);
    expect(await ledger.completeStep("D-P1-S-1", "APPLY")).toEqual({ changed: true });
    expect(await ledger.completeStep("D-P1-S-1", "APPLY")).toEqual({ changed: false });
    expect(await trades.findById("D-P1-S-1")).toMatchObject({ pending: [], applied: true });
    // A lost compare-and-set reports the recorded trade.
    expect(await ledger.transition({ tradeNo: "D-P1-S-1", from: "SENDING", to: "FAILED" })).toMatchObject({ changed: false, trade: { state: "SUCCESS" } });
  });

  it("records a late success once, audited, and refuses one for a trade that is not FAILED", async () => {
    const { ledger } = core();
    await ledger.open({ tradeNo: "D-P2-S-1", kind: "DEBIT", amount: "100.00", channel: "BANK_A", openKey: "P2", attempt: 1, planId: "P2", partition: 0 } as any);
    await expect(ledger.lateSuccess({ tradeNo: "D-P2-S-1", source: "QUERY" })).rejects.toMatchObject({ code: "ILLEGAL_TRANSITION" });
    await ledger.transition({ tradeNo: "D-P2-S-1", from: "INIT", to: "FAILED", failure: { reason: "STALE_INIT", side: "CHANNEL" } });
    const late = await ledger.lateSuccess({ tradeNo: "D-P2-S-1", source: "STATEMENT" });
    expect(late).toMatchObject({ changed: true, trade: { state: "SUCCESS", applied: false, pending: ["APPLY"], lateSuccess: { source: "STATEMENT", previousFailure: { reason: "STALE_INIT" } } } });
    expect(await ledger.lateSuccess({ tradeNo: "D-P2-S-1", source: "QUERY" })).toMatchObject({ changed: false });
  });

  /** The sweep's part: the trade's pending steps, as domain/debit-flow.ts finishSteps runs them. */
  let finish: (l: LedgerCore) => Promise<void>;
  const orders: Array<[string, (l: LedgerCore) => Promise<void>]> = [
    ["the release first, then the late success", async (l) => {
      await l.release({ channel: "BANK_A", tradeNo: "P-PO-1-1" });
      await l.lateSuccess({ tradeNo: "P-PO-1-1", source: "QUERY" });
      await finish(l);
    }],
    ["the late success first, then a release still on its way", async (l) => {
      await l.lateSuccess({ tradeNo: "P-PO-1-1", source: "QUERY" });
      await finish(l);
      await l.release({ channel: "BANK_A", tradeNo: "P-PO-1-1" });
    }],
    ["the late success between the release and its step's completion, then the sweep", async (l) => {
      await l.release({ channel: "BANK_A", tradeNo: "P-PO-1-1" });
      await l.lateSuccess({ tradeNo: "P-PO-1-1", source: "SENDER" });
      await l.completeStep("P-PO-1-1", "RELEASE");
      await l.sweepReservations();
      await finish(l);
    }],
    ["the late success, then only the reservation sweep", async (l) => {
      await l.lateSuccess({ tradeNo: "P-PO-1-1", source: "QUERY" });
      await l.sweepReservations();
      await finish(l);
    }],
  ];

  it.each(orders)("a late payout success takes the amount from the position once: %s", async (_name, steps) => {
    const { ledger, positions, trades } = core();
    finish = async (l) => {
      const t = (await trades.findById("P-PO-1-1"))!;
      const move = { channel: t.channel, tradeNo: t.tradeNo, amount: t.amount };
      for (const step of t.pending ?? []) {
        if (step === "COMMIT") await l.commit(move);
        if (step === "RELEASE") await l.release(move);
        if (step === "LATE_COMMIT") await l.commitLate(move);
        await l.completeStep(t.tradeNo, step);
      }
    };
    await failedPayout(ledger);
    await steps(ledger);
    await steps(ledger).catch(() => undefined); // a replay of everything changes nothing
    const pos = (await positions.findById("BANK_A"))!;
    expect(pos).toMatchObject({ balance: "700.00", reserved: "0.00", reservations: {}, lateCommits: { "P-PO-1-1": "300.00" } });
  });
});
