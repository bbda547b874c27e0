/**
 * Builds the OpenAPI 3 document from the action definitions in the registry (their `rest`,
 * `params` and `doc`), so it never drifts from what the gateway serves.
 */
import type { ActionDoc } from "../contracts/common";
import { responseSchema } from "./api.responses";

type Rule = Record<string, any>;

export interface ActionInfo {
  name: string;
  rest?: string | string[] | { method: string; path: string; type?: string };
  params?: Record<string, any>;
  doc?: Partial<ActionDoc>;
}

export function ruleToJsonSchema(rule: Rule | string | undefined): Record<string, unknown> {
  if (!rule || typeof rule !== "object") return {};
  const s: Record<string, unknown> = {};
  switch (rule.type) {
    case "string":
      s.type = "string";
      if (typeof rule.pattern === "string") s.pattern = rule.pattern;
      else if (rule.pattern instanceof RegExp) s.pattern = rule.pattern.source;
      if (rule.min !== undefined) s.minLength = rule.min;
      if (rule.max !== undefined) s.maxLength = rule.max;
      break;
    case "number":
      s.type = rule.integer ? "integer" : "number";
      if (rule.min !== undefined) s.minimum = rule.min;
      if (rule.max !== undefined) s.maximum = rule.max;
      break;
    case "boolean":
      s.type = "boolean";
      break;
    case "enum":
      s.type = "string";
      s.enum = rule.values;
      break;
    case "array":
      s.type = "array";
      if (rule.items) s.items = ruleToJsonSchema(rule.items);
      if (rule.min !== undefined) s.minItems = rule.min;
      if (rule.max !== undefined) s.maxItems = rule.max;
      break;
    case "object":
      Object.assign(s, objectSchema(rule.props ?? rule.properties, rule.strict === true));
      break;
    default:
      break;
  }
  if (rule.default !== undefined) s.default = rule.default;
  return s;
}

function objectSchema(props: Record<string, Rule> | undefined, strict: boolean): Record<string, unknown> {
  const s: Record<string, unknown> = { type: "object" };
  if (!props) return s;
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const [k, r] of Object.entries(props)) {
    if (k.startsWith("$$")) continue;
    properties[k] = ruleToJsonSchema(r);
    if (!(r && typeof r === "object" && (r.optional || r.default !== undefined))) required.push(k);
  }
  s.properties = properties;
  if (required.length) s.required = required;
  if (strict) s.additionalProperties = false;
  return s;
}

const ERROR_SCHEMA = {
  type: "object",
  required: ["code", "message"],
  properties: { code: { type: "string" }, message: { type: "string" }, details: {} },
};

export function buildOpenApi(actions: ActionInfo[], opts: { basePath: string; version: string; publicPaths: string[] }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const a of actions) {
    const rests = a.rest === undefined ? [] : Array.isArray(a.rest) ? a.rest : [a.rest];
    for (const rest of rests) {
      // "METHOD /path", or { method, path, type: "stream" } for a raw request body (uploads).
      const stream = typeof rest === "object" && rest.type === "stream";
      const spec = typeof rest === "object" ? `${rest.method} ${rest.path}` : rest;
      if (typeof spec !== "string" || !spec.includes(" ")) continue;
      const [method, rawPath] = spec.split(/\s+/);
      const pathParams = [...rawPath.matchAll(/:(\w+)/g)].map((m) => m[1]);
      const path = opts.basePath + rawPath.replace(/:(\w+)/g, "{$1}");
      const params = a.params ?? {};
      const bodyProps: Record<string, Rule> = {};
      const parameters: unknown[] = pathParams.map((p) => ({ name: p, in: "path", required: true, schema: ruleToJsonSchema(params[p]) }));
      const isRead = method.toUpperCase() === "GET" || method.toUpperCase() === "DELETE";
      for (const [k, r] of Object.entries(params)) {
        if (k.startsWith("$$") || pathParams.includes(k)) continue;
        if (isRead) parameters.push({ name: k, in: "query", required: !(r?.optional || r?.default !== undefined), schema: ruleToJsonSchema(r) });
        else bodyProps[k] = r;
      }
      const op: Record<string, unknown> = {
        operationId: a.name,
        summary: a.doc?.summary ?? a.name,
        tags: a.doc?.tags ?? [a.name.split(".")[0]],
        parameters,
        responses: {
          "200": { description: "OK", content: { "application/json": { schema: responseSchema(a.name) } } },
          "4XX": { description: "Client error", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
        },
      };
      // The role the gateway enforces (services/api.service.ts authorize): the action's doc.role, else
      // viewer for reads and ops for writes; none on the public paths.
      const isPublic = opts.publicPaths.includes(path);
      const role = isPublic ? undefined : (a.doc?.role ?? (method.toUpperCase() === "GET" || method.toUpperCase() === "HEAD" ? "viewer" : "ops"));
      const roleLine = role ? `Requires the ${role} role (or higher).` : "Public: no API key needed.";
      op.description = a.doc?.description ? `${a.doc.description}\n\n${roleLine}` : roleLine;
      if (role) op["x-required-role"] = role;
      if (stream) op.requestBody = { required: true, content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } };
      else if (!isRead) op.requestBody = { required: true, content: { "application/json": { schema: objectSchema(bodyProps, params.$$strict === true) } } };
      if (isPublic) op.security = [];
      paths[path] = { ...(paths[path] ?? {}), [method.toLowerCase()]: op };
    }
  }
  return {
    openapi: "3.0.3",
    info: { title: "RepayMesh API", version: opts.version, description: "Repayment collection and disbursement (代收付). Money amounts are decimal strings." },
    servers: [{ url: "/" }],
    security: [{ ApiKey: [] }],
    components: {
      securitySchemes: { ApiKey: { type: "apiKey", in: "header", name: "X-Api-Key" } },
      schemas: { Error: ERROR_SCHEMA },
    },
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
  };
}
