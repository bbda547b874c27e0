/**
 * What the gateway must serve before its node is ready: every REST action of every available service
 * (the registry's view, the same the OpenAPI document is built from) as a built alias, and as an
 * operation of the OpenAPI document. bin/health.ts's readiness asks this of a node's `api` service.
 */
import { buildOpenApi, type ActionInfo } from "./api.openapi";

interface RegistryLike {
  getServiceList(opts: Record<string, boolean>): Array<{ name: string; actions?: Record<string, any> }>;
}

/** The REST actions the registry lists now (published ones with `rest`), once each. */
export function restActions(registry: RegistryLike): ActionInfo[] {
  const seen = new Set<string>();
  const out: ActionInfo[] = [];
  for (const svc of registry.getServiceList({ withActions: true, onlyAvailable: true, skipInternal: true })) {
    for (const a of Object.values(svc.actions ?? {})) {
      if (!a.rest || seen.has(a.name) || (a.visibility && a.visibility !== "published")) continue;
      seen.add(a.name);
      out.push({ name: a.name, rest: a.rest, params: a.params, doc: a.doc });
    }
  }
  return out;
}

/** "METHOD /base/path/:param" for each route of an action (string or `{ method, path }` forms). */
export function routesOf(a: ActionInfo, basePath: string): string[] {
  const rests = a.rest === undefined ? [] : Array.isArray(a.rest) ? a.rest : [a.rest];
  const out: string[] = [];
  for (const r of rests) {
    const spec = typeof r === "object" ? `${r.method} ${r.path}` : r;
    if (typeof spec !== "string" || !spec.includes(" ")) continue;
    const [method, p] = spec.trim().split(/\s+/);
    out.push(`${method.toUpperCase()} ${normalize(basePath + "/" + p)}`);
  }
  return out;
}

function normalize(p: string): string {
  const s = p.replace(/\/+/g, "/");
  return s.length > 1 ? s.replace(/\/$/, "") : s;
}

/** The gateway's built aliases as "METHOD /full/path". */
export function servedRoutes(aliases: Array<{ method: string; fullPath: string }>): Set<string> {
  return new Set(aliases.map((a) => `${String(a.method).toUpperCase()} ${normalize(a.fullPath)}`));
}

/** The OpenAPI document's operations as "METHOD /path/:param". */
export function documentedRoutes(doc: { paths: Record<string, Record<string, unknown>> }): Set<string> {
  const out = new Set<string>();
  for (const [p, ops] of Object.entries(doc.paths)) {
    for (const m of Object.keys(ops)) out.add(`${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ":$1")}`);
  }
  return out;
}

export interface GatewayGaps {
  /** Routes of available services the gateway does not serve yet (aliases not built). */
  routes: string[];
  /** Routes of available services missing from the OpenAPI document. */
  openapi: string[];
}

/** What the gateway `api` (a moleculer-web service with our `openApiDocument` method) lacks now. */
export function gatewayGaps(api: { broker: { registry: RegistryLike }; aliases?: Array<{ method: string; fullPath: string }>; openApiDocument(): any }, basePath: string): GatewayGaps {
  const expected = restActions(api.broker.registry).flatMap((a) => routesOf(a, basePath));
  const served = servedRoutes(api.aliases ?? []);
  const documented = documentedRoutes(api.openApiDocument());
  return {
    routes: expected.filter((r) => !served.has(r)).sort(),
    openapi: expected.filter((r) => !documented.has(r)).sort(),
  };
}

/** The document from what the registry lists now. */
export function openApiFrom(registry: RegistryLike, pub: ActionInfo[], opts: Parameters<typeof buildOpenApi>[1]) {
  return buildOpenApi([...pub, ...restActions(registry)], opts);
}
