/** `npm start`: one RepayMesh node from the environment (embedded by default). */
import { ConfigError } from "../config";
import { startNode } from "./node";

async function main() {
  const node = await startNode();
  const { config } = node;
  if (node.port !== undefined) {
    console.warn(`RepayMesh ${config.transporter ? "cluster node" : "embedded"} ready: console http://localhost:${node.port}/ , API http://localhost:${node.port}/api/v1`);
  }
  if (config.testClock) console.warn("TEST_CLOCK=1: the business clock can be moved through /api/v1/test-clock. Never in production.");
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.warn(`${signal}: stopping`);
    const timer = setTimeout(() => process.exit(1), 15_000);
    timer.unref();
    await node.stop().catch((err) => console.error(err));
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  if (process.env.REPAYMESH_REPL === "1") await (node.broker as any).repl();
}

main().catch((err) => {
  if (err instanceof ConfigError) console.error(`Configuration error: ${err.message}`);
  else console.error(err);
  process.exit(1);
});
