/**
 * A whole RepayMesh node for a test, started through the project's own start function: its own
 * data folder (or its own database and collection prefix on MongoDB when MONGO_URI is set), the gateway on a
 * free port, and API keys for each role.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startNode, type NodeExtras, type RepayMeshNode } from "../../bin/node";

export const KEYS = {
  admin: "test-admin-key-0123456789",
  ops: "test-ops-key-0123456789abc",
  viewer: "test-viewer-key-0123456789",
} as const;
export type TestRole = keyof typeof KEYS;

export interface TestNode extends RepayMeshNode {
  dataDir: string;
  env: NodeJS.ProcessEnv;
  /** Call the REST API; `role` picks the key (null = no key). */
  http(method: string, url: string, body?: unknown, role?: TestRole | null): Promise<{ status: number; body: any }>;
  /** Stop and start again on the same data (optionally with other extras, e.g. no crash injection). */
  restart(next?: NodeExtras): Promise<TestNode>;
}

export function tempDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "repaymesh-test-"));
}

/**
 * The store pass on a MongoDB-wire server (MONGO_URI; FerretDB in `npm test`). FerretDB's SQLite
 * handler reads the whole collection for every query: one by exactly `{_id}` is a table scan in
 * SQLite (its `_id` index is on another expression than its lookup), any other filter is decoded
 * and matched document by document, so there partitioned jobs run over 8 partitions instead of
 * 64 and the tests wait 3× longer (TEST_WAIT_SCALE overrides). A MongoDB answers from its indexes.
 */
export const ON_MONGO = !!process.env.MONGO_URI;
export const TEST_PARTITIONS = ON_MONGO ? 8 : 64;
export const WAIT_SCALE = Number(process.env.TEST_WAIT_SCALE ?? (ON_MONGO ? 3 : 1));

/** The card-data key of test nodes on MongoDB (a test value, never a real key). */
export const TEST_DATA_KEY = "7e57".repeat(16);

export function testEnv(overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    DATA_DIR: tempDataDir(),
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "error",
    REPAYMESH_API_KEYS: `alice:${KEYS.admin}:admin,olivia:${KEYS.ops}:ops,victor:${KEYS.viewer}:viewer`,
    PARTITIONS: String(TEST_PARTITIONS),
    ...overrides,
  };
  if (process.env.MONGO_URI && env.MONGO_URI === undefined) {
    // Its own database as well as its own prefix: FerretDB keeps one SQLite file per database, whose
    // every statement slows down as the file's schema grows (thousands of collections over a run).
    const tag = "t" + crypto.randomBytes(5).toString("hex");
    env.MONGO_URI = process.env.MONGO_URI.replace(/^(mongodb(?:\+srv)?:\/\/[^/?]+)(\/[^?]*)?/, `$1/${tag}`);
    env.STORE_PREFIX = env.STORE_PREFIX ?? tag + "_";
  }
  // One card-data key for every node of a test on MongoDB (required there, see mixins/data-key.ts).
  if (env.MONGO_URI && !env.REPAYMESH_DATA_KEY) env.REPAYMESH_DATA_KEY = TEST_DATA_KEY;
  return env;
}

export async function startTestNode(overrides: NodeJS.ProcessEnv = {}, reuseEnv?: NodeJS.ProcessEnv, extras: NodeExtras = {}): Promise<TestNode> {
  const env = reuseEnv ?? testEnv(overrides);
  const node = await startNode(env, extras);
  const base = node.port !== undefined ? `http://127.0.0.1:${node.port}` : undefined;
  const t: TestNode = Object.assign(node, {
    dataDir: env.DATA_DIR as string,
    env,
    async http(method: string, url: string, body?: unknown, role: TestRole | null = "admin") {
      if (!base) throw new Error("this node runs no gateway");
      const headers: Record<string, string> = {};
      if (role) headers["X-Api-Key"] = KEYS[role];
      if (body !== undefined) headers["Content-Type"] = "application/json";
      const res = await fetch(base + url, { method, headers, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
      const text = await res.text();
      let parsed: any = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        /* not JSON */
      }
      return { status: res.status, body: parsed };
    },
    async restart(next: NodeExtras = {}) {
      await node.stop();
      return startTestNode({}, env, next);
    },
  });
  return t;
}

/** A valid order; `over` replaces fields. */
export function orderFixture(over: Record<string, unknown> = {}): Record<string, any> {
  return {
    source: "LEASE_SYS",
    orderNo: "A-" + crypto.randomBytes(4).toString("hex"),
    bizType: "LEASE",
    funderId: "F001",
    productCode: "P12",
    customer: { id: "C1", name: "Zhang San", idNo: "110101199001011234", mobile: "13800138000" },
    principal: "100000.00",
    annualRate: "0.12",
    term: 12,
    repaymentMethod: "EQUAL_INSTALLMENT",
    startDate: "2026-01-15",
    ...over,
  };
}
