/**
 * Real nats-server and redis-server processes on 127.0.0.1 with free ports, for the tests that need
 * them (scripts/test.sh installs the Debian packages when they are missing).
 */
import { spawn, type ChildProcess } from "node:child_process";
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
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
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

export async function startNats(): Promise<ServerHandle> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rm-nats-"));
  const proc = spawn(binary("nats-server"), ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir], { stdio: "ignore" });
  await waitForPort(port);
  return { port, url: `nats://127.0.0.1:${port}`, proc, stop: () => stopProc(proc) };
}

export async function startRedis(): Promise<ServerHandle> {
  const port = await freePort();
  const proc = spawn(binary("redis-server"), ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  await waitForPort(port);
  return { port, url: `redis://127.0.0.1:${port}`, proc, stop: () => stopProc(proc) };
}
