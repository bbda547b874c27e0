/**
 * Run records from progress reports that arrive out of order: reports are events, handled
 * concurrently, so a node's older report can reach the record after its newer one. Whatever the
 * order (and however often each arrives), the record ends as the newest report of each instance
 * makes it. And the record's stored form (partitions as one string) reads back as it was written.
 */
import { loadedRun, mergeRunProgress, runTotals, storedRun } from "../../../services/ledger.service";
import type { JobRun } from "../../../mixins/partitioned-jobs.mixin";
import type { RunRecord } from "../../../contracts/deduction-executor.contract";

function report(instance: string, seq: number, partitions: JobRun["partitions"]): JobRun {
  return {
    runId: "RUN-1",
    service: "deduction-executor",
    nodeId: "node-" + instance,
    instance,
    job: "debitSlot",
    trigger: "MANUAL",
    meta: {},
    status: "RUNNING",
    startedAt: "2026-02-15T04:00:00.000Z",
    partitions,
    notHeld: [],
    wanted: [0, 1],
    totals: { partitions: 2, pending: 0, running: 0, done: 0, failed: 0, skipped: 0, processed: 0, counters: {} },
    seq,
  };
}

const running = { status: "RUNNING", attempts: 1, processed: 0, counters: { sent: 0 } } as any;
const done = (sent: number) => ({ status: "DONE", attempts: 1, processed: 1, counters: { sent }, finishedAt: "2026-02-15T04:00:01.000Z" }) as any;

/** Every order of the list (small lists only). */
function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));
}

function apply(reports: JobRun[]): Record<string, number> {
  let partitions: RunRecord["partitions"] = {};
  for (const r of reports) partitions = mergeRunProgress(partitions, r, r.instance);
  return { ...runTotals(partitions, [0, 1]) };
}

describe("run progress merged from reports in any order", () => {
  const reports = [
    report("a", 1, { 0: running }),
    report("a", 2, { 0: done(1), 1: running }),
    report("a", 3, { 0: done(1), 1: done(2) }),
    report("b", 1, { 1: running }),
  ];
  const inOrder = apply(reports);

  it("in order, the newest report of each instance counts", () => {
    expect(inOrder).toMatchObject({ partitionsDone: 2, sent: 3 });
  });

  it.each(permutations(reports).map((order) => [order.map((r) => `${r.instance}${r.seq}`).join(" "), order]))("in the order %s: the same record", (_name, order) => {
    expect(apply(order as JobRun[])).toEqual(inOrder);
    // Each report again, after all of them: nothing changes.
    expect(apply([...(order as JobRun[]), ...(order as JobRun[])])).toEqual(inOrder);
  });

  it("an older report after a newer one leaves the partition DONE with its counters", () => {
    const newer = mergeRunProgress({}, reports[2], "a");
    const after = mergeRunProgress(newer, reports[0], "a");
    expect(after).toEqual(newer);
  });

  it("keeps the partitions as one string in the store and reads them back", () => {
    const partitions = mergeRunProgress({}, reports[2], "a");
    const record = { _id: "RUN-1", runId: "RUN-1", job: "debitSlot", trigger: "MANUAL", status: "RUNNING", partitions, totals: {}, startedAt: "x", updatedAt: "x", version: 3 } as RunRecord;
    const stored = storedRun(record);
    expect(typeof stored.partitionsJson).toBe("string");
    expect(stored).not.toHaveProperty("partitions");
    expect(loadedRun(JSON.parse(JSON.stringify(stored)))).toEqual(record);
    // A record stored before the string form keeps its map.
    const { partitionsJson: _p, ...legacy } = stored;
    expect(loadedRun({ ...legacy, partitions } as any)).toEqual(record);
    expect(loadedRun(null)).toBeNull();
  });
});
