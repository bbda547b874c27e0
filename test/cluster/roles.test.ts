/**
 * Node roles as documented: every service that owns a collection is marked so (bin/node.ts) and,
 * on the file store, runs on exactly one node of a mesh (a second node offering it refuses to start);
 * with MONGO_URI a second node runs it too. The simulated banks have one keeper whatever the store.
 * The groups of bin/roles.ts place every service once, and the executor group owns no data.
 * Over a real nats-server, nodes started in this process through the project's start function.
 */
import type { ServiceSchema } from "moleculer";
import { loadConfig } from "../../config";
import { SERVICE_FACTORIES } from "../../bin/node";
import { NODE_GROUPS } from "../../bin/roles";
import { startTestNode, tempDataDir, testEnv, type TestNode } from "../support/node";
import { startNats, type ServerHandle } from "../support/servers";

jest.setTimeout(120_000);

const DATA_OWNING = Object.keys(SERVICE_FACTORIES).filter((n) => SERVICE_FACTORIES[n].ownsData);

/** Does the schema (or a mixin of it, at any depth) keep a file-store collection (moleculer-db's adapter)? */
function keepsFileStore(schema: Partial<ServiceSchema> & { adapter?: unknown }): boolean {
  return schema.adapter !== undefined || ((schema.mixins ?? []) as Partial<ServiceSchema>[]).some(keepsFileStore);
}

describe("roles: which services own data", () => {
  it("marks a service as owning data exactly when it keeps a store collection", () => {
    const cfg = loadConfig({ ...testEnv(), MONGO_URI: "" });
    const keeping = Object.keys(SERVICE_FACTORIES).filter((n) => keepsFileStore(SERVICE_FACTORIES[n].factory(cfg)));
    expect(keeping.sort()).toEqual([...DATA_OWNING].sort());
    expect(DATA_OWNING).toEqual(expect.arrayContaining(["clock", "rules", "notifier", "webhooks", "reconciler", "asset-transfer"]));
  });

  it("places every service in exactly one node group; the executor group owns no data; sim-banks only on the core", () => {
    const placed = Object.values(NODE_GROUPS).flat();
    expect([...placed].sort()).toEqual(Object.keys(SERVICE_FACTORIES).sort());
    expect(new Set(placed).size).toBe(placed.length);
    expect(NODE_GROUPS.executor.filter((n) => SERVICE_FACTORIES[n].ownsData)).toEqual([]);
    expect(NODE_GROUPS.gateway.filter((n) => SERVICE_FACTORIES[n].ownsData)).toEqual([]);
    expect(NODE_GROUPS.worker).toContain("notifier");
    expect(NODE_GROUPS.core).toContain("sim-banks");
  });
});

describe("roles over a mesh: a second node offering a data service", () => {
  let nats: ServerHandle;
  let first: TestNode;
  const seconds: TestNode[] = [];

  beforeAll(async () => {
    nats = await startNats();
    first = await startTestNode({ TRANSPORTER: nats.url, NODE_ID: "first" });
  });

  afterAll(async () => {
    await Promise.all(seconds.map((n) => n.stop()));
    await first?.stop();
    await nats?.stop();
  });

  const second = (service: string) => startTestNode({}, { ...first.env, NODE_ID: `second-${service}`, SERVICES: service, DATA_DIR: tempDataDir(), PORT: "0", LOG_LEVEL: "fatal" });

  if (!process.env.MONGO_URI) {
    it.each(DATA_OWNING)("file store: a second node offering %s refuses to start", async (service) => {
      await expect(second(service)).rejects.toThrow(new RegExp(`Service ${service} already runs on node first with the file store`));
    });
  } else {
    it.each(DATA_OWNING)("MONGO_URI: a second node runs %s too", async (service) => {
      const node = await second(service);
      seconds.push(node);
      expect(node.broker.getLocalService(service)).toBeTruthy();
    });
  }

  it("a second node offering sim-banks refuses to start, whatever the store", async () => {
    await expect(second("sim-banks")).rejects.toThrow(/sim-banks already runs on node first/);
  });
});
