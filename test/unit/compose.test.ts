/**
 * docker-compose.yml read against the code (no Docker engine runs here, so this is what keeps the
 * file true): every service of bin/node.ts placed on a container, each node container running its
 * group of bin/roles.ts; every setting a container is given one the code reads, and its values
 * accepted by loadConfig; no named volume mounted by two containers; sim-banks on exactly one
 * container, not scaled, with its journal folder on its own volume; a readiness health check on every
 * node container (a gateway's at its own /api/v1/ready); no data-owning service on an executor (or any scaled container without MONGO_URI);
 * the secrets required where the code reads them, and set by the header's example command.
 * `composeProblems` lists what is wrong; the last tests break a copy of the file to show it notices.
 */
import fs from "node:fs";
import path from "node:path";
import { loadConfig } from "../../config";
import { selectedServices, SERVICE_FACTORIES } from "../../bin/node";
import { NODE_GROUPS } from "../../bin/roles";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml: { load(text: string): unknown } = require("js-yaml");

const ROOT = path.resolve(__dirname, "../..");
const COMPOSE_FILE = path.join(ROOT, "docker-compose.yml");

type Env = Record<string, string>;
interface Container {
  build?: unknown;
  image?: string;
  environment?: Env | string[];
  volumes?: Array<string | { type?: string; source?: string; target?: string }>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  depends_on?: Record<string, { condition?: string }> | string[];
  deploy?: { replicas?: number };
}
interface Compose {
  "x-node"?: Container;
  services: Record<string, Container>;
  volumes?: Record<string, unknown>;
}

/** Every environment variable name the code reads: config/index.ts's parsers, and `env.X` / `process.env.X` anywhere in the code. */
function settingsTheCodeReads(): Set<string> {
  const names = new Set<string>();
  const files: string[] = [path.join(ROOT, "moleculer.config.ts")];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts")) files.push(p);
    }
  };
  for (const d of ["config", "bin", "services", "mixins", "channels", "domain"]) walk(path.join(ROOT, d));
  for (const f of files) {
    const src = fs.readFileSync(f, "utf8");
    for (const m of src.matchAll(/\b(?:int|flag|nonEmpty|msList|hhmm)\(env, "([A-Z][A-Z0-9_]*)"/g)) names.add(m[1]);
    for (const m of src.matchAll(/\benv\.([A-Z][A-Z0-9_]*)\b/g)) names.add(m[1]);
    for (const m of src.matchAll(/\benv\[["']([A-Z][A-Z0-9_]*)["']\]/g)) names.add(m[1]);
  }
  return names;
}

/** Services whose code reads a secret: the card-data key (loadDataKey) or the API keys (loadApiKeys). */
function servicesCalling(fn: string): string[] {
  return Object.keys(SERVICE_FACTORIES).filter((n) => fs.readFileSync(path.join(ROOT, "services", `${n}.service.ts`), "utf8").includes(`${fn}(`));
}

function envOf(c: Container): Env {
  if (Array.isArray(c.environment)) return Object.fromEntries(c.environment.map((kv) => [kv.split("=")[0], kv.split("=").slice(1).join("=")]));
  return Object.fromEntries(Object.entries(c.environment ?? {}).map(([k, v]) => [k, String(v)]));
}

/** A value as compose would pass it: ${X:-default} → default, ${X:?message} / ${X} → a stand-in value that is valid for X. */
function interpolate(value: string, standIns: Env): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}/g, (_all, name: string, op?: string, arg?: string) => {
    if (op && op.endsWith("-")) return arg ?? "";
    return standIns[name] ?? `stand-in-for-${name}`;
  });
}

function namedVolumes(c: Container): Array<{ source: string; target: string }> {
  const out: Array<{ source: string; target: string }> = [];
  for (const v of c.volumes ?? []) {
    if (typeof v === "string") {
      const [source, target] = v.split(":");
      if (target && !source.startsWith(".") && !source.startsWith("/") && !source.startsWith("~")) out.push({ source, target });
    } else if ((v.type ?? "volume") === "volume" && v.source && v.target) {
      out.push({ source: v.source, target: v.target });
    }
  }
  return out;
}

/** The header's example command: the variables it sets and the containers it scales. */
function exampleCommand(text: string): { sets: string[]; scales: string[] } {
  const header = text.split("\n").filter((l) => l.startsWith("#")).map((l) => l.replace(/^#\s?/, ""));
  const joined = header.join("\n").replace(/\\\n/g, " ");
  const line = joined.split("\n").find((l) => /docker compose up/.test(l)) ?? "";
  const before = line.slice(0, line.indexOf("docker compose up"));
  return {
    sets: [...before.matchAll(/(?:^|\s)([A-Z][A-Z0-9_]*)=/g)].map((m) => m[1]),
    scales: [...line.matchAll(/--scale\s+([\w-]+)=\d+/g)].map((m) => m[1]),
  };
}

function composeProblems(text: string): string[] {
  const problems: string[] = [];
  const doc = yaml.load(text) as Compose;
  const read = settingsTheCodeReads();
  const dataKeyServices = servicesCalling("loadDataKey");
  const apiKeyServices = servicesCalling("loadApiKeys");
  const example = exampleCommand(text);

  // The shared node settings.
  const anchor = doc["x-node"];
  if (!anchor) problems.push("no x-node anchor");
  else {
    const env = envOf(anchor);
    for (const k of ["TRANSPORTER", "REDIS_URL", "MONGO_URI", "HEALTH_PORT"]) if (!env[k]) problems.push(`x-node sets no ${k}`);
    if (!anchor.healthcheck?.test) problems.push("x-node has no healthcheck");
    if (!anchor.build && !anchor.image) problems.push("x-node names no build or image");
  }

  const nodes = Object.entries(doc.services).filter(([, c]) => envOf(c).SERVICES !== undefined);
  const placed = new Map<string, string[]>();
  const standIns: Env = { REPAYMESH_API_KEYS: "admin:0123456789abcdef0123:admin", REPAYMESH_DATA_KEY: "ab".repeat(32) };
  for (const [name, c] of nodes) {
    const env = envOf(c);
    // Settings the code reads, with values it accepts.
    for (const k of Object.keys(env)) if (!read.has(k)) problems.push(`${name}: ${k} is not a setting the code reads`);
    const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(v, standIns)]));
    let services: string[] = [];
    try {
      services = selectedServices(loadConfig(resolved));
    } catch (err) {
      problems.push(`${name}: loadConfig refuses its settings: ${(err as Error).message}`);
      continue;
    }
    for (const s of services) placed.set(s, [...(placed.get(s) ?? []), name]);
    const group = (NODE_GROUPS as Record<string, readonly string[]>)[name];
    if (!group) problems.push(`${name}: not a node group of bin/roles.ts (${Object.keys(NODE_GROUPS).join(", ")})`);
    else if ([...services].sort().join() !== [...group].sort().join()) problems.push(`${name}: runs ${services.join(",")}, its group in bin/roles.ts is ${group.join(",")}`);

    // Readiness.
    const hc = c.healthcheck;
    const test = Array.isArray(hc?.test) ? hc.test.join(" ") : (hc?.test ?? "");
    if (!hc || hc.disable || !test) problems.push(`${name}: no healthcheck`);
    else if (services.includes("api")) {
      // A gateway node is ready when its routes are: it asks the gateway's own /api/v1/ready.
      const port = interpolate(env.PORT ?? "3000", standIns);
      if (!test.includes(`:${port}/api/v1/ready`)) problems.push(`${name}: its healthcheck does not ask the gateway's /api/v1/ready on port ${port}`);
    } else if (!env.HEALTH_PORT || !test.includes(`:${env.HEALTH_PORT}/ready`)) problems.push(`${name}: its healthcheck does not ask HEALTH_PORT's /ready`);

    // Where data may live, and the roles.
    const scaled = example.scales.includes(name) || (c.deploy?.replicas ?? 1) > 1;
    const dataOwning = services.filter((s) => SERVICE_FACTORIES[s].ownsData);
    if (name === "executor" && dataOwning.length) problems.push(`executor runs data-owning ${dataOwning.join(",")}`);
    if (scaled && dataOwning.length && !env.MONGO_URI) problems.push(`${name} is scaled and runs ${dataOwning.join(",")} on the file store`);
    if (services.includes("sim-banks")) {
      if (scaled) problems.push(`${name} runs sim-banks and is scaled`);
      if (!env.NODE_ID) problems.push(`${name} runs sim-banks without a fixed NODE_ID`);
      if (!env.SIM_BANKS_DIR || !namedVolumes(c).some((v) => v.target === env.SIM_BANKS_DIR)) problems.push(`${name}: the banks' journals (SIM_BANKS_DIR) are not on a volume of its own`);
    } else if (env.SIM_BANKS_DIR) problems.push(`${name} sets SIM_BANKS_DIR but runs no sim-banks`);

    // Secrets: required where the code reads them, absent elsewhere.
    for (const [key, readers] of [["REPAYMESH_DATA_KEY", dataKeyServices], ["REPAYMESH_API_KEYS", apiKeyServices]] as const) {
      const needs = services.some((s) => readers.includes(s));
      if (needs && !new RegExp(`^\\$\\{${key}:\\?`).test(env[key] ?? "")) problems.push(`${name} runs ${services.filter((s) => readers.includes(s)).join(",")} and does not require ${key}`);
      if (!needs && env[key] !== undefined) problems.push(`${name} sets ${key} but runs nothing that reads it`);
    }
  }
  for (const s of Object.keys(SERVICE_FACTORIES)) if (!placed.has(s)) problems.push(`service ${s} runs on no container`);
  if ((placed.get("sim-banks") ?? []).length > 1) problems.push(`sim-banks runs on ${placed.get("sim-banks")?.join(", ")}`);

  // Volumes: declared, and each mounted by one container at most.
  const mounts = new Map<string, string[]>();
  for (const [name, c] of Object.entries(doc.services)) for (const v of namedVolumes(c)) mounts.set(v.source, [...(mounts.get(v.source) ?? []), name]);
  for (const [vol, by] of mounts) {
    if (by.length > 1) problems.push(`volume ${vol} is mounted by ${by.join(", ")}`);
    if (!doc.volumes || !(vol in doc.volumes)) problems.push(`volume ${vol} is not declared`);
  }
  for (const vol of Object.keys(doc.volumes ?? {})) if (!mounts.has(vol)) problems.push(`volume ${vol} is declared and never mounted`);

  // What the nodes wait for has its own health check.
  for (const [name, c] of Object.entries(doc.services)) {
    const deps = Array.isArray(c.depends_on) ? Object.fromEntries(c.depends_on.map((d) => [d, {}])) : (c.depends_on ?? {});
    for (const [dep, how] of Object.entries(deps)) {
      if (!doc.services[dep]) problems.push(`${name} depends on unknown ${dep}`);
      else if (!doc.services[dep].healthcheck) problems.push(`${name} depends on ${dep}, which has no healthcheck`);
      else if ((how as { condition?: string }).condition !== "service_healthy") problems.push(`${name} does not wait for ${dep} to be healthy`);
    }
  }

  // The header's example command sets every variable the file requires.
  const required = new Set([...text.matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((m) => m[1]));
  for (const v of required) if (!example.sets.includes(v)) problems.push(`the header's example command does not set ${v}`);
  return problems;
}

describe("docker-compose.yml against the code", () => {
  const text = fs.readFileSync(COMPOSE_FILE, "utf8");

  it("has no problem", () => {
    expect(composeProblems(text)).toEqual([]);
  });

  it("places the four node groups and the three servers", () => {
    const doc = yaml.load(text) as Compose;
    expect(Object.keys(doc.services).sort()).toEqual(["core", "executor", "gateway", "mongo", "nats", "redis", "worker"]);
    expect(envOf(doc.services.worker).SERVICES.split(",")).toContain("notifier");
    expect(exampleCommand(text)).toEqual({ sets: ["REPAYMESH_API_KEYS", "REPAYMESH_DATA_KEY"], scales: ["worker", "executor"] });
  });

  // The checks notice a broken file: each change below is one problem found.
  const broken: Array<[string, (t: string) => string, RegExp]> = [
    ["a setting no code reads", (t) => t.replace("      SERVICES: api\n", "      SERVICES: api\n      GATEWAY_THREADS: \"4\"\n"), /gateway: GATEWAY_THREADS is not a setting the code reads/],
    ["a value the code refuses", (t) => t.replace('PARTITIONS: "64"', 'PARTITIONS: "many"'), /loadConfig refuses its settings: PARTITIONS/],
    ["notifier back on the executor", (t) => t.replace("SERVICES: deduction-executor,fee-calculator", "SERVICES: deduction-executor,fee-calculator,notifier"), /executor runs data-owning notifier/],
    ["a service on no container", (t) => t.replace(",webhooks,notifier", ",notifier"), /service webhooks runs on no container/],
    ["the banks on a worker too", (t) => t.replace("SERVICES: schedule,", "SERVICES: sim-banks,schedule,"), /sim-banks runs on core, worker/],
    ["a volume mounted twice", (t) => t.replace("      SERVICES: deduction-executor,fee-calculator\n", "      SERVICES: deduction-executor,fee-calculator\n    volumes: [\"sim-banks:/app/banks\"]\n"), /volume sim-banks is mounted by core, executor/],
    ["a node without a health check", (t) => t.replace("      SERVICES: deduction-executor,fee-calculator\n", "      SERVICES: deduction-executor,fee-calculator\n    healthcheck:\n      disable: true\n"), /executor: no healthcheck/],
    ["the gateway checked at HEALTH_PORT (before its routes exist)", (t) => t.replace("http://127.0.0.1:3000/api/v1/ready", "http://127.0.0.1:8081/ready"), /gateway: its healthcheck does not ask the gateway's \/api\/v1\/ready on port 3000/],
    ["the data key missing on the workers", (t) => t.replace(/ {6}REPAYMESH_DATA_KEY: .*\n/, ""), /worker runs order-sync,sign-bind,webhooks and does not require REPAYMESH_DATA_KEY/],
    ["the example command without the data key", (t) => t.replace(" REPAYMESH_DATA_KEY=$(openssl rand -hex 32)", ""), /example command does not set REPAYMESH_DATA_KEY/],
    ["the core scaled", (t) => t.replace("--scale executor=3", "--scale executor=3 --scale core=2"), /core runs sim-banks and is scaled/],
  ];
  it.each(broken)("notices %s", (_what, change, problem) => {
    const changed = change(text);
    expect(changed).not.toBe(text);
    expect(composeProblems(changed)).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
  });
});
