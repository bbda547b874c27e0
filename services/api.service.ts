/**
 * api — the moleculer-web gateway: versioned REST under /api/v1, API-key auth with roles, one
 * error shape `{ code, message, details }`, the OpenAPI document built from action definitions,
 * and the web console (static files from public/).
 */
import fs from "node:fs";
import path from "node:path";
import ApiGateway from "moleculer-web";
import { Errors, type Context, type ServiceSchema } from "moleculer";
import type { Config } from "../config";
import { generateKey, hashKey, roleAllows, verifyKey, type Role, type StoredKey } from "../domain/auth";
import { scrubValidationDetails } from "../mixins/domain-errors.middleware";
import { type ActionInfo } from "./api.openapi";
import { gatewayGaps, openApiFrom } from "./api.readiness";
import { guardRequest, loggableUrl } from "./api.security";
import { readiness } from "../bin/health";
import { bodyPolicy } from "./api.body-policy";

const BASE = "/api/v1";
const PUBLIC_ACTIONS: ActionInfo[] = [
  { name: "api.health", rest: "GET /health", doc: { summary: "Liveness and what this node runs (no auth)", tags: ["ops"] } },
  {
    name: "api.ready",
    rest: "GET /ready",
    doc: { summary: "Readiness (no auth): 200 once every service of the node is registered, every route served and this document complete; 503 with what is missing", tags: ["ops"] },
  },
  { name: "api.openapi", rest: "GET /openapi.json", doc: { summary: "This OpenAPI document (no auth)", tags: ["ops"] } },
];

// eslint-disable-next-line @typescript-eslint/no-require-imports
const pkgVersion: string = require("../package.json").version;

/** Keys from REPAYMESH_API_KEYS, or an admin key generated once under the data folder. */
export function loadApiKeys(cfg: Config, print: (line: string) => void): StoredKey[] {
  if (cfg.apiKeys) return cfg.apiKeys.map((k) => ({ name: k.name, role: k.role, hash: hashKey(k.key) }));
  const file = path.join(cfg.dataDir, "api-keys.json");
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, "utf8")) as StoredKey[];
  fs.mkdirSync(cfg.dataDir, { recursive: true });
  const key = generateKey();
  const keys: StoredKey[] = [{ name: "admin", role: "admin", hash: hashKey(key) }];
  // Only the digest is kept; the key itself is shown this once.
  fs.writeFileSync(file, JSON.stringify(keys, null, 2), { mode: 0o600, flag: "wx" });
  print(`\n  RepayMesh admin API key (shown once, store it now): ${key}\n  Only its SHA-256 is kept in ${file}.\n`);
  return keys;
}

function sendJson(res: any, status: number, body: unknown) {
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.writeHead(status);
  res.end(JSON.stringify(body));
}

export default function apiService(cfg: Config): ServiceSchema {
  return {
    name: "api",
    mixins: [ApiGateway as any],
    settings: {
      rest: "/",
      port: cfg.port,
      ip: cfg.host,
      logRequestParams: null,
      logResponseData: null,
      log4XXResponses: false,
      optimizeOrder: true,
      // Rebuild the REST aliases soon after services come and go (default 500 ms): a node that just
      // started must not answer 404 for a route whose service is already up.
      debounceTime: 50,
      routes: [
        {
          // Third-party browser code the console uses, served from node_modules (no CDN here).
          name: "vendor",
          path: "/vendor",
          authentication: false,
          authorization: false,
          mappingPolicy: "restrict",
          aliases: {
            "GET /chart.js"(req: any, res: any) {
              res.setHeader("Content-Type", "application/javascript; charset=utf-8");
              res.setHeader("Cache-Control", "public, max-age=86400");
              fs.createReadStream(path.join(path.dirname(require.resolve("chart.js")), "chart.umd.js")).pipe(res);
            },
          },
        },
        {
          name: "public",
          path: BASE,
          authentication: false,
          authorization: false,
          mappingPolicy: "restrict",
          aliases: {
            "GET /health": "api.health",
            "GET /openapi.json": "api.openapi",
            // bin/health.ts's readiness, answered here too (no action call: the answer is 503 until ready).
            "GET /ready"(req: any, res: any) {
              readiness(req.$service.broker, cfg).then(
                (r) => sendJson(res, r.ready ? 200 : 503, r),
                () => sendJson(res, 503, { ready: false }),
              );
            },
          },
          bodyParsers: { json: false, urlencoded: false },
        },
        {
          name: "v1",
          path: BASE,
          authentication: true,
          authorization: true,
          autoAliases: true,
          mappingPolicy: "restrict",
          bodyParsers: { json: { strict: false, limit: "1mb" }, urlencoded: false },
          // After the JSON parser, before the body is merged into the parameters (services/api.body-policy.ts).
          use: [bodyPolicy],
          callOptions: { timeout: 30_000 },
        },
      ],
      assets: { folder: path.join(__dirname, "..", "public"), options: { index: "index.html" } },
      onError(this: any, req: any, res: any, err: any) {
        let status = typeof err?.code === "number" && err.code >= 400 && err.code < 600 ? err.code : 500;
        let code: string = typeof err?.type === "string" && err.type ? err.type : "INTERNAL_ERROR";
        let message: string = err?.message ?? "Internal error";
        let details: unknown = err?.data;
        if (err?.name === "ValidationError") {
          code = "VALIDATION_ERROR";
          status = 422;
          details = scrubValidationDetails(err.data);
          message = Array.isArray(details) && details.length ? `Invalid parameters: ${(details as any[]).map((d) => d.message ?? d.field).join("; ")}` : message;
        } else if (code === "entity.too.large") {
          code = "PAYLOAD_TOO_LARGE";
          status = 413;
          message = "The request body is too large";
          details = undefined;
        } else if (code === "INVALID_REQUEST_BODY" && status === 422) {
          // The body policy's refusal (services/api.body-policy.ts): its own message and details.
        } else if (code === "INVALID_REQUEST_BODY" || code.startsWith("entity.")) {
          // Only the JSON parser's failure is the caller's; a SyntaxError inside the node is ours (500).
          code = "INVALID_REQUEST_BODY";
          status = 400;
          message = "The request body is not valid JSON";
          details = undefined;
        } else if (status >= 500) {
          this.logger.error(`Request ${req.method} ${req.url} failed: ${err?.name}: ${err?.message}`);
          if (status === 503) {
            code = "SERVICE_UNAVAILABLE";
            message = "A service this request needs is not available; try again";
          } else {
            message = "Internal error";
          }
          details = undefined;
        }
        sendJson(res, status, { code, message, ...(details !== undefined ? { details } : {}) });
      },
    },
    actions: {
      listAliases: false as any,
      health: {
        handler(this: any) {
          const services = this.broker.registry
            .getServiceList({ onlyAvailable: true, skipInternal: true })
            .map((s: { name: string }) => s.name);
          return {
            status: "ok",
            nodeID: this.broker.nodeID,
            version: pkgVersion,
            uptimeSeconds: Math.round(process.uptime()),
            mode: cfg.transporter ? "cluster" : "embedded",
            store: cfg.mongoUri ? "mongodb" : "file",
            services: [...new Set(services)].sort(),
          };
        },
      },
      me: {
        rest: "GET /me",
        doc: { summary: "The caller: the API key's name and role", tags: ["ops"] },
        handler(ctx: Context) {
          const user = (ctx.meta as { user?: { name: string; role: Role } }).user;
          return user ? { name: user.name, role: user.role } : null;
        },
      },
      openapi: {
        handler(this: any) {
          return this.openApiDocument();
        },
      },
    },
    methods: {
      /** Security headers on every answer, and no API key in a query string (services/api.security.ts). */
      httpHandler(this: any, req: any, res: any, next: any) {
        if (guardRequest(req, res)) return;
        return (ApiGateway as any).methods.httpHandler.call(this, req, res, next);
      },
      /** moleculer-web's request log line, without the query string. */
      logRequest(this: any, req: any) {
        if (req.$route && !req.$route.logging) return;
        const level = this.settings.logRequest;
        if (level && level in this.logger) this.logger[level](`=> ${req.method} ${loggableUrl(req.originalUrl)}`);
      },
      openApiDocument(this: any) {
        return openApiFrom(this.broker.registry, PUBLIC_ACTIONS, {
          basePath: BASE,
          version: pkgVersion,
          publicPaths: PUBLIC_ACTIONS.flatMap((a) => (typeof a.rest === "string" ? [BASE + a.rest.split(" ")[1]] : [])),
        });
      },
      /** What bin/health.ts's readiness asks of the gateway: routes not served yet, or not documented. */
      gatewayGaps(this: any) {
        return gatewayGaps(this, BASE);
      },
      /** Rebuild the REST aliases from the registry now (they also follow $services.changed, debounced). */
      refreshAliases(this: any) {
        for (const route of this.routes ?? []) if (route.opts.autoAliases) this.regenerateAutoAliases(route);
      },
      authenticate(this: any, ctx: Context, _route: unknown, req: any) {
        const principal = verifyKey(this.apiKeys, req.headers["x-api-key"]);
        if (!principal) throw new Errors.MoleculerClientError("A valid X-Api-Key header is required", 401, "UNAUTHORIZED");
        return principal;
      },
      authorize(this: any, ctx: Context, _route: unknown, req: any) {
        const user = (ctx.meta as any).user as { role: Role } | undefined;
        const method = String(req.method).toUpperCase();
        const need: Role = req.$action?.doc?.role ?? (method === "GET" || method === "HEAD" ? "viewer" : "ops");
        if (!user || !roleAllows(user.role, need)) {
          throw new Errors.MoleculerClientError(`This needs the ${need} role`, 403, "FORBIDDEN", { need });
        }
      },
    },
    created(this: any) {
      this.apiKeys = loadApiKeys(cfg, (line) => process.stdout.write(line + "\n"));
    },
  } as ServiceSchema;
}
