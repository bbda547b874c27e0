/**
 * The store on a MongoDB-wire server (MongoDB 7, or FerretDB 1.x in the tests): one connection per
 * node, and compare-and-set writes that hold on both servers.
 *
 * Why not plain findOneAndUpdate: MongoDB applies it atomically to one document, FerretDB 1.x does
 * not. Its handler (internal/handler/msg_findandmodify.go and msg_update.go, common.UpdateDocument)
 * SELECTs the documents, matches the filter and applies the operators in Go, then writes each result
 * back with `UPDATE … SET doc = ? WHERE _id = ?` (internal/backends/sqlite/collection.go, UpdateAll)
 * in a separate transaction. Two writers that read the same version both "win", and a `$inc` or
 * `$push` racing another write is lost (50 concurrent `$inc` leave 2). What FerretDB does enforce
 * atomically is SQLite's: unique indexes (on insert AND on update) and delete by `_id`.
 *
 * So every write here is fenced with those two, and the same protocol runs on MongoDB:
 *   - every document carries `_rev`, a random token replaced by each write, under a unique index;
 *   - to write a document read at `_rev = r` a writer first inserts a claim `{_id: r, next: t}` into
 *     `<collection>__claims` (the unique `_id` lets one writer hold r's successor), checks the document
 *     is still at r, and writes it by `_id` setting `_rev: t`. Only the claim holder writes a document
 *     at r, so the server's read-modify-write is never concurrent for one document;
 *   - a writer that finds r claimed waits until the document moves on (then re-reads: a CAS whose
 *     condition no longer holds returns null). If the holder neither writes nor moves for
 *     `staleClaimMs` (it died between claim and write, or is stalled) the waiter *fences* its token:
 *     it inserts a row `{_id: "~fence~" + t, _rev: t}` in the collection. From then on the holder's
 *     write can never commit (setting `_rev: t` would break the unique index, checked by SQLite inside
 *     the UPDATE) and the waiter claims the next link, `{_id: t, next: t2}`. Either the holder's write
 *     committed first (then the fence insert fails on the index and the waiter sees the move) or it
 *     never will: no timing assumption, only unique keys.
 *   - claims of a document version are deleted once the document has left that version (a stale
 *     writer that claims one again finds the document moved and re-reads). Fence rows stay; queries
 *     never return them.
 *
 * Two more differences the store absorbs: FerretDB ignores `$slice` in `$push` (the store caps the
 * array in a second fenced write when it comes back longer), and its `$pull` removes only exactly
 * equal values (a condition such as `{id: {$in: …}}` is a silent no-op: callers pull by value, or
 * `$pop` under a compare-and-set as the outbox relay does).
 *
 * `remove` is not fenced (FerretDB deletes by `_id` after its own read): use it only for documents no
 * one updates concurrently (cap slots, claims). Unique indexes are sparse on both servers (FerretDB
 * indexes a missing field as NULL, which SQLite never counts as a duplicate; MongoDB does that only
 * with `sparse`), so fence rows never collide with business keys. FerretDB ignores partial indexes
 * (`partialFilterExpression` is refused) and uses no secondary index to answer a query.
 */
import crypto from "node:crypto";
import type { Middleware, ServiceBroker } from "moleculer";
import type { mongo } from "mongoose";
import sift from "sift";
import { DomainError } from "../domain/errors";
import type { Doc, FindOptions, Query, Store, Update } from "../domain/store";

export const REV = "_rev";
const FENCE_FIELD = "_fence";
const FENCE_ID = "~fence~";
const REV_INDEX = "repaymesh_rev";
const CLAIMS_SUFFIX = "__claims";

/** The store cannot be reached (not connected, closed, or the server is away). A write's outcome is then unknown. */
export class StoreUnavailableError extends Error {
  readonly code = "STORE_UNAVAILABLE";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreUnavailableError";
  }
}

/** The URI without credentials, for messages. */
export function redactUri(uri: string): string {
  return uri.replace(/\/\/[^@/]*@/, "//***@");
}

const UNAVAILABLE = new Set([
  "MongoServerSelectionError",
  "MongoNetworkError",
  "MongoNetworkTimeoutError",
  "MongoTopologyClosedError",
  "MongoNotConnectedError",
  "MongoClientClosedError",
  "MongoPoolClosedError",
  "MongoExpiredSessionError",
]);

export interface MongoConnectionOptions {
  /** How long to look for the server at start and for each operation before giving up (ms). */
  timeoutMs?: number;
  maxPoolSize?: number;
}

/**
 * The node's one connection (the driver's MongoClient, as mongoose ships it): opened before the
 * services start, closed after they have all stopped (see mongoStoreMiddleware). No buffering: while
 * the server is away an operation fails after `timeoutMs` with StoreUnavailableError.
 */
export class MongoConnection {
  private client?: mongo.MongoClient;
  private database?: mongo.Db;
  state: "new" | "opening" | "open" | "closed" = "new";
  readonly timeoutMs: number;

  constructor(
    readonly uri: string,
    private readonly opts: MongoConnectionOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 5000;
  }

  async open(): Promise<void> {
    if (this.state === "open") return;
    if (this.state === "closed") throw new StoreUnavailableError("The store connection is closed");
    this.state = "opening";
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { mongo: driver } = require("mongoose") as typeof import("mongoose");
    const client = new driver.MongoClient(this.uri, {
      serverSelectionTimeoutMS: this.timeoutMs,
      connectTimeoutMS: this.timeoutMs,
      maxPoolSize: this.opts.maxPoolSize ?? 50,
      ignoreUndefined: true,
    });
    try {
      await client.connect();
      await client.db().command({ ping: 1 });
    } catch (err: any) {
      this.state = "closed";
      await client.close(true).catch(() => {});
      throw new StoreUnavailableError(`MONGO_URI ${redactUri(this.uri)}: the server could not be reached within ${this.timeoutMs} ms (${err?.message ?? err})`, {
        cause: err,
      });
    }
    this.client = client;
    this.database = client.db();
    this.state = "open";
  }

  db(): mongo.Db {
    if (this.state !== "open" || !this.database) {
      throw new StoreUnavailableError(
        this.state === "closed" ? "The store connection is closed (the node is stopping or has stopped)" : "The store connection is not open yet (the node has not started)",
      );
    }
    return this.database;
  }

  collection(name: string): mongo.Collection<any> {
    return this.db().collection(name);
  }

  /** What the server says it is (FerretDB adds `ferretdbVersion` to buildInfo). */
  async server(): Promise<{ version: string; ferretdb?: string }> {
    const info = await this.db().command({ buildInfo: 1 });
    return { version: String(info.version), ferretdb: info.ferretdbVersion ? String(info.ferretdbVersion) : undefined };
  }

  async close(): Promise<void> {
    const c = this.client;
    this.state = "closed";
    this.client = undefined;
    this.database = undefined;
    if (c) await c.close();
  }
}

const connections = new WeakMap<ServiceBroker, MongoConnection>();

/** The broker's store connection (created by mongoStoreMiddleware). */
export function brokerMongo(broker: ServiceBroker): MongoConnection {
  const c = connections.get(broker);
  if (!c) throw new Error("MONGO_URI is set but this broker has no store connection: create it with createBroker (bin/node.ts) or add mongoStoreMiddleware(uri)");
  return c;
}

/**
 * The node owns the connection: opened in the broker's `starting` hook (before any service starts;
 * an unreachable server fails the start with a clear error) and closed in `stopped` (after every
 * service has stopped, so none loses its last writes).
 */
export function mongoStoreMiddleware(uri: string, opts: MongoConnectionOptions = {}): Middleware {
  return {
    name: "MongoStore",
    created(broker: ServiceBroker) {
      connections.set(broker, new MongoConnection(uri, opts));
    },
    async starting(broker: ServiceBroker) {
      await brokerMongo(broker).open();
    },
    async stopped(broker: ServiceBroker) {
      await connections.get(broker)?.close();
    },
  } as unknown as Middleware;
}

/**
 * One index of a collection as a service declares it (mixins/store.mixin.ts's IndexSpec is this type;
 * the file store reads it too):
 *   - `field`: one field, indexed by both stores (named `<field>_1`, as it always was);
 *   - `fields`: a key in order, e.g. `{ partition: 1, state: 1 }`, on the MongoDB store only (NeDB
 *     indexes one field, and an index on a low-cardinality first field would slow its every write);
 *   - `unique`: sparse on both servers (see the header), one field and never partial, so that every
 *     store and server enforces the same key;
 *   - `partial`: MongoDB indexes only the documents matching it (use what MongoDB 7 takes there:
 *     equality, `$exists: true`, `$gt`/`$gte`/`$lt`/`$lte`, `$type`; a query uses the index only when
 *     it contains the filter). FerretDB refuses `partialFilterExpression` (NotImplemented): the store
 *     then creates the same key as a plain index, which answers the same queries with more entries
 *     (FerretDB 1.x answers no query from a secondary index anyway). Not `sparse`: it would change
 *     which documents a sort over the key returns.
 */
export type MongoIndexSpec = {
  unique?: boolean;
  sparse?: boolean;
  partial?: Record<string, unknown>;
  /** Default: MongoDB's own name for the key (`partition_1_state_1`). */
  name?: string;
} & ({ field: string; fields?: undefined } | { fields: Record<string, 1 | -1>; field?: undefined });

/** What `createIndex` is given for a spec. */
export interface MongoIndex {
  key: Record<string, 1 | -1>;
  options: { name: string; unique: boolean; sparse: boolean; partialFilterExpression?: Record<string, unknown> };
}

/** The key and options of a declared index; a spec no store could keep alike is refused. */
export function mongoIndexOf(spec: MongoIndexSpec): MongoIndex {
  const key: Record<string, 1 | -1> = spec.fields ?? { [spec.field]: 1 };
  const names = Object.keys(key);
  const what = names.join(", ") || "(no field)";
  if (!names.length || names.some((f) => !f || f.startsWith("$") || (key[f] !== 1 && key[f] !== -1))) throw new Error(`Index ${what}: give one or more fields, each 1 or -1`);
  if (spec.unique && (names.length > 1 || spec.partial)) throw new Error(`Index ${what}: a unique key must be one field and not partial (the file store and FerretDB enforce no other)`);
  if (spec.partial && spec.sparse) throw new Error(`Index ${what}: partial or sparse, not both (MongoDB refuses the mix)`);
  return {
    key,
    options: {
      name: spec.name ?? names.map((f) => `${f}_${key[f]}`).join("_"),
      unique: !!spec.unique,
      sparse: !!spec.unique || !!spec.sparse,
      ...(spec.partial ? { partialFilterExpression: spec.partial } : {}),
    },
  };
}

/** FerretDB's answer to `partialFilterExpression`: NotImplemented (238). */
function refusesPartial(err: any): boolean {
  return /partialFilterExpression/.test(String(err?.message ?? "")) && (err?.code === 238 || /not (yet )?(implemented|supported)/i.test(String(err?.message)));
}

/** Create an index; a partial one the server refuses is created without its filter (see MongoIndexSpec). */
export async function ensureMongoIndex(coll: mongo.Collection<any>, ix: MongoIndex): Promise<"created" | "plain"> {
  try {
    await coll.createIndex(ix.key, ix.options);
    return "created";
  } catch (err: any) {
    if (!ix.options.partialFilterExpression || !refusesPartial(err)) throw err;
    const { partialFilterExpression: _refused, ...plain } = ix.options;
    await coll.createIndex(ix.key, plain);
    return "plain";
  }
}

export interface MongoStoreOptions {
  /** A claim whose holder has neither written nor moved for this long is fenced off (ms). */
  staleClaimMs?: number;
}

const MOVED = Symbol("moved");
type Moved = typeof MOVED;

function token(): string {
  return crypto.randomBytes(12).toString("base64url");
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function isDup(err: any): boolean {
  return err?.code === 11000 || err?.code === 11001 || /UNIQUE constraint failed/.test(String(err?.message ?? ""));
}

/** A write refused because its `_rev` token was fenced (the unique `_rev` index). */
function isFenced(err: any): boolean {
  if (!isDup(err)) return false;
  if (err?.keyPattern && Object.prototype.hasOwnProperty.call(err.keyPattern, REV)) return true;
  return String(err?.message ?? "").includes(REV_INDEX);
}

function getPath(doc: any, p: string): unknown {
  return p.split(".").reduce((v, k) => (v == null ? undefined : v[k]), doc);
}

function setPath(doc: any, p: string, value: unknown): void {
  const keys = p.split(".");
  let v = doc;
  for (const k of keys.slice(0, -1)) v = v?.[k];
  if (v && typeof v === "object") v[keys[keys.length - 1]] = value;
}

/** Arrays a `$push … $slice` asked to cap that came back longer (the server ignored `$slice`), capped. */
export function sliceTrims(update: Update, doc: any): Record<string, unknown[]> | null {
  const push = update.$push;
  if (!push || typeof push !== "object") return null;
  let out: Record<string, unknown[]> | null = null;
  for (const [p, spec] of Object.entries(push as Record<string, any>)) {
    if (!spec || typeof spec !== "object" || !("$slice" in spec) || !("$each" in spec)) continue;
    const n = Number(spec.$slice);
    const arr = getPath(doc, p);
    if (!Array.isArray(arr) || !Number.isInteger(n) || arr.length <= Math.abs(n)) continue;
    (out ??= {})[p] = n < 0 ? arr.slice(arr.length + n) : arr.slice(0, n);
  }
  return out;
}

function strip<T>(doc: any): T {
  if (doc) {
    delete doc[REV];
  }
  return doc as T;
}

/** The store over one collection; see the header for the write protocol. */
export class MongoStore<T extends Doc> implements Store<T> {
  private readonly staleClaimMs: number;
  private readonly turns = new Map<string, Promise<void>>();

  constructor(
    readonly collection: string,
    private readonly conn: MongoConnection,
    opts: MongoStoreOptions = {},
  ) {
    this.staleClaimMs = opts.staleClaimMs ?? 5000;
  }

  /** The store with its indexes: the given ones (see MongoIndexSpec) and the unique `_rev`. */
  static async open<T extends Doc>(conn: MongoConnection, collection: string, indexes: MongoIndexSpec[] = [], opts: MongoStoreOptions = {}): Promise<MongoStore<T>> {
    const store = new MongoStore<T>(collection, conn, opts);
    const wanted = indexes.map(mongoIndexOf); // a bad declaration fails before anything is created
    await store.call(async () => {
      const coll = conn.collection(collection);
      await coll.createIndex({ [REV]: 1 }, { name: REV_INDEX, unique: true, sparse: true });
      for (const ix of wanted) await ensureMongoIndex(coll, ix);
    }, false);
    return store;
  }

  private get coll(): mongo.Collection<any> {
    return this.conn.collection(this.collection);
  }

  private get claims(): mongo.Collection<any> {
    return this.conn.collection(this.collection + CLAIMS_SUFFIX);
  }

  /** Run a driver operation; an unreachable or closed store becomes StoreUnavailableError. */
  private async call<R>(op: () => Promise<R>, write = true): Promise<R> {
    try {
      return await op();
    } catch (err: any) {
      if (err instanceof StoreUnavailableError) throw err;
      if (UNAVAILABLE.has(err?.name) || this.conn.state !== "open") {
        throw new StoreUnavailableError(
          `Store ${this.collection}: the server is unreachable${write ? " (the write's outcome is unknown)" : ""}: ${err?.message ?? err}`,
          { cause: err },
        );
      }
      throw err;
    }
  }

  /** Queries never see fence rows (a query on `_id` alone cannot match one: their ids are reserved). */
  private visible(query: Query): Query {
    const keys = Object.keys(query);
    if (keys.length === 1 && keys[0] === "_id" && typeof query._id === "string") return query;
    if (FENCE_FIELD in query) return query;
    return { ...query, [FENCE_FIELD]: { $exists: false } };
  }

  private duplicate(err: any): DomainError {
    return new DomainError("DUPLICATE_KEY", `A ${this.collection} record with this key already exists`, {
      collection: this.collection,
      key: err?.keyValue ?? undefined,
    });
  }

  async insert(doc: T): Promise<T> {
    const row: any = { ...doc, [REV]: token() };
    try {
      await this.call(() => this.coll.insertOne(row));
    } catch (err: any) {
      if (isDup(err)) throw this.duplicate(err);
      throw err;
    }
    if ((doc as any)._id === undefined) (doc as any)._id = row._id;
    return doc;
  }

  async findById(id: string): Promise<T | null> {
    const doc = await this.call(() => this.coll.findOne({ _id: id }), false);
    return doc && !doc[FENCE_FIELD] ? strip<T>(doc) : null;
  }

  /**
   * A query naming one `_id` is read by `_id` alone and the rest matched here (sift, MongoDB's
   * semantics): FerretDB's SQLite handler pushes a filter down only when it is exactly `{_id}`, and
   * scans (and decodes) the whole collection for anything more, `{_id, version}` included.
   * Undefined when the query does not name one `_id`.
   */
  private async byId(query: Query): Promise<any[] | undefined> {
    if (typeof query._id !== "string") return undefined;
    const doc = await this.call(() => this.coll.findOne({ _id: query._id }), false);
    if (!doc || doc[FENCE_FIELD]) return [];
    const { _id: _ignored, ...rest } = query;
    return Object.keys(rest).length === 0 || sift(rest as any)(doc) ? [doc] : [];
  }

  async findOne(query: Query): Promise<T | null> {
    const one = await this.byId(query);
    if (one) return one.length ? strip<T>(one[0]) : null;
    return strip<T>(await this.call(() => this.coll.findOne(this.visible(query)), false));
  }

  async find(query: Query, opts: FindOptions = {}): Promise<T[]> {
    const one = await this.byId(query);
    if (one) return (opts.skip ? [] : one).map((r) => strip<T>(r));
    const rows = await this.call(() => {
      let cursor = this.coll.find(this.visible(query));
      if (opts.sort) cursor = cursor.sort(opts.sort);
      if (opts.skip) cursor = cursor.skip(opts.skip);
      if (opts.limit) cursor = cursor.limit(opts.limit);
      if (opts.fields) cursor = cursor.project(Object.fromEntries(opts.fields.map((f) => [f, 1])));
      return cursor.toArray();
    }, false);
    return rows.map((r) => strip<T>(r));
  }

  async count(query: Query): Promise<number> {
    const one = await this.byId(query);
    if (one) return one.length;
    return this.call(() => this.coll.countDocuments(this.visible(query)), false);
  }

  /** Compare-and-set: the first document matching `query`, updated only while it still matches. */
  async updateOne(query: Query, update: Update): Promise<T | null> {
    const byId = typeof query._id === "string" ? query._id : undefined;
    const attempt = async (): Promise<T | null> => {
      for (;;) {
        const cur = byId !== undefined ? (await this.byId(query))![0] : await this.call(() => this.coll.findOne(this.visible(query)), false);
        if (!cur) return null;
        const out = byId !== undefined ? await this.writeAt(cur._id, cur[REV], update) : await this.inTurn(cur._id, () => this.writeAt(cur._id, cur[REV], update));
        if (out !== MOVED) return out;
        // Someone else wrote it first: decide again on what it is now.
      }
    };
    return byId !== undefined ? this.inTurn(byId, attempt) : attempt();
  }

  /** Each matching document updated by its own compare-and-set (as on MongoDB, not atomic as a whole). */
  async updateMany(query: Query, update: Update): Promise<number> {
    const rows = await this.call(() => this.coll.find(this.visible(query), { projection: { _id: 1, [REV]: 1 } }).toArray(), false);
    let n = 0;
    for (const row of rows) {
      let rev = row[REV];
      for (;;) {
        const out = await this.inTurn(row._id, () => this.writeAt(row._id, rev, update));
        if (out !== MOVED) {
          if (out) n++;
          break;
        }
        const [again] = (await this.byId({ ...query, _id: row._id }))!;
        if (!again) break;
        rev = again[REV];
      }
    }
    return n;
  }

  /** Not fenced: for documents no one updates concurrently (see the header). */
  async remove(query: Query): Promise<number> {
    const res = await this.call(() => this.coll.deleteMany(this.visible(query)));
    return res.deletedCount;
  }

  /**
   * This process's writers of one document take turns (first come, first served), so they do not
   * all poll the server for the same claim. Only efficiency rests on this: the claims keep writers
   * of other processes (and any writer here) safe.
   */
  private async inTurn<R>(id: string, fn: () => Promise<R>): Promise<R> {
    const prev = this.turns.get(id);
    let done!: () => void;
    const mine = new Promise<void>((r) => (done = r));
    const tail = prev ? prev.then(() => mine) : mine;
    this.turns.set(id, tail);
    try {
      if (prev) await prev;
      return await fn();
    } finally {
      done();
      if (this.turns.get(id) === tail) this.turns.delete(id);
    }
  }

  /**
   * Write the document `id` known at `rev` (undefined: a document written before `_rev` existed),
   * or report that it has moved on. See the header for the protocol.
   */
  private async writeAt(id: string, rev: string | undefined, update: Update): Promise<T | null | Moved> {
    if (Object.keys(update).some((k) => !k.startsWith("$"))) throw new Error("MongoStore updates use operators ($set, $inc, …), not replacement documents");
    const claims = this.claims;
    const coll = this.coll;
    const head = rev ?? `~legacy~${id}`;
    const chain: string[] = [];
    let key = head;
    const next = token();
    const movedOn = async (): Promise<boolean> => {
      const cur = await this.call(() => coll.findOne({ _id: id }, { projection: { [REV]: 1 } }), false);
      return !cur || cur[REV] !== rev;
    };

    // 1. Hold the successor slot of the version we read (walking past fenced holders).
    for (;;) {
      try {
        await this.call(() => claims.insertOne({ _id: key, next, doc: id, at: new Date() }));
        chain.push(key);
        break;
      } catch (err: any) {
        if (!isDup(err)) throw err;
      }
      const claim = await this.call(() => claims.findOne({ _id: key }), false);
      if (!claim) continue; // cleared a moment ago: the document moved on (the check below will tell)
      chain.push(key);
      const held: string = claim.next;
      const fenced = () => this.call(() => coll.findOne({ _id: FENCE_ID + held }, { projection: { _id: 1 } }), false);
      const since = Date.now();
      let wait = 2;
      for (let poll = 0; ; poll++) {
        // A fenced holder (stale, or it gave up after a refused write) will never write: claim the next link.
        if (poll % 4 === 0 && (await fenced())) break;
        if (await movedOn()) return MOVED;
        if (Date.now() - since >= this.staleClaimMs) {
          // The holder neither wrote nor went away: fence its token so its write can never land.
          if (!(await this.fence(held)) && (await movedOn())) return MOVED; // its write landed first
          break;
        }
        await sleep(wait);
        wait = Math.min(wait * 2, 50);
      }
      key = held;
    }

    // 2. Still at the version we read? Then no one else writes it until we do (or fence us).
    if (await movedOn()) {
      await this.clearClaims(chain);
      return MOVED;
    }

    // 3. The write, by `_id` (the server's fast path), setting our token.
    const $set = { ...(update.$set ?? {}), [REV]: next };
    let res: any;
    try {
      res = await this.call(() => coll.findOneAndUpdate({ _id: id }, { ...update, $set }, { returnDocument: "after", includeResultMetadata: false }));
    } catch (err: any) {
      if (isFenced(err)) return MOVED; // a waiter fenced us: it now holds the document
      if (err instanceof StoreUnavailableError) throw err; // outcome unknown: our claim stays until fenced
      // A definite refusal (e.g. a business key taken): nothing was written. Fence our own token so
      // waiters move on at once (deleting the claim instead could let two writers hold this version).
      await this.fence(next).catch(() => {});
      if (isDup(err)) throw this.duplicate(err);
      throw err;
    }
    await this.clearClaims(chain);
    if (!res) return MOVED; // removed meanwhile
    const trims = sliceTrims(update, res);
    if (trims) {
      // FerretDB ignores `$slice` in `$push` (MongoDB applies it): cap the array in a second write.
      const trimmed = await this.writeAt(id, res[REV], { $set: trims });
      if (trimmed && trimmed !== MOVED) return trimmed;
      for (const [p, v] of Object.entries(trims)) setPath(res, p, v); // someone wrote after us; their push capped it too
    }
    return strip<T>(res);
  }

  /** Fence a token: a write setting `_rev` to it can no longer commit. False when the row was already there (or the token is the document's `_rev`). */
  private async fence(tok: string): Promise<boolean> {
    try {
      await this.call(() => this.coll.insertOne({ _id: FENCE_ID + tok, [REV]: tok, [FENCE_FIELD]: true, at: new Date() }));
      return true;
    } catch (err: any) {
      if (!isDup(err)) throw err;
      return false;
    }
  }

  /** The claims of a version the document has left (best effort: a leftover one is harmless). */
  private async clearClaims(keys: string[]): Promise<void> {
    await Promise.all(keys.map((k) => this.call(() => this.claims.deleteOne({ _id: k })).catch(() => {})));
  }
}
