/** RepayMesh nodes as real child processes (`node --import tsx bin/start.ts`), for mesh and crash tests. */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { KEYS } from "./node";

const ROOT = path.resolve(__dirname, "../..");

export interface NodeProcess {
  proc: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function spawnNode(env: NodeJS.ProcessEnv): NodeProcess {
  // node itself with tsx as its loader: one process, so a kill -9 kills the node (the tsx CLI would
  // run it as a child that outlives its parent).
  const proc = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "bin", "start.ts")], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout?.on("data", (d) => (out += d));
  proc.stderr?.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return {
    proc,
    output: () => out,
    exited,
    async kill(signal: NodeJS.Signals = "SIGTERM") {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

export async function api(port: number, method: string, url: string, body?: unknown, key: string = KEYS.admin) {
  const res = await fetch(`http://127.0.0.1:${port}${url}`, {
    method,
    headers: { "X-Api-Key": key, ...(body !== undefined ? { "Content-Type": "application/json" } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/**
 * Poll the gateway until `services` are all listed in its health and it answers /api/v1/ready with
 * 200 (every route of the available services served and documented: bin/health.ts's readiness).
 */
export async function waitForServicesOver(port: number, services: string[], node: NodeProcess, timeoutMs = 45_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (node.proc.exitCode !== null) throw new Error(`node exited early:\n${node.output()}`);
    try {
      const h = await api(port, "GET", "/api/v1/health");
      last = h.body;
      if (h.status === 200 && services.every((s) => h.body.services.includes(s))) {
        const ready = await api(port, "GET", "/api/v1/ready");
        last = ready.body;
        if (ready.status === 200) return h.body;
      }
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`services ${services.join(",")} not up in ${timeoutMs} ms; last health/readiness: ${JSON.stringify(last)}\n${node.output()}`);
}
