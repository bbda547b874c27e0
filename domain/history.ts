/**
 * Audit histories (a position's moves, a rule set's changes) kept whole in a collection of their own,
 * the last few entries also in the document: the document stays small, the history is never cut.
 *
 *   - An entry is written into the document by the same compare-and-set as the change it records (a
 *     change and its audit entry are never apart), numbered `seq` (the document's version after the
 *     change), with `$push … $slice` keeping the document's last `keep` entries.
 *   - It is copied to the history collection as `{ _id: "<parent>:<seq>", <parentField>, seq, … }`
 *     right after the write (a replayed copy is a duplicate key, ignored).
 *   - Whoever writes the document next first copies the entries it holds above `historyCopied` (in
 *     practice the previous writer's one entry, already copied unless that writer died in between)
 *     and raises `historyCopied` in its own compare-and-set. So every entry at or below
 *     `historyCopied` is in the collection, at most the latest is not yet, and `$slice` can only
 *     drop entries that are already there: nothing is ever lost, whatever crashes where.
 *   - Reading a history copies what the document holds above `historyCopied` first, so the list is
 *     complete; documents written before this scheme (entries without `seq`, no `historyCopied`) are
 *     copied whole the first time (`backfill` at start, or the next write or read).
 */
import type { Doc, Store } from "./store";

/** What the document holds. */
export interface Audited {
  _id: string;
  history?: Array<Record<string, any>>;
  /** Every entry with `seq` at or below this is in the history collection. */
  historyCopied?: number;
}

/** An entry as the history collection keeps it. */
export type HistoryRecord = Doc & { seq: number };

const RECENT = 5_000;

export class AuditHistory<D extends Audited> {
  /** Entries this process copied lately (their copy is not tried again). */
  private readonly recent = new Set<string>();

  constructor(
    private readonly store: Store<HistoryRecord>,
    private readonly opts: {
      /** The field naming the document in each record (`channel`, `ruleId`). */
      parentField: string;
      /** Entries the document keeps. */
      keep: number;
      /** An entry's number: its `seq` (or the field that already numbers it). */
      seqOf?: (entry: Record<string, any>) => number | undefined;
      /** Fields of the document each record carries (e.g. the rule's kind, for the audit list). */
      extra?: (doc: D) => Record<string, unknown>;
    },
  ) {}

  private seq(entry: Record<string, any>, index: number, all: number): number {
    // An entry written before entries were numbered: numbered below every numbered one, in order.
    return this.opts.seqOf?.(entry) ?? entry.seq ?? index - all;
  }

  /** The entries the document holds that may not be in the collection yet, with their numbers. */
  private uncopied(doc: D): Array<{ seq: number; entry: Record<string, any> }> {
    const list = doc.history ?? [];
    const copied = doc.historyCopied ?? -Infinity;
    return list.map((entry, i) => ({ seq: this.seq(entry, i, list.length), entry })).filter((e) => e.seq > copied);
  }

  private async copy(doc: D, seq: number, entry: Record<string, any>): Promise<void> {
    const id = `${doc._id}:${seq}`;
    if (this.recent.has(id)) return;
    try {
      await this.store.insert({ ...entry, ...(this.opts.extra?.(doc) ?? {}), _id: id, [this.opts.parentField]: doc._id, seq });
    } catch (err: any) {
      if (err?.code !== "DUPLICATE_KEY") throw err; // copied before: by an earlier write, a reader or another node
    }
    this.recent.add(id);
    if (this.recent.size > RECENT) this.recent.delete(this.recent.values().next().value as string);
  }

  /** Copy what the document holds above `historyCopied`; then `historyCopied` (for the caller's write) is the highest number it holds. */
  async copyPending(doc: D): Promise<number | undefined> {
    const pending = this.uncopied(doc);
    for (const p of pending) await this.copy(doc, p.seq, p.entry);
    return pending.length ? Math.max(...pending.map((p) => p.seq)) : doc.historyCopied;
  }

  /**
   * The parts of a compare-and-set that record `entry` as number `seq`, for a document read as
   * `doc`: call it before the write (it copies what `doc` holds above `historyCopied`).
   */
  async prepare(doc: D, entry: Record<string, any>, seq: number): Promise<{ push: Record<string, unknown>; set: Record<string, unknown> }> {
    const copied = await this.copyPending(doc);
    return {
      push: { history: { $each: [{ ...entry, seq }], $slice: -this.opts.keep } },
      set: copied !== undefined ? { historyCopied: copied } : {},
    };
  }

  /** After the write: copy its entry now (if this fails, the next write or read copies it). */
  async written(saved: D, seq: number): Promise<void> {
    const list = saved.history ?? [];
    const entry = list.find((e, i) => this.seq(e, i, list.length) === seq);
    if (entry) await this.copy(saved, seq, entry);
  }

  /** The document's history, newest first, a page of it (complete: what the document holds is copied first). */
  async list(doc: D, page: { skip?: number; limit?: number } = {}): Promise<{ rows: HistoryRecord[]; total: number }> {
    await this.copyPending(doc);
    const query = { [this.opts.parentField]: doc._id };
    const [rows, total] = await Promise.all([this.store.find(query, { sort: { seq: -1 }, skip: page.skip, limit: page.limit }), this.store.count(query)]);
    return { rows, total };
  }

  /** Copy every document's pending entries (at start: documents from before this scheme, a copy a crash left undone). */
  async backfill(docs: D[]): Promise<number> {
    let n = 0;
    for (const doc of docs) {
      const pending = this.uncopied(doc);
      for (const p of pending) await this.copy(doc, p.seq, p.entry);
      n += pending.length;
    }
    return n;
  }
}
