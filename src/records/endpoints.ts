/**
 * The operator's webhook endpoints, stored in KV under `webhooks` (docs/storage.md): a JSON array of
 * `{"id", "url", "events"?, "agents"?, "enabled"?, "format"?}`. The one schema shared by the Worker (the line's
 * outbox matches events against it, the consumer delivers to it) and the CLI (`npm run webhooks`). Plain TypeScript,
 * here in records/ beside the deliveries (records/deliveries.ts), below the line that reads it.
 */
import { isSecureOrLoopback } from "../https-only.ts";
import { AGENT_KEY_PREFIX, ROUTE_AGENT_ID } from "../agent-key.ts";
import { normalizeE164 } from "../phone.ts";

export const WEBHOOKS_KEY = "webhooks";

/** Our own events (docs/events.md). */
export const EVENT_TYPES = ["call.started", "call.ended", "call.analyzed", "transfer.started", "transfer.ended"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** `standard`: our signed events; `retell`: Retell's own webhook bodies, byte for byte, with Retell's signature. */
export const ENDPOINT_FORMATS = ["standard", "retell"] as const;
export type EndpointFormat = (typeof ENDPOINT_FORMATS)[number];

export interface WebhookEndpoint {
  id: string;
  url: string;
  /** Absent: every event type. Ignored for `format: "retell"` (it receives every Retell event of its calls). */
  events?: EventType[];
  /** Agent keys as in KV (`+61…`, `agent:<id>`); absent: every agent's calls. */
  agents?: string[];
  /** Default true. Set false by `webhooks remove`-less pauses and by a 410 from the endpoint. */
  enabled?: boolean;
  /** Default `standard`. */
  format?: EndpointFormat;
  /** Why the endpoint was turned off, when the Worker turned it off (a 410), for `webhooks list`. */
  disabledReason?: string;
}

/** Endpoints per account: each event is one queue message per matching endpoint, so this bounds the fan-out. */
export const MAX_ENDPOINTS = 20;
/** Ids are short names the operator types (`crm`, `n8n-1`). */
export const ENDPOINT_ID = /^[a-z0-9][a-z0-9_-]{0,39}$/;
/** URLs stay well inside a queue message and a log line. */
const MAX_URL = 2_048;
const KNOWN_FIELDS = new Set(["id", "url", "events", "agents", "enabled", "format", "disabledReason"]);

export type EndpointsResult = { ok: true; endpoints: WebhookEndpoint[] } | { ok: false; detail: string };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Why `url` cannot be an endpoint, or null: https only (plain http for loopback), no credentials, no fragment. */
export function endpointUrlProblem(url: string): string | null {
  if (url.length > MAX_URL) return `is longer than ${MAX_URL} characters`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "is not a URL";
  }
  if (!isSecureOrLoopback(parsed)) return "must be https:// (plain http only for localhost and 127.0.0.1)";
  if (parsed.username || parsed.password) return "must not carry a user name or password (the signature authenticates each request)";
  if (parsed.hash) return "must not have a #fragment";
  return null;
}

/** An agent key as `agents` holds it (`+61…` or `agent:<id>`), normalised; null when it is neither. */
export function endpointAgentKey(input: string): string | null {
  const text = input.trim();
  if (text.startsWith(AGENT_KEY_PREFIX)) return ROUTE_AGENT_ID.test(text.slice(AGENT_KEY_PREFIX.length)) ? text : null;
  return normalizeE164(text);
}

function stringList(value: unknown, field: string, check: (item: string) => string | null): { ok: true; list: string[] } | { ok: false; detail: string } {
  if (!Array.isArray(value) || value.length === 0) return { ok: false, detail: `${field} must be a non-empty array (leave it out for all)` };
  const list: string[] = [];
  for (const item of value) {
    const normalised = typeof item === "string" ? check(item) : null;
    if (normalised === null) return { ok: false, detail: `${field} has ${JSON.stringify(item)}, which is not valid` };
    if (!list.includes(normalised)) list.push(normalised);
  }
  return { ok: true, list };
}

/** Checks one endpoint; the result is normalised (agent keys in KV form, defaults left out). */
export function validateEndpoint(value: unknown): { ok: true; endpoint: WebhookEndpoint } | { ok: false; detail: string } {
  if (!isPlainObject(value)) return { ok: false, detail: "an endpoint must be a JSON object" };
  const unknown = Object.keys(value).filter((key) => !KNOWN_FIELDS.has(key));
  if (unknown.length > 0) return { ok: false, detail: `unknown field ${unknown.map((k) => JSON.stringify(k)).join(", ")}` };
  const { id, url } = value;
  if (typeof id !== "string" || !ENDPOINT_ID.test(id)) return { ok: false, detail: "id must be 1–40 lower-case letters, digits, _ and -, starting with a letter or digit" };
  const where = `endpoint ${id}`;
  if (typeof url !== "string") return { ok: false, detail: `${where}: url must be a string` };
  const urlProblem = endpointUrlProblem(url);
  if (urlProblem) return { ok: false, detail: `${where}: url ${urlProblem}` };
  const endpoint: WebhookEndpoint = { id, url };
  if (value.format !== undefined) {
    if (!(ENDPOINT_FORMATS as readonly unknown[]).includes(value.format)) return { ok: false, detail: `${where}: format must be ${ENDPOINT_FORMATS.join(" or ")}` };
    if (value.format !== "standard") endpoint.format = value.format as EndpointFormat;
  }
  if (value.events !== undefined) {
    if (endpoint.format === "retell") return { ok: false, detail: `${where}: a retell-format endpoint receives Retell's own events; leave out events` };
    const events = stringList(value.events, `${where}: events`, (e) => ((EVENT_TYPES as readonly string[]).includes(e) ? e : null));
    if (!events.ok) return { ok: false, detail: `${events.detail} (event types: ${EVENT_TYPES.join(", ")})` };
    endpoint.events = events.list as EventType[];
  }
  if (value.agents !== undefined) {
    const agents = stringList(value.agents, `${where}: agents`, endpointAgentKey);
    if (!agents.ok) return { ok: false, detail: `${agents.detail} (an agent key is +<E.164 number> or agent:<id>)` };
    endpoint.agents = agents.list;
  }
  if (value.enabled !== undefined) {
    if (typeof value.enabled !== "boolean") return { ok: false, detail: `${where}: enabled must be true or false` };
    if (!value.enabled) endpoint.enabled = false;
  }
  if (value.disabledReason !== undefined) {
    if (typeof value.disabledReason !== "string" || value.disabledReason.length > 200) return { ok: false, detail: `${where}: disabledReason must be a short string` };
    if (endpoint.enabled === false) endpoint.disabledReason = value.disabledReason;
  }
  return { ok: true, endpoint };
}

/** Checks a whole `webhooks` value: an array of valid endpoints with distinct ids. */
export function validateEndpoints(value: unknown): EndpointsResult {
  if (!Array.isArray(value)) return { ok: false, detail: `${WEBHOOKS_KEY} must be a JSON array of endpoints` };
  if (value.length > MAX_ENDPOINTS) return { ok: false, detail: `${WEBHOOKS_KEY} holds at most ${MAX_ENDPOINTS} endpoints` };
  const endpoints: WebhookEndpoint[] = [];
  for (const item of value) {
    const checked = validateEndpoint(item);
    if (!checked.ok) return checked;
    if (endpoints.some((e) => e.id === checked.endpoint.id)) return { ok: false, detail: `two endpoints have the id ${checked.endpoint.id}` };
    endpoints.push(checked.endpoint);
  }
  return { ok: true, endpoints };
}

/** A stored `webhooks` value (null: no key, no endpoints). Never throws. */
export function parseEndpoints(raw: string | null): EndpointsResult {
  if (raw === null) return { ok: true, endpoints: [] };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, detail: `${WEBHOOKS_KEY} is not valid JSON` };
  }
  return validateEndpoints(value);
}

/** What an event is matched on: its kind (ours, or one of Retell's own bodies) and the call's agent. */
export interface EventMatch {
  kind: "standard" | "retell";
  type: string;
  agentKey: string | null;
}

/** Whether `endpoint` takes the event: enabled, the right format, one of its event types, one of its agents. */
export function endpointWants(endpoint: WebhookEndpoint, event: EventMatch): boolean {
  if (endpoint.enabled === false) return false;
  if ((endpoint.format ?? "standard") !== event.kind) return false;
  if (event.kind === "standard" && endpoint.events && !(endpoint.events as readonly string[]).includes(event.type)) return false;
  if (endpoint.agents && (event.agentKey === null || !endpoint.agents.includes(event.agentKey))) return false;
  return true;
}
