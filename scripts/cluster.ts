/**
 * `npm run cluster`: the cluster topology as local processes, for ops without Docker.
 *
 *   nats-server (JetStream), redis-server and FerretDB (MongoDB wire protocol over SQLite), then
 *   gateway (api, the console on :3000 or $PORT) · core (clock, rules, sim-banks) ·
 *   worker-1, worker-2 (the data services) · executor-1, executor-2 (debit slots, payouts, accrual)
 *
 * every node a child process started as `npm start` starts one (bin/start.ts), its output lines
 * prefixed with its name. Everything is kept in one folder, CLUSTER_DIR (default ./data/cluster):
 * the servers' data (a restart keeps the orders, plans, trades, JetStream streams and Redis counters),
 * each node's DATA_DIR (the core's holds the simulated banks' journals) and secrets.json (the shared
 * card-data key and the admin API key, created on the first run; the key is printed then). A lock
 * refuses a second cluster on the same folder. Ctrl-C stops the nodes (gateway, executors, workers,
 * core), then the servers; a second Ctrl-C kills what is left.
 *
 * Settings: PORT (gateway), CLUSTER_DIR, LOG_LEVEL (default warn), CLUSTER_READY_TIMEOUT_MS (default
 * 180000); REPAYMESH_API_KEYS / REPAYMESH_DATA_KEY, when set, are used instead of secrets.json; any
 * other setting of the environment (TEST_CLOCK, SIM_BANKS_CONFIG, …) reaches every node.
 */
import { spawn, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { ConfigError } from "../config";
import { lockDataDir } from "../bin/data-lock";
import { NODE_GROUPS, type NodeGroup } from "../bin/roles";
import { freePort, startFerret, startNats, startRedis, type ServerHandle } from "../test/support/servers";

const ROOT = path.resolve(__dirname, "..");

interface Secrets {
  dataKey: string;
  apiKeys: string;
}

interface NodeChild {
  name: string;
  group: NodeGroup;
  healthPort: number;
  proc: ChildProcess;
  exited: Promise<number | null>;
}

function say(line: string): void {
  process.stdout.write(`${"cluster".padEnd(10)} | ${line}\n`);
}

/** The shared secrets, created once (mode 0600) in the cluster folder; the environment's win. */
function loadSecrets(dir: string): Secrets {
  const file = path.join(dir, "secrets.json");
  let stored: Secrets | undefined;
  if (fs.existsSync(file)) {
    stored = JSON.parse(fs.readFileSync(file, "utf8")) as Secrets;
  } else if (!process.env.REPAYMESH_API_KEYS || !process.env.REPAYMESH_DATA_KEY) {
    const adminKey = crypto.randomBytes(24).toString("hex");
    stored = { dataKey: crypto.randomBytes(32).toString("hex"), apiKeys: `admin:${adminKey}:admin` };
    fs.writeFileSync(file, JSON.stringify(stored, null, 2) + "\n", { mode: 0o600, flag: "wx" });
    if (!process.env.REPAYMESH_API_KEYS) {
      process.stdout.write(`\n  RepayMesh admin API key (shown once, store it now): ${adminKey}\n  It is kept for this cluster's nodes in ${file} (readable by you only).\n\n`);
    }
  }
  return {
    dataKey: process.env.REPAYMESH_DATA_KEY || (stored as Secrets).dataKey,
    apiKeys: process.env.REPAYMESH_API_KEYS || (stored as Secrets).apiKeys,
  };
}

/** Each line of a child's stream, prefixed with its name. */
function prefixLines(stream: NodeJS.ReadableStream | null, name: string, out: NodeJS.WriteStream): void {
  if (!stream) return;
  const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
  rl.on("line", (line) => out.write(`${name.padEnd(10)} | ${line}\n`));
}

function spawnNodeProcess(name: string, group: NodeGroup, env: NodeJS.ProcessEnv, healthPort: number): NodeChild {
  // node with tsx as its loader: one process per node, as the tests start them (test/support/process.ts).
  // Its own process group: a Ctrl-C in the terminal reaches this script only, which stops the nodes in order.
  const proc = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "bin", "start.ts")], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  prefixLines(proc.stdout, name, process.stdout);
  prefixLines(proc.stderr, name, process.stderr);
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : null))));
  return { name, group, healthPort, proc, exited };
}

function alive(proc: ChildProcess): boolean {
  return proc.exitCode === null && proc.signalCode === null;
}

async function stopChild(child: NodeChild, timeoutMs = 20_000): Promise<void> {
  if (!alive(child.proc)) return;
  child.proc.kill("SIGTERM");
  const timer = setTimeout(() => {
    say(`${child.name} did not stop in ${timeoutMs / 1000} s: killing it`);
    child.proc.kill("SIGKILL");
  }, timeoutMs);
  await child.exited;
  clearTimeout(timer);
}

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function main(): Promise<number> {
  const dir = path.resolve(process.env.CLUSTER_DIR || path.join(ROOT, "data", "cluster"));
  const port = Number(process.env.PORT || 3000);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError("PORT must be a port number (1..65535)");
  const readyTimeoutMs = Number(process.env.CLUSTER_READY_TIMEOUT_MS || 180_000);
  fs.mkdirSync(dir, { recursive: true });
  const unlock = lockDataDir(dir, "Another `npm run cluster` uses this folder (set CLUSTER_DIR for a second cluster).");
  const secrets = loadSecrets(dir);

  const servers: Array<{ name: string; handle: ServerHandle }> = [];
  const nodes: NodeChild[] = [];
  let stopping = false;
  let firstSignalAt = 0;

  // Whatever happens to this script, no child outlives it.
  process.on("exit", () => {
    for (const n of nodes) if (alive(n.proc)) n.proc.kill("SIGKILL");
    for (const s of servers) if (alive(s.handle.proc)) s.handle.proc.kill("SIGKILL");
  });

  const shutdown = async (why: string): Promise<void> => {
    stopping = true;
    say(`${why}: stopping the nodes, then the servers`);
    const inGroup = (g: NodeGroup) => nodes.filter((n) => n.group === g);
    // The gateway first (no new requests), then what sends to the banks, then the data, then the banks.
    for (const group of ["gateway", "executor", "worker", "core"] as NodeGroup[]) await Promise.all(inGroup(group).map((n) => stopChild(n)));
    for (const s of [...servers].reverse()) {
      await s.handle.stop();
      say(`${s.name} stopped`);
    }
    unlock();
  };

  const done = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      const now = Date.now();
      if (firstSignalAt && now - firstSignalAt > 1000) {
        say(`${signal} again: killing everything`);
        process.exit(130);
      }
      if (firstSignalAt) return; // the same Ctrl-C relayed by npm or tsx
      firstSignalAt = now;
      shutdown(signal).then(
        () => resolve(0),
        (err) => {
          console.error(err);
          resolve(1);
        },
      );
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });

  try {
    say(`folder ${dir}`);
    const nats = await startNats({ dir: path.join(dir, "nats"), detached: true });
    servers.push({ name: "nats-server", handle: nats });
    say(`nats-server (JetStream) on ${nats.url} (pid ${nats.proc.pid})`);
    const redis = await startRedis({ dir: path.join(dir, "redis"), persist: true, detached: true });
    servers.push({ name: "redis-server", handle: redis });
    say(`redis-server on ${redis.url} (pid ${redis.proc.pid})`);
    const ferret = await startFerret({ dir: path.join(dir, "ferretdb"), detached: true });
    servers.push({ name: "ferretdb", handle: ferret });
    say(`FerretDB on ${ferret.url} (pid ${ferret.proc.pid})`);
    if (stopping) return await done;

    const plan: Array<{ name: string; group: NodeGroup }> = [
      { name: "core", group: "core" },
      { name: "worker-1", group: "worker" },
      { name: "worker-2", group: "worker" },
      { name: "executor-1", group: "executor" },
      { name: "executor-2", group: "executor" },
      { name: "gateway", group: "gateway" },
    ];
    for (const { name, group } of plan) {
      const healthPort = await freePort();
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        LOG_LEVEL: process.env.LOG_LEVEL || "warn",
        NODE_ID: name,
        SERVICES: NODE_GROUPS[group].join(","),
        TRANSPORTER: nats.url,
        REDIS_URL: redis.url,
        MONGO_URI: ferret.url,
        DATA_DIR: path.join(dir, "nodes", name),
        HEALTH_PORT: String(healthPort),
        REPAYMESH_API_KEYS: secrets.apiKeys,
        REPAYMESH_DATA_KEY: secrets.dataKey,
        PORT: group === "gateway" ? String(port) : "0",
      };
      delete env.SIM_BANKS_DIR; // the core keeps the banks' journals under its own DATA_DIR
      const child = spawnNodeProcess(name, group, env, healthPort);
      nodes.push(child);
      say(`${name} (${env.SERVICES}) started (pid ${child.proc.pid}, readiness http://127.0.0.1:${healthPort}/ready)`);
      void child.exited.then((code) => {
        if (!stopping) say(`${name} exited (code ${code}) while the cluster runs`);
      });
    }

    // Ready: every node answers its readiness check, and the console's health lists every service.
    const expected = Object.values(NODE_GROUPS).flat();
    const deadline = Date.now() + readyTimeoutMs;
    let last = "";
    for (;;) {
      if (stopping) return await done;
      const dead = nodes.find((n) => !alive(n.proc));
      if (dead) throw new Error(`${dead.name} exited before the cluster was ready (see its lines above)`);
      if (Date.now() > deadline) throw new Error(`the cluster was not ready in ${readyTimeoutMs / 1000} s: ${last}`);
      try {
        const notReady: string[] = [];
        for (const n of nodes) {
          const r = await getJson(`http://127.0.0.1:${n.healthPort}/ready`).catch(() => ({ status: 0, body: null }));
          if (r.status !== 200) notReady.push(n.name);
        }
        if (notReady.length) {
          last = `not ready: ${notReady.join(", ")}`;
        } else {
          const h = await getJson(`http://127.0.0.1:${port}/api/v1/health`);
          const missing = expected.filter((s) => !(h.body?.services ?? []).includes(s));
          if (h.status === 200 && missing.length === 0) break;
          last = `the console's health: ${h.status}, services missing ${missing.join(",")}`;
        }
      } catch (err) {
        last = String(err);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    say(`ready at http://localhost:${port} (the console; the API at http://localhost:${port}/api/v1). Ctrl-C stops the cluster.`);
    return await done;
  } catch (err) {
    if (!stopping) {
      console.error(`cluster: ${err instanceof Error ? err.message : String(err)}`);
      firstSignalAt = Date.now();
      await shutdown("failed");
    }
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof ConfigError) console.error(`Configuration error: ${err.message}`);
    else console.error(err);
    process.exit(1);
  },
);
