/**
 * Every index a service declares exists once a whole node has started on a MongoDB-wire server
 * (FerretDB 1.24, started here): compound keys in their order, unique ones unique, a partial one
 * FerretDB refuses as its plain key; and every collection with an outbox declares the sweep's index.
 * On the file store the same node keeps the one-field ones (NeDB indexes one field).
 */
import { MongoConnection, mongoIndexOf } from "../../mixins/mongo-store";
import { nedbIndexOf, type IndexSpec } from "../../mixins/store.mixin";
import { OUTBOX_INDEX } from "../../mixins/messaging/outbox.mixin";
import { startFerret, type ServerHandle } from "../support/servers";
import { startTestNode, type TestNode } from "../support/node";

jest.setTimeout(120_000);

type Declared = Array<{ service: string; collection: string; specs: IndexSpec[] }>;

function declared(node: TestNode): Declared {
  const out: Declared = [];
  for (const svc of node.broker.services as any[]) {
    for (const [collection, specs] of Object.entries((svc.storeIndexes ?? {}) as Record<string, IndexSpec[]>)) out.push({ service: svc.name, collection, specs });
  }
  return out;
}

function outboxesDeclareTheirIndex(node: TestNode): void {
  const outboxes = (node.broker.services as any[]).filter((s) => s.outboxCollections);
  expect(outboxes.map((s) => s.name).sort()).toEqual(["alerts", "ledger", "order-sync", "reconciler", "schedule", "sign-bind"]);
  for (const svc of outboxes) {
    for (const c of svc.outboxCollections as string[]) expect({ service: svc.name, collection: c, indexed: svc.storeIndexes[c]?.some((ix: IndexSpec) => ix.field === OUTBOX_INDEX.field && ix.sparse) }).toEqual({ service: svc.name, collection: c, indexed: true });
  }
}

describe("declared indexes", () => {
  describe("on FerretDB", () => {
    let ferret: ServerHandle;
    let node: TestNode;
    let conn: MongoConnection;
    const prefix = "ix_";

    beforeAll(async () => {
      ferret = await startFerret();
      node = await startTestNode({ MONGO_URI: ferret.url, STORE_PREFIX: prefix });
      conn = new MongoConnection(ferret.url);
      await conn.open();
    });
    afterAll(async () => {
      await conn?.close();
      await node?.stop();
      await ferret?.stop();
    });

    it("exist after start, each with its key, unique where declared", async () => {
      const all = declared(node);
      // The collections of every data service of the node.
      const collections = all.map((d) => d.collection);
      for (const c of ["trades", "flows", "positions", "positionMoves", "plans", "orders", "bindings", "rules", "ruleHistory", "messages", "webhookDeliveries", "reconRuns", "transfers"]) expect(collections).toContain(c);
      expect(all.find((d) => d.collection === "trades")!.specs.some((s) => s.partial)).toBe(true);
      let checked = 0;
      for (const { service, collection, specs } of all) {
        const existing = await conn.collection(prefix + collection).listIndexes().toArray();
        const byName = new Map(existing.map((ix: any) => [ix.name, ix]));
        expect(byName.has("repaymesh_rev")).toBe(true);
        for (const spec of specs) {
          const want = mongoIndexOf(spec);
          const got: any = byName.get(want.options.name);
          expect({ service, collection, name: want.options.name, key: got?.key, unique: !!got?.unique }).toEqual({ service, collection, name: want.options.name, key: want.key, unique: want.options.unique });
          // FerretDB keeps no partial filter: a partial index is there as its plain key.
          expect(got.partialFilterExpression).toBeUndefined();
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(40);
    });

    it("every collection with an outbox declares the sweep's index", () => {
      outboxesDeclareTheirIndex(node);
    });
  });

  describe("on the file store", () => {
    let node: TestNode;
    beforeAll(async () => {
      node = await startTestNode({ MONGO_URI: "" });
    });
    afterAll(async () => {
      await node?.stop();
    });

    it("keeps the one-field ones, unique where declared, and no other", () => {
      for (const svc of node.broker.services as any[]) {
        if (!svc.storeIndexes) continue;
        for (const [collection, specs] of Object.entries(svc.storeIndexes as Record<string, IndexSpec[]>)) {
          const store = svc.stores[collection];
          const db = (store as any).db;
          const want = specs.map(nedbIndexOf).filter((x): x is NonNullable<typeof x> => !!x);
          for (const w of want) expect({ collection, field: w.fieldName, unique: db.indexes[w.fieldName]?.unique }).toEqual({ collection, field: w.fieldName, unique: w.unique });
          // Compound (MongoDB) keys make no NeDB index: a fresh file has its `_id` and the one-field ones only.
          expect({ collection, indexes: Object.keys(db.indexes).sort() }).toEqual({ collection, indexes: [...new Set(["_id", ...want.map((w) => w.fieldName)])].sort() });
        }
      }
      outboxesDeclareTheirIndex(node);
    });
  });
});
