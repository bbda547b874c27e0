/**
 * Configuration: the environment is parsed and validated once into a typed, frozen object.
 * Every setting has a default that makes `npm start` work on a bare machine (the embedded mode).
 */
import path from "node:path";

export type Role = "admin" | "ops" | "viewer";
export const ROLES: readonly Role[] = ["admin", "ops", "viewer"];

export interface ApiKeySpec {
  name: string;
  key: string;
  role: Role;
}

export interface Config {
  nodeID?: string;
  /** Moleculer transporter, e.g. nats://127.0.0.1:4222; unset = embedded (no transporter). */
  transporter?: string;
  redisUrl?: string;
  mongoUri?: string;
  /** Prefix of every collection (and file) name: several deployments or test runs can share one MongoDB. */
  storePrefix: string;
  /** Comma-separated service names this node runs; unset = all. */
  services?: string[];
  dataDir: string;
  port: number;
  /** 0 = no HTTP gateway listener even when the api service runs (tests use it). */
  host: string;
  partitions: number;
  timeZone: string;
  testClock: boolean;
  metrics: boolean;
  metricsPort: number;
  /** HEALTH_PORT: a readiness endpoint (`GET /ready`: 200 once the node has started, its transporter and store connected; 503 otherwise); unset = none. */
  healthPort?: number;
  apiKeys?: ApiKeySpec[];
  /** AES-256 key for card and ID numbers at rest (64 hex chars or base64); generated under DATA_DIR when unset. */
  dataKey?: string;
  /** Seed of the simulated banks (deterministic outcomes); SIM_BANKS=off would disable them (no real bank ships yet). */
  simSeed: string;
  /** A trade opened but not sent, or sent without an answer, for this long is repaired by the sweep (query, never resend). */
  staleTradeSeconds: number;
  /** How long a bank may act on a debit or payout request (sent as its expiry); NOT_FOUND is final only after it. */
  requestTtlSeconds: number;
  /** How often partitioned jobs check leases and whether a job is due. */
  jobTickMs: number;
  /** Partition lease time-to-live: a dead node's partitions are taken over after it. */
  leaseTtlMs: number;
  /** Where the node that runs sim-banks keeps the simulated banks' journals (one writer: other nodes reach the banks over the mesh). */
  simBanksDir?: string;
  /** SIM_BANKS_JOURNAL=off keeps the simulated banks in memory only (benchmarks: a bank's own disk is not ours to measure). */
  simJournal: boolean;
  /** First retry delay of a failed channel message in the embedded adapter (doubles each time). */
  channelRetryMs: number;
  /** How soon the outbox relay publishes what a write recorded. */
  outboxFlushMs: number;
  /** Wrong SMS codes per channel agreement before it is FAILED (SIGN_CONFIRM_MAX_ATTEMPTS). */
  signConfirmMaxAttempts: number;
  /** How often the outbox sweep looks for entries left behind (a crash between a write and its publication). */
  outboxSweepMs: number;
  /** Webhook retry back-off, one delay per retry (ms); after the last the delivery is FAILED (redeliver by hand). */
  webhookBackoffMs: number[];
  /** Time-out of one webhook request. */
  webhookTimeoutMs: number;
  /** Reminder provider: "sim" (the simulated SMS provider, messages kept in its log) or "http" (POST to NOTIFIER_HTTP_URL). */
  notifierProvider: "sim" | "http";
  notifierHttpUrl?: string;
  /** Business time of the daily reconciliation of yesterday's statements. */
  reconcileTime: string;
  /** Discrepancies open longer than this raise a daily ops alert. */
  reconAlertDays: number;
  /** A remittance HELD (no payout account) this many days is alerted (it is retried every day until paid). */
  heldRemittanceAlertDays: number;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace";
  logFormat: "json" | "short" | "full";
}

function msList(env: NodeJS.ProcessEnv, name: string, fallback: number[]): number[] {
  const raw = nonEmpty(env, name);
  if (!raw) return fallback;
  const list = raw.split(",").map((x) => Number(x.trim()));
  if (!list.length || list.some((x) => !Number.isInteger(x) || x < 1 || x > 86_400_000)) throw new ConfigError(`${name} must be a comma-separated list of milliseconds (1..86400000)`);
  return list;
}

function hhmm(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const v = nonEmpty(env, name) ?? fallback;
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(v)) throw new ConfigError(`${name} must be HH:mm`);
  return v;
}

function notifierProvider(env: NodeJS.ProcessEnv): "sim" | "http" {
  const v = (nonEmpty(env, "NOTIFIER_PROVIDER") ?? "sim").toLowerCase();
  if (v !== "sim" && v !== "http") throw new ConfigError(`NOTIFIER_PROVIDER must be sim or http, not ${v}`);
  return v;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

function int(env: NodeJS.ProcessEnv, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return def;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be an integer`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}`);
  return n;
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const v = (env[name] ?? "").toLowerCase();
  return v === "1" || v === "true" || v === "yes";
}

function nonEmpty(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

/** `name:key:role,name:key:role` — keys are never echoed back in errors. */
export function parseApiKeys(raw: string): ApiKeySpec[] {
  const specs = raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry, i) => {
      const parts = entry.split(":");
      if (parts.length !== 3) throw new ConfigError(`REPAYMESH_API_KEYS entry ${i + 1} must be name:key:role`);
      const [name, key, role] = parts;
      if (!/^[\w.-]{1,64}$/.test(name)) throw new ConfigError(`REPAYMESH_API_KEYS entry ${i + 1}: bad name`);
      if (key.length < 16) throw new ConfigError(`REPAYMESH_API_KEYS entry ${i + 1} (${name}): key shorter than 16 characters`);
      if (!ROLES.includes(role as Role)) throw new ConfigError(`REPAYMESH_API_KEYS entry ${i + 1} (${name}): role must be admin, ops or viewer`);
      return { name, key, role: role as Role };
    });
  if (specs.length === 0) throw new ConfigError("REPAYMESH_API_KEYS is set but holds no key");
  return specs;
}

function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const timeZone = nonEmpty(env, "TIME_ZONE") ?? "Asia/Shanghai";
  if (!isValidTimeZone(timeZone)) throw new ConfigError(`TIME_ZONE ${timeZone} is not a known IANA time zone`);
  const services = nonEmpty(env, "SERVICES")
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const logLevel = (nonEmpty(env, "LOG_LEVEL") ?? "info") as Config["logLevel"];
  if (!["fatal", "error", "warn", "info", "debug", "trace"].includes(logLevel)) throw new ConfigError("LOG_LEVEL is not a log level");
  if (env.STORE_PREFIX && !/^[A-Za-z0-9_]{0,32}$/.test(env.STORE_PREFIX)) throw new ConfigError("STORE_PREFIX must be up to 32 letters, digits or _");
  const logFormat = (nonEmpty(env, "LOG_FORMAT") ?? "short") as Config["logFormat"];
  if (!["json", "short", "full"].includes(logFormat)) throw new ConfigError("LOG_FORMAT must be json, short or full");
  const cfg: Config = {
    nodeID: nonEmpty(env, "NODE_ID"),
    transporter: nonEmpty(env, "TRANSPORTER"),
    redisUrl: nonEmpty(env, "REDIS_URL"),
    mongoUri: nonEmpty(env, "MONGO_URI"),
    storePrefix: nonEmpty(env, "STORE_PREFIX") ?? "",
    services,
    dataDir: path.resolve(nonEmpty(env, "DATA_DIR") ?? "./data"),
    port: int(env, "PORT", 3000, 0, 65535),
    host: nonEmpty(env, "HOST") ?? "0.0.0.0",
    partitions: int(env, "PARTITIONS", 64, 1, 4096),
    timeZone,
    testClock: flag(env, "TEST_CLOCK"),
    metrics: flag(env, "METRICS"),
    metricsPort: int(env, "METRICS_PORT", 3030, 0, 65535),
    healthPort: nonEmpty(env, "HEALTH_PORT") === undefined ? undefined : int(env, "HEALTH_PORT", 0, 0, 65535),
    dataKey: nonEmpty(env, "REPAYMESH_DATA_KEY"),
    simSeed: nonEmpty(env, "SIM_SEED") ?? "repaymesh",
    staleTradeSeconds: int(env, "STALE_TRADE_SECONDS", 60, 0, 86_400),
    requestTtlSeconds: int(env, "REQUEST_TTL_SECONDS", 120, 5, 86_400),
    jobTickMs: int(env, "JOB_TICK_MS", 1000, 20, 60_000),
    leaseTtlMs: int(env, "LEASE_TTL_MS", 15_000, 300, 600_000),
    simJournal: (env.SIM_BANKS_JOURNAL ?? "on").toLowerCase() !== "off",
    simBanksDir: nonEmpty(env, "SIM_BANKS_DIR") ? path.resolve(env.SIM_BANKS_DIR as string) : undefined,
    apiKeys: nonEmpty(env, "REPAYMESH_API_KEYS") ? parseApiKeys(env.REPAYMESH_API_KEYS as string) : undefined,
    channelRetryMs: int(env, "CHANNEL_RETRY_MS", 200, 1, 600_000),
    outboxFlushMs: int(env, "OUTBOX_FLUSH_MS", 20, 0, 600_000),
    signConfirmMaxAttempts: int(env, "SIGN_CONFIRM_MAX_ATTEMPTS", 5, 1, 20),
    outboxSweepMs: int(env, "OUTBOX_SWEEP_MS", 10_000, 50, 3_600_000),
    webhookBackoffMs: msList(env, "WEBHOOK_BACKOFF_MS", [10_000, 30_000, 120_000, 600_000, 3_600_000, 21_600_000]),
    webhookTimeoutMs: int(env, "WEBHOOK_TIMEOUT_MS", 5000, 100, 120_000),
    notifierProvider: notifierProvider(env),
    notifierHttpUrl: nonEmpty(env, "NOTIFIER_HTTP_URL"),
    reconcileTime: hhmm(env, "RECONCILE_TIME", "06:00"),
    reconAlertDays: int(env, "RECON_ALERT_DAYS", 2, 0, 365),
    heldRemittanceAlertDays: int(env, "HELD_REMITTANCE_ALERT_DAYS", 3, 0, 365),
    logLevel,
    logFormat,
  };
  if (cfg.notifierProvider === "http" && !cfg.notifierHttpUrl) throw new ConfigError("NOTIFIER_PROVIDER=http needs NOTIFIER_HTTP_URL");
  return Object.freeze(cfg);
}
