/**
 * The store port every data-owning piece of logic writes through: unique keys that turn a duplicate
 * into DUPLICATE_KEY, and conditional updates (compare-and-set) that report what they matched.
 * Implemented by mixins/store.mixin.ts (NeDB embedded, MongoDB in cluster mode); the fault
 * simulation uses the NeDB implementation in memory, so it keeps the real store's rules.
 */
export type Doc = { _id: string } & Record<string, any>;
export type Query = Record<string, any>;
export type Update = Record<string, any>;

export interface FindOptions {
  sort?: Record<string, 1 | -1>;
  skip?: number;
  limit?: number;
  /** Only these fields (and `_id`) are needed: a store may return just them (the file store does). */
  fields?: string[];
}

export interface Store<T extends Doc = Doc> {
  readonly collection: string;
  /** Insert; a unique-index violation throws DomainError DUPLICATE_KEY. */
  insert(doc: T): Promise<T>;
  findById(id: string): Promise<T | null>;
  findOne(query: Query): Promise<T | null>;
  find(query: Query, opts?: FindOptions): Promise<T[]>;
  count(query: Query): Promise<number>;
  /** Compare-and-set: update one document matching `query`; returns the updated document or null. */
  updateOne(query: Query, update: Update): Promise<T | null>;
  updateMany(query: Query, update: Update): Promise<number>;
  remove(query: Query): Promise<number>;
}
