/**
 * The store mixin: every data-owning service gets `this.store`, one small interface over two
 * back ends, chosen once by configuration (never by business code):
 *   - embedded: moleculer-db's MemoryAdapter (NeDB) persisting to DATA_DIR/<collection>.db
 *   - MongoDB:  when MONGO_URI is set, the driver's collections on the node's one connection
 *               (mixins/mongo-store.ts: opened before the services start, closed after they stop;
 *               compare-and-set writes fenced so they hold on FerretDB as on MongoDB)
 *
 * The interface is what safety needs: unique indexes that turn a duplicate into DUPLICATE_KEY,
 * and conditional updates (compare-and-set) that report whether they matched. Queries and updates
 * use the operator subset both back ends share ($set, $inc, $push, $unset; $in, $gt(e), $lt(e),
 * $ne, $exists, $or).
 *
 * moleculer-db's generic CRUD actions are switched off: every action a service exposes validates
 * its own parameters.
 */
import fs from "node:fs";
import path from "node:path";
import DbService from "moleculer-db";
import type { ServiceSchema } from "moleculer";
import { DomainError } from "../domain/errors";
import { ConfigError } from "../config";
import { brokerMongo, mongoIndexOf, MongoStore, type MongoIndexSpec } from "./mongo-store";

import type { Doc, FindOptions, Query, Store, Update } from "../domain/store";
export type { Doc, FindOptions, Query, Store, Update } from "../domain/store";

/**
 * An index a service declares for a collection, read by both stores (see MongoIndexSpec for the
 * rules): `{ field }` is indexed by both, `{ fields: { partition: 1, state: 1 } }` (compound) and
 * `partial` filters by the MongoDB store only.
 */
export type IndexSpec = MongoIndexSpec;

/**
 * The file store's index for a spec, or null: NeDB's ensureIndex takes one field, so a `fields` key
 * (compound, MongoDB's) is not created here. Its first field is not indexed in its place either: those
 * are low-cardinality fields (state, status) or already indexed alone, and NeDB keeps each key's
 * documents in one array that every update of a document rewrites. A one-field `partial` index is a
 * sparse one here (documents without the field left out). Unique keys stay as declared.
 */
export function nedbIndexOf(spec: IndexSpec): { fieldName: string; unique: boolean; sparse: boolean } | null {
  mongoIndexOf(spec); // the same checks on both stores: a declaration one store refuses fails on the other too
  if (spec.field === undefined) return null;
  return { fieldName: spec.field, unique: !!spec.unique, sparse: !!spec.sparse || !!spec.partial };
}

/** One page of a query: rows (mapped for the caller), total, page, pageSize, totalPages. */
export async function findPage<T extends Doc, V>(
  store: Store<T>,
  query: Query,
  params: { page?: number; pageSize?: number },
  sort: Record<string, 1 | -1>,
  map: (row: T) => V,
): Promise<{ rows: V[]; total: number; page: number; pageSize: number; totalPages: number }> {
  const page = params.page ?? 1;
  const pageSize = params.pageSize ?? 20;
  const [rows, total] = await Promise.all([store.find(query, { sort, skip: (page - 1) * pageSize, limit: pageSize }), store.count(query)]);
  return { rows: rows.map(map), total, page, pageSize, totalPages: Math.ceil(total / pageSize) };
}

export interface StoreSettings {
  collection: string;
  indexes?: IndexSpec[];
  /** More collections the same service owns, reached as `this.stores[name]` (the primary is also `this.stores[collection]`). */
  more?: Array<{ collection: string; indexes?: IndexSpec[] }>;
}

function duplicateKey(collection: string, err: any): DomainError {
  return new DomainError("DUPLICATE_KEY", `A ${collection} record with this key already exists`, {
    collection,
    key: err?.key ?? err?.keyValue ?? undefined,
  });
}

/** NeDB (embedded) implementation over the adapter's datastore. */
export class NedbStore<T extends Doc> implements Store<T> {
  constructor(
    readonly collection: string,
    private readonly db: any,
  ) {}

  async insert(doc: T): Promise<T> {
    try {
      return (await this.db.insertAsync(doc)) as T;
    } catch (err: any) {
      if (err?.errorType === "uniqueViolated") throw duplicateKey(this.collection, err);
      throw err;
    }
  }

  findById(id: string): Promise<T | null> {
    return this.db.findOneAsync({ _id: id });
  }

  findOne(query: Query): Promise<T | null> {
    return this.db.findOneAsync(query);
  }

  find(query: Query, opts: FindOptions = {}): Promise<T[]> {
    let cursor = this.db.findAsync(query, opts.fields ? Object.fromEntries(opts.fields.map((f) => [f, 1])) : undefined);
    if (opts.sort) cursor = cursor.sort(opts.sort);
    if (opts.skip) cursor = cursor.skip(opts.skip);
    if (opts.limit) cursor = cursor.limit(opts.limit);
    return cursor;
  }

  count(query: Query): Promise<number> {
    return this.db.countAsync(query);
  }

  async updateOne(query: Query, update: Update): Promise<T | null> {
    try {
      const res = await this.db.updateAsync(query, update, { multi: false, returnUpdatedDocs: true });
      return res.numAffected === 1 ? (res.affectedDocuments as T) : null;
    } catch (err: any) {
      if (err?.errorType === "uniqueViolated") throw duplicateKey(this.collection, err);
      throw err;
    }
  }

  async updateMany(query: Query, update: Update): Promise<number> {
    const res = await this.db.updateAsync(query, update, { multi: true });
    return res.numAffected;
  }

  remove(query: Query): Promise<number> {
    return this.db.removeAsync(query, { multi: true });
  }
}

function makeAdapter(collection: string, backend: StoreBackend): any {
  fs.mkdirSync(backend.dataDir, { recursive: true });
  return new (DbService as any).MemoryAdapter({ filename: path.join(backend.dataDir, `${collection}.db`) });
}

/**
 * NeDB appends each write with fs.appendFile, opening and closing the file every time. Keep one
 * append handle per file instead (closed before NeDB rewrites the file when it compacts, so the next
 * append goes to the new file). Same bytes, same order: NeDB still runs one persistence step at a time.
 */
export function keepAppendHandleOpen(db: any): void {
  const p = db.persistence;
  if (!p || p.inMemoryOnly || p.repaymeshAppendHandle !== undefined) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const model = require(require.resolve("@seald-io/nedb/lib/model", { paths: [path.dirname(require.resolve("moleculer-db"))] }));
  p.repaymeshAppendHandle = null;
  p.persistNewStateAsync = async function (newDocs: unknown[]) {
    let toPersist = "";
    for (const doc of newDocs) toPersist += this.afterSerialization(model.serialize(doc)) + "\n";
    if (toPersist.length === 0) return;
    this.repaymeshAppendHandle ??= await fs.promises.open(this.filename, "a", this.modes?.fileMode);
    await this.repaymeshAppendHandle.appendFile(toPersist, "utf8");
  };
  const compact = p.persistCachedDatabaseAsync.bind(p);
  p.persistCachedDatabaseAsync = async function () {
    await closeAppendHandle(db);
    return compact();
  };
}

export async function closeAppendHandle(db: any): Promise<void> {
  const p = db?.persistence;
  const h = p?.repaymeshAppendHandle;
  if (h) {
    p.repaymeshAppendHandle = null;
    await h.close();
  }
}

/** Indexes, then the Store over a connected NeDB adapter. */
async function wrapAdapter(adapter: any, collection: string, indexes: IndexSpec[] | undefined): Promise<Store> {
  const db = adapter.db;
  keepAppendHandleOpen(db);
  for (const ix of indexes ?? []) {
    const own = nedbIndexOf(ix);
    if (own) await db.ensureIndexAsync(own);
  }
  // NeDB appends; compact hourly so the file does not grow without bound.
  db.setAutocompactionInterval?.(3_600_000);
  return new NedbStore(collection, db);
}

/** Every collection's declared indexes (kept on the service as `storeIndexes`, for checks and tests). */
function declaredIndexes(settings: StoreSettings): Record<string, IndexSpec[]> {
  const out: Record<string, IndexSpec[]> = { [settings.collection]: settings.indexes ?? [] };
  for (const more of settings.more ?? []) out[more.collection] = more.indexes ?? [];
  return out;
}

export interface StoreBackend {
  dataDir: string;
  mongoUri?: string;
  storePrefix?: string;
}

/**
 * Mixin factory. `backend` comes from the node's config (see bin/node.ts); the service reaches the
 * store as `this.store` once it has started, and may define `onStoreReady()` to seed or load data.
 */
export function StoreMixin(settings: StoreSettings, backend: StoreBackend): Partial<ServiceSchema> {
  return backend.mongoUri ? mongoStoreMixin(settings, backend) : fileStoreMixin(settings, backend);
}

/** MongoDB: the node's connection (mongoStoreMiddleware), no moleculer-db adapter. */
function mongoStoreMixin(settings: StoreSettings, backend: StoreBackend): Partial<ServiceSchema> {
  const prefix = backend.storePrefix ?? "";
  return {
    async started(this: any) {
      this.storeIndexes = declaredIndexes(settings);
      const conn = brokerMongo(this.broker);
      this.store = await MongoStore.open(conn, prefix + settings.collection, settings.indexes);
      this.stores = { [settings.collection]: this.store };
      for (const more of settings.more ?? []) this.stores[more.collection] = await MongoStore.open(conn, prefix + more.collection, more.indexes);
      if (typeof this.schema.onStoreReady === "function") await this.schema.onStoreReady.call(this);
    },
    // Nothing to close: the node closes its connection once every service has stopped.
  } as Partial<ServiceSchema>;
}

/** The embedded file store: moleculer-db's NeDB adapter per collection. */
function fileStoreMixin(settings: StoreSettings, backend: StoreBackend): Partial<ServiceSchema> {
  const prefix = backend.storePrefix ?? "";
  const collection = prefix + settings.collection;
  const adapter = makeAdapter(collection, backend);
  const disabled = ["find", "count", "list", "create", "insert", "get", "update", "remove"];
  return {
    mixins: [DbService as any],
    adapter,
    settings: { idField: "_id" },
    actions: Object.fromEntries(disabled.map((a) => [a, false])) as any,
    async afterConnected(this: any) {
      this.storeIndexes = declaredIndexes(settings);
      this.primaryDb = this.adapter.db; // the adapter forgets it on disconnect; its append handle is closed on stop
      this.store = await wrapAdapter(this.adapter, collection, settings.indexes);
      this.stores = { [settings.collection]: this.store };
      this.moreAdapters = [];
      for (const more of settings.more ?? []) {
        const name = prefix + more.collection;
        const a = makeAdapter(name, backend);
        a.init(this.broker, { schema: {}, logger: this.logger, name: this.name });
        await a.connect();
        this.moreAdapters.push(a);
        this.stores[more.collection] = await wrapAdapter(a, name, more.indexes);
      }
      // Services hook in here, not in afterConnected (a service's own afterConnected would replace this one).
      if (typeof this.schema.onStoreReady === "function") await this.schema.onStoreReady.call(this);
    },
    async started(this: any) {
      // The file store is one process's: in a mesh, a second node offering this service is refused.
      if (!this.broker.transit) return;
      await new Promise((r) => setTimeout(r, 1000)); // let discovery answer first
      const elsewhere = this.broker.registry
        .getServiceList({ onlyAvailable: true })
        .filter((s: { name: string; nodeID: string }) => s.name === this.name && s.nodeID !== this.broker.nodeID);
      if (elsewhere.length > 0) {
        throw new ConfigError(
          `Service ${this.name} already runs on node ${elsewhere[0].nodeID} with the file store; it must run on exactly one node (set MONGO_URI to scale it out).`,
        );
      }
    },
    async stopped(this: any) {
      this.adapter?.db?.stopAutocompaction?.();
      await closeAppendHandle(this.primaryDb);
      for (const a of this.moreAdapters ?? []) {
        const db = a.db;
        db?.stopAutocompaction?.();
        await closeAppendHandle(db);
        await a.disconnect?.();
      }
    },
  } as Partial<ServiceSchema>;
}
