/**
 * The transactional outbox. A service records the events of a change INSIDE the document it
 * changes, in the same single-document write (an `outbox` array on the plan, the trade, the
 * order…): there is no moment where the change is stored and its events are not. A relay then
 * publishes each entry at least once — to the durable channel (EVENTS_CHANNEL, @moleculer/channels)
 * and as a Moleculer event for listeners inside the mesh — and only then pulls it from the
 * document. A crash between the change and the publication leaves the entry in the document; the
 * relay's sweep (at start and every 10 s) finds and publishes it. Consumers dedupe on the event id.
 *
 *   mixins: [OutboxMixin({ collections: ["plans"] })],
 *   const entries = [this.outboxEntry("plan.paused", planId, { planId, reason })];
 *   await this.store.updateOne({ _id, version }, { $set: {...}, $push: { outbox: { $each: entries } } });
 *   this.outboxWritten("plans", planId);   // publish soon (the sweep would anyway)
 *
 * Every collection with an outbox declares OUTBOX_INDEX in its store's indexes: the sweep asks for
 * documents whose first entry has an id, an index lookup on both stores. The index is on the array's
 * own first entry, so it can never disagree with it (no flag to keep in step): an emptied outbox
 * leaves the (sparse) index by the same write that empties it.
 */
import crypto from "node:crypto";
import type { ServiceSchema } from "moleculer";
import { EVENTS_CHANNEL, type EventEnvelope, type OutboxEntry } from "../../contracts/events.contract";
import type { IndexSpec } from "../store.mixin";

const SWEEP_EVERY_MS = 10_000;
const SWEEP_PAGE = 500;
/** Event ids this node published lately (skipped if a relay meets them again before they were pulled). */
const RECENT_IDS = 10_000;

/**
 * The index the sweep reads: a document is in it while its outbox holds an entry (keyed by the first
 * entry's id, a string: an event id). Sparse, so documents with an empty or no outbox are not in it;
 * MongoDB indexes the positional path `outbox.0.id`, NeDB reads it the same way (getDotValue).
 */
export const OUTBOX_INDEX: IndexSpec = { field: "outbox.0.id", sparse: true };
/** Documents holding outbox entries: a range on OUTBOX_INDEX (NeDB uses an index for a range, not for `$exists`). */
export const OUTBOX_PENDING = { "outbox.0.id": { $gt: "" } };

/** A sortable, unique event id: time first (ms, hex), then randomness. */
export function eventId(nowMs: number): string {
  return "EV" + nowMs.toString(16).padStart(12, "0") + crypto.randomBytes(8).toString("hex");
}

export function OutboxMixin(opts: { collections: string[]; flushMs?: number; sweepMs?: number }): Partial<ServiceSchema> {
  return {
    methods: {
      outboxEntry(this: any, type: string, key: string, data: Record<string, unknown>): OutboxEntry {
        const now = this.clock?.nowMs ? this.clock.nowMs() : Date.now();
        return { id: eventId(Date.now()), type, key, occurredAt: new Date(now).toISOString(), data };
      },
      /** Publish the entries of this document soon (`doc`: the document as the write returned it, saving a read). */
      outboxWritten(this: any, collection: string, id: string, doc?: { outbox?: OutboxEntry[] }) {
        this.outboxDirty.set(`${collection}\u0000${id}`, doc);
        if (!this.outboxTimer && !this.outboxStopped) {
          this.outboxTimer = setTimeout(() => {
            this.outboxTimer = null;
            this.flushOutbox().catch((err: Error) => this.logger.warn(`Outbox flush failed: ${err.message}`));
          }, opts.flushMs ?? 0);
        }
      },
      async flushOutbox(this: any) {
        if (this.outboxFlushing) return this.outboxFlushing;
        this.outboxFlushing = (async () => {
          await this.broker.channelsReady; // nothing is published before this node's consumers have subscribed
          while (this.outboxDirty.size) {
            const batch = [...this.outboxDirty] as Array<[string, { outbox?: OutboxEntry[] } | undefined]>;
            this.outboxDirty.clear();
            for (const [item, doc] of batch) {
              const [collection, id] = item.split("\u0000");
              try {
                await this.relayDocument(collection, id, doc);
              } catch (err: any) {
                this.logger.warn(`Outbox relay of ${collection}/${id} failed (the sweep retries): ${err.message}`);
              }
            }
          }
        })().finally(() => {
          this.outboxFlushing = null;
        });
        return this.outboxFlushing;
      },
      /** Publish a document's entries in order, then pull them. Safe to run twice (at least once). */
      async relayDocument(this: any, collection: string, id: string, written?: { outbox?: OutboxEntry[] }): Promise<number> {
        const store = this.stores[collection];
        // Entries already pulled by an earlier relay are harmless: published again, deduped downstream.
        const doc = written ?? (await store.findById(id));
        const entries: OutboxEntry[] = doc?.outbox ?? [];
        if (!entries.length) return 0;
        for (const e of entries) {
          // Published moments ago by this node (a later write's copy of the document still held it):
          // not again — duplicates are for crashes, not for races between our own relays.
          if (this.outboxRecent.has(e.id)) continue;
          // A service may complete the payload from the document (static fields it did not repeat in the write).
          const data = typeof this.enrichOutbox === "function" ? this.enrichOutbox(collection, doc, e) : e.data;
          const envelope: EventEnvelope = { id: e.id, type: e.type, source: this.name, key: e.key, occurredAt: e.occurredAt, data };
          await this.broker.sendToChannel(EVENTS_CHANNEL, envelope);
          this.broker.emit(e.type, { ...data, eventId: e.id });
          this.outboxRecent.add(e.id);
          if (this.outboxRecent.size > RECENT_IDS) this.outboxRecent.delete(this.outboxRecent.values().next().value);
        }
        // Pulled front first, each only while it is still the first entry (entries are only ever
        // appended): a compare-and-set every store applies alike. ($pull with a condition is a silent
        // no-op on FerretDB, which pulls only exactly equal values.) A copy older than the document
        // finds its entries gone and pulls nothing.
        for (const e of entries) await store.updateOne({ _id: id, "outbox.0.id": e.id }, { $pop: { outbox: -1 } });
        this.outboxPublished += entries.length;
        return entries.length;
      },
      /** Find every document still holding entries (after a crash) and relay them. */
      async sweepOutbox(this: any): Promise<number> {
        await this.broker.channelsReady;
        let n = 0;
        for (const collection of opts.collections) {
          const store = this.stores[collection];
          const declared: IndexSpec[] | undefined = this.storeIndexes?.[collection];
          if (declared && !declared.some((ix) => ix.field === OUTBOX_INDEX.field) && !this.outboxUnindexed?.has(collection)) {
            (this.outboxUnindexed ??= new Set()).add(collection);
            this.logger.warn(`Outbox of ${collection}: OUTBOX_INDEX is not declared; every sweep reads the whole collection`);
          }
          for (;;) {
            const docs = await store.find(OUTBOX_PENDING, { limit: SWEEP_PAGE });
            if (!docs.length) break;
            for (const d of docs) n += await this.relayDocument(collection, d._id, d);
            if (docs.length < SWEEP_PAGE) break;
          }
        }
        return n;
      },
    },
    created(this: any) {
      this.outboxCollections = opts.collections;
      this.outboxDirty = new Map<string, unknown>();
      this.outboxRecent = new Set<string>();
      this.outboxTimer = null;
      this.outboxFlushing = null;
      this.outboxPublished = 0;
      this.outboxStopped = false;
    },
    async started(this: any) {
      const sweep = () => this.sweepOutbox().catch((err: Error) => this.logger.warn(`Outbox sweep failed: ${err.message}`));
      // The first sweep waits until every consumer of this node has subscribed (the channels
      // middleware starts after the services): what a crash left behind reaches them too.
      Promise.resolve(this.broker.channelsReady).then(() => {
        if (!this.outboxStopped) void sweep();
      });
      this.outboxSweepTimer = setInterval(sweep, opts.sweepMs ?? SWEEP_EVERY_MS);
      this.outboxSweepTimer.unref?.();
    },
    async stopped(this: any) {
      this.outboxStopped = true;
      clearInterval(this.outboxSweepTimer);
      if (this.outboxTimer) clearTimeout(this.outboxTimer);
      await this.outboxFlushing;
    },
  } as Partial<ServiceSchema>;
}
