/**
 * Bounded documents, whole histories: a position keeps its last moves and the positionMoves
 * collection all of them, whatever fails where (the copy after a write, the copy before the next);
 * positions from before the collection are copied whole; a trade's and a transfer's histories are
 * bounded by their state machines.
 */
import Datastore from "@seald-io/nedb";
import { LedgerCore, MAX_TRADE_HISTORY, POSITION_HISTORY_KEEP } from "../../../domain/ledger-core";
import type { HistoryRecord } from "../../../domain/history";
import { TRADE_STATES, TRADE_TRANSITIONS, type TradeState } from "../../../domain/trade-state";
import { NedbStore } from "../../../mixins/store.mixin";
import type { Store } from "../../../domain/store";
import type { Flow, Position, Trade } from "../../../contracts/ledger.contract";

function memory<T extends { _id: string }>(name: string): Store<T> {
  return new NedbStore<any>(name, new Datastore()) as unknown as Store<T>;
}

/** A store whose inserts fail while `failing()` says so (a crash or an outage at that moment). */
function failingInserts<T extends { _id: string }>(inner: Store<T>, failing: (doc: T) => boolean): Store<T> {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "insert") {
        return async (doc: T) => {
          if (failing(doc)) throw new Error("simulated crash before the history copy");
          return target.insert(doc);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

function ledger(opts: { failMoves?: (doc: HistoryRecord) => boolean } = {}) {
  const positions = memory<Position>("positions");
  const moves = memory<HistoryRecord>("positionMoves");
  const positionMoves = opts.failMoves ? failingInserts(moves, opts.failMoves) : moves;
  const warnings: string[] = [];
  const core = new LedgerCore({
    trades: memory<Trade>("trades"),
    flows: memory<Flow>("flows"),
    positions,
    positionMoves,
    iso: () => "2026-02-15T04:00:00.000Z",
    today: () => "2026-02-15",
    warn: (m) => warnings.push(m),
  });
  return { core, positions, moves, warnings };
}

const topUp = (core: LedgerCore, amount: string) => core.adjust("BANK_A", { amount, direction: "TOP_UP", reason: "float", by: "ops" });

describe("position history", () => {
  it("keeps the last moves in the position and every move in positionMoves, newest first", async () => {
    const { core, positions, moves } = ledger();
    for (let i = 1; i <= 45; i++) await topUp(core, "1.00");
    const pos = (await positions.findById("BANK_A"))!;
    expect(pos.balance).toBe("45.00");
    expect(pos.history).toHaveLength(POSITION_HISTORY_KEEP);
    expect(pos.history.at(-1)).toMatchObject({ seq: 45, action: "TOP_UP", balance: "45.00" });
    expect(await moves.count({ channel: "BANK_A" })).toBe(45);
    const page = await core.positionHistory("BANK_A", { skip: 0, limit: 10 });
    expect(page.total).toBe(45);
    expect(page.rows.map((r) => r.seq)).toEqual([45, 44, 43, 42, 41, 40, 39, 38, 37, 36]);
    expect(page.rows[0]).toMatchObject({ _id: "BANK_A:45", channel: "BANK_A", by: "ops", amount: "1.00", balance: "45.00", reason: "float" });
    const last = await core.positionHistory("BANK_A", { skip: 40, limit: 10 });
    expect(last.rows.map((r) => r.seq)).toEqual([5, 4, 3, 2, 1]);
  });

  it("loses no move when the copy after a write fails: the next write copies it first, a read copies the last", async () => {
    // The copy right after each write fails (the process died there); the next writer's copy works.
    let writing = 0;
    const { core, moves, warnings } = ledger({ failMoves: (doc) => doc.seq === writing });
    for (writing = 1; writing <= 30; writing++) await topUp(core, "1.00");
    expect(warnings).toHaveLength(30);
    // Each write copied its predecessor's move before writing: all but the last are in the collection…
    expect(await moves.count({ channel: "BANK_A" })).toBe(29);
    // …and a read copies the last one.
    const page = await core.positionHistory("BANK_A", { limit: 100 });
    expect(page.total).toBe(30);
    expect(page.rows.map((r) => r.seq)).toEqual(Array.from({ length: 30 }, (_, i) => 30 - i));
  });

  it("never drops an uncopied move: while copies fail, the next move is refused and the position unchanged", async () => {
    let fail = false;
    const { core, positions } = ledger({ failMoves: () => fail });
    await topUp(core, "5.00");
    fail = true;
    await topUp(core, "1.00"); // written; its copy failed (the position holds it)
    for (let i = 0; i < 3; i++) await expect(topUp(core, "1.00")).rejects.toThrow(/simulated crash/);
    const pos = (await positions.findById("BANK_A"))!;
    expect(pos.balance).toBe("6.00");
    expect(pos.history.map((h) => h.seq)).toEqual([1, 2]);
    fail = false;
    expect((await core.positionHistory("BANK_A")).rows.map((r) => [r.seq, r.balance])).toEqual([
      [2, "6.00"],
      [1, "5.00"],
    ]);
  });

  it("copies a position from before the collection whole (its moves numbered below the new ones), then caps it", async () => {
    const { core, positions, moves } = ledger();
    const legacy = Array.from({ length: 60 }, (_, i) => ({ at: "2025-01-01T00:00:00.000Z", by: "ops", action: "TOP_UP", amount: "1.00", balance: `${i + 1}.00`, reason: "old" }));
    await positions.insert({ _id: "BANK_A", channel: "BANK_A", balance: "60.00", reserved: "0.00", reservations: {}, lowWatermark: "0.00", version: 60, history: legacy, updatedAt: "2025-01-01T00:00:00.000Z" });
    expect(await core.backfillPositionHistory()).toBe(60);
    expect(await core.backfillPositionHistory()).toBe(60); // again: the same records (duplicates ignored)
    expect(await moves.count({})).toBe(60);
    await topUp(core, "1.00");
    const pos = (await positions.findById("BANK_A"))!;
    expect(pos.history).toHaveLength(POSITION_HISTORY_KEEP);
    expect(pos.historyCopied).toBe(-1);
    const all = await core.positionHistory("BANK_A", { limit: 100 });
    expect(all.total).toBe(61);
    expect(all.rows[0]).toMatchObject({ seq: 61, balance: "61.00" });
    expect(all.rows.slice(1).map((r) => r.balance)).toEqual(Array.from({ length: 60 }, (_, i) => `${60 - i}.00`));
    // The capped position's old entries are not copied again under other numbers.
    await topUp(core, "1.00");
    expect(await moves.count({})).toBe(62);
  });

  it("records payouts' moves too (commit, late payout), each once however often replayed", async () => {
    const { core, moves } = ledger();
    await topUp(core, "100.00");
    await core.reserve({ channel: "BANK_A", tradeNo: "P-1-1", amount: "10.00" });
    await core.commit({ channel: "BANK_A", tradeNo: "P-1-1" });
    await core.commit({ channel: "BANK_A", tradeNo: "P-1-1" });
    await core.commitLate({ channel: "BANK_A", tradeNo: "P-2-1", amount: "5.00" });
    await core.commitLate({ channel: "BANK_A", tradeNo: "P-2-1", amount: "5.00" });
    const rows = (await moves.find({}, { sort: { seq: 1 } })).map((r) => [r.action, r.amount, r.balance]);
    expect(rows).toEqual([
      ["TOP_UP", "100.00", "100.00"],
      ["PAYOUT", "10.00", "90.00"],
      ["LATE_PAYOUT", "5.00", "85.00"],
    ]);
  });
});

describe("histories bounded by a state machine", () => {
  it("a trade holds at most MAX_TRADE_HISTORY entries: the longest path through the table, plus a late success", () => {
    const longest = (s: TradeState): number => 1 + Math.max(0, ...TRADE_TRANSITIONS[s].map(longest));
    expect(TRADE_STATES.every((s) => !TRADE_TRANSITIONS[s].includes(s))).toBe(true); // no self-transitions
    expect(longest("INIT") + 1).toBe(MAX_TRADE_HISTORY); // INIT → SENDING → UNKNOWN → FAILED, then FAILED → SUCCESS
  });
});
