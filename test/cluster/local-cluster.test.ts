/**
 * `npm run cluster` as ops run it: scripts/cluster.ts starts nats-server, redis-server, FerretDB and
 * six nodes (gateway, core, two workers, two executors) in a folder of its own; an order synced
 * through the gateway is stored and read back; Ctrl-C (SIGINT) stops every process it started.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { orderFixture } from "../support/node";
import { freePort } from "../support/servers";

const ROOT = path.resolve(__dirname, "../..");

jest.setTimeout(150_000);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// The cluster runs on its own FerretDB whatever the suite's store: once is enough (the MONGO_URI pass skips it).
const suite = process.env.MONGO_URI ? describe.skip : describe;

suite("npm run cluster (scripts/cluster.ts)", () => {
  let proc: ChildProcess;
  let out = "";
  let exited: Promise<number | null>;
  let port: number;
  let adminKey = "";
  let order: Record<string, any>;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rm-cluster-"));
  const pids = (): number[] => [...out.matchAll(/\(pid (\d+)/g)].map((m) => Number(m[1]));

  /** Run scripts/cluster.ts on the test's folder and port until it prints that it is ready. */
  async function startCluster(): Promise<void> {
    out = "";
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), CLUSTER_DIR: dir, LOG_LEVEL: "warn", CLUSTER_READY_TIMEOUT_MS: "120000" };
    for (const k of ["MONGO_URI", "TRANSPORTER", "REDIS_URL", "SERVICES", "DATA_DIR", "REPAYMESH_API_KEYS", "REPAYMESH_DATA_KEY", "STORE_PREFIX"]) delete env[k];
    proc = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts", "cluster.ts")], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    proc.stdout?.on("data", (d) => (out += d));
    proc.stderr?.on("data", (d) => (out += d));
    exited = new Promise((resolve) => proc.once("exit", (code) => resolve(code)));
    const deadline = Date.now() + 130_000;
    while (!/ready at http:\/\/localhost:\d+/.test(out)) {
      if (proc.exitCode !== null) throw new Error(`cluster exited early (${proc.exitCode}):\n${out}`);
      if (Date.now() > deadline) throw new Error(`cluster not ready:\n${out}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  beforeAll(async () => {
    port = await freePort();
    await startCluster();
  });

  afterAll(async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGINT");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 40_000))]);
    }
    // Nothing of ours may outlive a failed run either.
    for (const pid of pids()) if (isAlive(pid)) process.kill(pid, "SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("starts three servers and six nodes, each line prefixed with its name, and prints the admin key once", () => {
    expect(pids()).toHaveLength(9);
    for (const name of ["gateway", "core", "worker-1", "worker-2", "executor-1", "executor-2"]) {
      expect(out).toMatch(new RegExp(`^cluster +\\| ${name} \\(`, "m"));
    }
    expect(out).toMatch(/^gateway +\| RepayMesh cluster node ready/m);
    const secrets = JSON.parse(fs.readFileSync(path.join(dir, "secrets.json"), "utf8"));
    expect(fs.statSync(path.join(dir, "secrets.json")).mode & 0o077).toBe(0);
    expect(secrets.dataKey).toMatch(/^[0-9a-f]{64}$/);
    adminKey = /admin API key \(shown once, store it now\): (\S+)/.exec(out)?.[1] ?? "";
    expect(secrets.apiKeys).toBe(`admin:${adminKey}:admin`);
  });

  const call = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${port}${url}`, {
      method,
      headers: { "X-Api-Key": adminKey, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: await res.json() };
  };

  it("syncs an order through the gateway and reads it back, the plan generated on a worker", async () => {
    const health = await call("GET", "/api/v1/health");
    expect(health.body).toMatchObject({ nodeID: "gateway", mode: "cluster", store: "mongodb" });

    order = orderFixture();
    const synced = await call("POST", "/api/v1/orders", order);
    expect(synced).toMatchObject({ status: 200, body: { orderNo: order.orderNo, status: "ACTIVE", planId: expect.stringMatching(/^PL/) } });
    const read = await call("GET", `/api/v1/orders/${order.source}/${order.orderNo}`);
    expect(read).toMatchObject({ status: 200, body: { orderNo: order.orderNo, planId: synced.body.planId } });
    const plan = await call("GET", `/api/v1/plans/${synced.body.planId}`);
    expect(plan.status).toBe(200);
    expect(plan.body.installments).toHaveLength(12);
  });

  it("stops every node and server on SIGINT, and exits 0", async () => {
    const started = pids();
    expect(started.every(isAlive)).toBe(true);
    proc.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(started.filter(isAlive)).toEqual([]);
    // Nodes first, then the servers.
    const gatewayStop = out.indexOf("gateway    | SIGTERM: stopping");
    const natsStop = out.indexOf("nats-server stopped");
    expect(gatewayStop).toBeGreaterThan(-1);
    expect(natsStop).toBeGreaterThan(gatewayStop);
    expect(out.indexOf("core       | SIGTERM: stopping")).toBeLessThan(out.indexOf("ferretdb stopped"));
    // The folder keeps the servers' data for the next run.
    for (const sub of ["nats", "redis", "ferretdb", "nodes/core/banks"]) expect(fs.existsSync(path.join(dir, sub))).toBe(true);
  });

  it("starts again on the same folder with the data kept, the key not printed again", async () => {
    await startCluster();
    expect(out).not.toMatch(/shown once/);
    const read = await call("GET", `/api/v1/orders/${order.source}/${order.orderNo}`);
    expect(read).toMatchObject({ status: 200, body: { orderNo: order.orderNo, status: "ACTIVE" } });
    proc.kill("SIGINT");
    expect(await exited).toBe(0);
  });
});
