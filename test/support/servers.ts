/**
 * Real nats-server, redis-server and FerretDB processes on 127.0.0.1 with free ports, for the tests
 * that need them (scripts/test.sh installs the Debian packages when they are missing) and for the
 * local cluster (scripts/cluster.ts: its own folders, kept between runs).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, "127.0.0.1");
      sock.once("connect", () => {
        sock.destroy();
        resolve(true);
      });
      sock.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port ${port} did not open within ${timeoutMs} ms`);
}

/** Debian puts nats-server in /usr/sbin, which is not on every PATH. */
export function binary(name: string): string {
  for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"])) {
    const p = path.join(dir, name);
    if (dir && fs.existsSync(p)) return p;
  }
  throw new Error(`${name} not found: run npm test (scripts/test.sh installs it)`);
}

export interface ServerHandle {
  port: number;
  /** The server's folder: its log (server.log) and, for NATS, the JetStream store. */
  dir: string;
  url: string;
  /** The process now (a new one after each restart). */
  proc: ChildProcess;
  stop(): Promise<void>;
  /**
   * Stop the server (SIGTERM, or SIGKILL with `{ kill: true }`), stay down `downMs`, start it again on
   * the same port with the same arguments (NATS: the same JetStream store folder; Redis keeps
   * nothing: it starts empty, as a Redis without persistence does after a restart).
   */
  restart(opts?: { downMs?: number; kill?: boolean }): Promise<void>;
}

/** Where and how a server runs (tests: defaults; the local cluster: a kept folder, its own process group). */
export interface ServerOptions {
  /** The server's folder (created when missing); default a new temporary folder. */
  dir?: string;
  /** Default a free port. */
  port?: number;
  /** Its own process group: a Ctrl-C in the terminal reaches only the parent, which stops it in its turn. */
  detached?: boolean;
}

function serverDir(opts: ServerOptions, prefix: string): string {
  if (!opts.dir) return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.mkdirSync(opts.dir, { recursive: true });
  return opts.dir;
}

async function stopProc(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
    proc.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    proc.kill("SIGTERM");
  });
}

/** A server process on a port that can be stopped and started again on the same port; its output goes to `<dir>/server.log`. */
async function serve(name: string, scheme: string, dir: string, args: (port: number) => string[], opts: ServerOptions = {}): Promise<ServerHandle> {
  const port = opts.port ?? (await freePort());
  const launch = async () => {
    const log = fs.openSync(path.join(dir, "server.log"), "a");
    const proc = spawn(binary(name), args(port), { stdio: ["ignore", log, log], detached: !!opts.detached });
    fs.closeSync(log);
    await waitForPort(port);
    return proc;
  };
  const handle: ServerHandle = {
    port,
    dir,
    url: `${scheme}://127.0.0.1:${port}`,
    proc: await launch(),
    stop: () => stopProc(handle.proc),
    async restart(opts = {}) {
      if (opts.kill) {
        const exited = new Promise((r) => handle.proc.once("exit", r));
        if (handle.proc.exitCode === null && handle.proc.signalCode === null) {
          handle.proc.kill("SIGKILL");
          await exited;
        }
      } else {
        await stopProc(handle.proc);
      }
      await new Promise((r) => setTimeout(r, opts.downMs ?? 0));
      handle.proc = await launch();
    },
  };
  return handle;
}

export async function startNats(opts: ServerOptions = {}): Promise<ServerHandle> {
  const dir = serverDir(opts, "rm-nats-");
  return serve("nats-server", "nats", dir, (port) => ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir], opts);
}

/** Redis keeps nothing by default; `persist` keeps an append-only file in its folder (the local cluster's daily caps outlive a restart). */
export async function startRedis(opts: ServerOptions & { persist?: boolean } = {}): Promise<ServerHandle> {
  const dir = serverDir(opts, "rm-redis-");
  const keep = opts.persist ? ["--appendonly", "yes"] : ["--appendonly", "no"];
  return serve("redis-server", "redis", dir, (port) => ["--bind", "127.0.0.1", "--port", String(port), "--save", "", ...keep, "--dir", dir], opts);
}

/**
 * Where the FerretDB binary is: $FERRETDB_BIN, the cache scripts/test.sh builds it into
 * (~/.cache/repaymesh/ferretdb-v1.24.2/ferretdb), or `ferretdb` on the PATH.
 */
export const FERRETDB_VERSION = "v1.24.2";
export function ferretBinary(): string {
  const candidates = [
    process.env.FERRETDB_BIN,
    path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "repaymesh", `ferretdb-${FERRETDB_VERSION}`, "ferretdb"),
  ];
  for (const c of candidates) if (c && fs.existsSync(c)) return c;
  try {
    const onPath = binary("ferretdb");
    // A `go install`ed ferretdb panics at start (no build/version/version.txt): only one that runs counts.
    if (spawnSync(onPath, ["--version"], { stdio: "ignore", timeout: 10_000 }).status === 0) return onPath;
  } catch {
    /* not on the PATH */
  }
  throw new Error(`no working ferretdb (looked at $FERRETDB_BIN, ${candidates[1]} and the PATH): run npm test (scripts/test.sh builds it)`);
}

/**
 * FerretDB 1.x (MongoDB wire protocol over SQLite) on a free port, its SQLite files and state in its
 * own folder; `url` names the database `repaymesh`. restart() keeps the data (same folder), as a
 * MongoDB restart would.
 */
export async function startFerret(opts: ServerOptions = {}): Promise<ServerHandle> {
  const dir = serverDir(opts, "rm-ferret-");
  const bin = ferretBinary();
  const port = opts.port ?? (await freePort());
  const args = [
    `--listen-addr=127.0.0.1:${port}`,
    "--handler=sqlite",
    `--sqlite-url=file:${dir}/`,
    `--state-dir=${dir}`,
    "--debug-addr=-",
    "--telemetry=disable",
    "--log-level=warn",
  ];
  const launch = async () => {
    const log = fs.openSync(path.join(dir, "server.log"), "a");
    const proc = spawn(bin, args, { stdio: ["ignore", log, log], detached: !!opts.detached });
    fs.closeSync(log);
    await waitForPort(port);
    return proc;
  };
  const handle: ServerHandle = {
    port,
    dir,
    url: `mongodb://127.0.0.1:${port}/repaymesh`,
    proc: await launch(),
    stop: () => stopProc(handle.proc),
    async restart(opts = {}) {
      if (opts.kill) {
        const exited = new Promise((r) => handle.proc.once("exit", r));
        if (handle.proc.exitCode === null && handle.proc.signalCode === null) {
          handle.proc.kill("SIGKILL");
          await exited;
        }
      } else {
        await stopProc(handle.proc);
      }
      await new Promise((r) => setTimeout(r, opts.downMs ?? 0));
      handle.proc = await launch();
    },
  };
  return handle;
}
