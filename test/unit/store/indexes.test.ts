/**
 * Index declarations as each store reads them: the MongoDB store's createIndex key and options
 * (compound keys, partial filters, a partial one FerretDB refuses created plainly), the file store's
 * one-field NeDB indexes, and declarations no store could keep alike refused on both.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ServiceBroker } from "moleculer";
import { ensureMongoIndex, mongoIndexOf } from "../../../mixins/mongo-store";
import { nedbIndexOf, StoreMixin, type IndexSpec } from "../../../mixins/store.mixin";
import { OUTBOX_INDEX, OUTBOX_PENDING } from "../../../mixins/messaging/outbox.mixin";

describe("index declarations", () => {
  it.each<[string, IndexSpec, ReturnType<typeof mongoIndexOf>, ReturnType<typeof nedbIndexOf>]>([
    ["one field", { field: "planId" }, { key: { planId: 1 }, options: { name: "planId_1", unique: false, sparse: false } }, { fieldName: "planId", unique: false, sparse: false }],
    ["a unique key (sparse on MongoDB)", { field: "key", unique: true }, { key: { key: 1 }, options: { name: "key_1", unique: true, sparse: true } }, { fieldName: "key", unique: true, sparse: false }],
    ["a sparse field", { field: "outbox.0.id", sparse: true }, { key: { "outbox.0.id": 1 }, options: { name: "outbox.0.id_1", unique: false, sparse: true } }, { fieldName: "outbox.0.id", unique: false, sparse: true }],
    ["a compound key: MongoDB only", { fields: { partition: 1, state: 1 } }, { key: { partition: 1, state: 1 }, options: { name: "partition_1_state_1", unique: false, sparse: false } }, null],
    ["a sort key with directions", { fields: { createdAt: -1, _id: 1 } }, { key: { createdAt: -1, _id: 1 }, options: { name: "createdAt_-1__id_1", unique: false, sparse: false } }, null],
    [
      "a partial compound key, named",
      { fields: { overdueDays: -1, _id: 1 }, partial: { overdueDays: { $gt: 0 } }, name: "overdue" },
      { key: { overdueDays: -1, _id: 1 }, options: { name: "overdue", unique: false, sparse: false, partialFilterExpression: { overdueDays: { $gt: 0 } } } },
      null,
    ],
    ["a partial one-field key: sparse on NeDB", { field: "dueAt", partial: { dueAt: { $exists: true } } }, { key: { dueAt: 1 }, options: { name: "dueAt_1", unique: false, sparse: false, partialFilterExpression: { dueAt: { $exists: true } } } }, { fieldName: "dueAt", unique: false, sparse: true }],
  ])("%s", (_name, spec, mongo, nedb) => {
    expect(mongoIndexOf(spec)).toEqual(mongo);
    expect(nedbIndexOf(spec)).toEqual(nedb);
  });

  it.each<[string, IndexSpec, RegExp]>([
    ["a unique compound key (NeDB cannot enforce it)", { fields: { a: 1, b: 1 }, unique: true }, /unique key must be one field/],
    ["a unique partial key (FerretDB would enforce it on every document)", { field: "a", unique: true, partial: { b: true } }, /unique key must be one field and not partial/],
    ["partial and sparse (MongoDB refuses the mix)", { field: "a", sparse: true, partial: { a: { $exists: true } } }, /partial or sparse/],
    ["no field", { fields: {} }, /one or more fields/],
    ["a direction other than 1 or -1", { fields: { a: 2 as 1 } }, /each 1 or -1/],
  ])("refuses %s on both stores", (_name, spec, message) => {
    expect(() => mongoIndexOf(spec)).toThrow(message);
    expect(() => nedbIndexOf(spec)).toThrow(message);
  });

  describe("a partial index FerretDB refuses", () => {
    const ferretRefusal = Object.assign(new Error('Index option "partialFilterExpression" is not implemented yet'), { code: 238, codeName: "NotImplemented" });
    const fakeCollection = (fail: (options: any) => Error | null) => {
      const calls: any[] = [];
      return {
        calls,
        coll: {
          async createIndex(key: unknown, options: any) {
            calls.push({ key, options });
            const err = fail(options);
            if (err) throw err;
            return options.name;
          },
        } as any,
      };
    };

    it("is created as a plain index of the same key and name", async () => {
      const { coll, calls } = fakeCollection((o) => (o.partialFilterExpression ? ferretRefusal : null));
      const ix = mongoIndexOf({ fields: { partition: 1, "pending.0": 1 }, partial: { "pending.0": { $exists: true } }, name: "repair_pending" });
      await expect(ensureMongoIndex(coll, ix)).resolves.toBe("plain");
      expect(calls).toEqual([
        { key: { partition: 1, "pending.0": 1 }, options: { name: "repair_pending", unique: false, sparse: false, partialFilterExpression: { "pending.0": { $exists: true } } } },
        { key: { partition: 1, "pending.0": 1 }, options: { name: "repair_pending", unique: false, sparse: false } },
      ]);
    });

    it("is created as declared where the server takes it (MongoDB)", async () => {
      const { coll, calls } = fakeCollection(() => null);
      await expect(ensureMongoIndex(coll, mongoIndexOf({ fields: { a: 1 }, partial: { a: { $gt: 0 } } }))).resolves.toBe("created");
      expect(calls).toHaveLength(1);
    });

    it("keeps any other refusal an error (a conflicting index, a refused non-partial index)", async () => {
      const conflict = Object.assign(new Error("An existing index has the same name as the requested index"), { code: 86 });
      const a = fakeCollection(() => conflict);
      await expect(ensureMongoIndex(a.coll, mongoIndexOf({ fields: { a: 1 }, partial: { a: { $gt: 0 } } }))).rejects.toBe(conflict);
      expect(a.calls).toHaveLength(1);
      const b = fakeCollection(() => ferretRefusal);
      await expect(ensureMongoIndex(b.coll, mongoIndexOf({ field: "a" }))).rejects.toBe(ferretRefusal);
    });
  });

  it("the file store creates the one-field indexes only, and the service knows what it declared", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "repaymesh-ix-"));
    const broker = new ServiceBroker({ logger: false });
    const declared: IndexSpec[] = [{ field: "planId" }, { field: "key", unique: true }, { fields: { partition: 1, state: 1 } }, OUTBOX_INDEX];
    const svc: any = broker.createService({ name: "things", mixins: [StoreMixin({ collection: "things", indexes: declared, more: [{ collection: "others", indexes: [{ fields: { a: 1, b: -1 } }] }] }, { dataDir })] });
    await broker.start();
    try {
      expect(Object.keys(svc.adapter.db.indexes).sort()).toEqual(["_id", "key", "outbox.0.id", "planId"]);
      expect(svc.adapter.db.indexes.key.unique).toBe(true);
      expect(svc.storeIndexes).toEqual({ things: declared, others: [{ fields: { a: 1, b: -1 } }] });
      // The outbox sweep's query is answered from its index: only documents holding entries are read.
      for (let i = 0; i < 50; i++) await svc.store.insert({ _id: `d${i}`, key: `k${i}`, outbox: i % 10 === 0 ? [{ id: `EV${i}` }] : [] });
      await svc.store.insert({ _id: "none", key: "none" });
      expect(svc.adapter.db._getRawCandidates(OUTBOX_PENDING)).toHaveLength(5);
      expect((await svc.store.find(OUTBOX_PENDING)).map((d: any) => d._id).sort()).toEqual(["d0", "d10", "d20", "d30", "d40"]);
      await svc.store.updateOne({ _id: "d0", "outbox.0.id": "EV0" }, { $pop: { outbox: -1 } });
      expect(svc.adapter.db._getRawCandidates(OUTBOX_PENDING)).toHaveLength(4);
    } finally {
      await broker.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
