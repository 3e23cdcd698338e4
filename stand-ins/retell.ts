/**
 * A local stand-in for Retell's API, on 127.0.0.1, for tests, the demo and benchmarks. It checks what it
 * receives as strictly as Retell documents it (docs.retellai.com/api-references/register-phone-call) and
 * answers like Retell: 201 with a call object, or `{ "status": "error", "message": ... }`.
 *
 * Per agent id it can be told to answer slowly, fail, hang or drop the connection, through a control API
 * under /__stand-in/ (see `Behaviour`), so tests running side by side do not disturb each other.
 */
import type { RequestListener, ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";
import { readBody, startStandIn } from "./lib/server.ts";

export interface Behaviour {
  /** Milliseconds to wait before answering. */
  delayMs?: number;
  /** Answer with this HTTP error status instead of registering the call. */
  status?: number;
  /** Only the first `times` requests misbehave; later ones succeed (for retry tests). */
  times?: number;
  /** Answer with this call_id instead of a fresh one (to test what the Worker accepts from Retell). */
  callId?: string;
  /** `drop`: close the connection without answering; `hang`: never answer; `no_call_id`: 201 without call_id; `not_json`: 201 with a non-JSON body. */
  mode?: "drop" | "hang" | "no_call_id" | "not_json";
  /** Retry-After header (seconds) sent with an error status. */
  retryAfter?: string;
  /** `x-should-retry` header sent with an error status: Retell's own say on whether to retry (retell-sdk obeys it). */
  shouldRetry?: boolean;
  /** The body sent with an error status instead of Retell's `{ "status": "error", "message": … }`: a string as it is, else as JSON. */
  errorBody?: unknown;
  /**
   * Misbehave at random, per request, for load tests: drop the connection (`dropRate`), answer 503
   * (`failRate`) or answer after `slowMs` (`slowRate`); otherwise register the call normally.
   */
  chaos?: { dropRate?: number; failRate?: number; slowRate?: number; slowMs?: number };
  /**
   * The account's concurrency quota (docs.retellai.com/deploy/concurrency), counted per agent here so tests side
   * by side stay apart: a registration while `limit` of the agent's calls are ongoing is refused with Retell's
   * documented 429 ("Account rate limited, please throttle your requests."). A call is ongoing from its
   * registration until `callMs` later, or until POST /__stand-in/calls/<call_id>/end.
   */
  concurrency?: { limit: number; callMs?: number };
}

export interface RecordedRequest {
  at: number;
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** What the stand-in answered (0 when it dropped or hung). */
  status: number;
  callId?: string;
}

export interface RetellStandIn {
  url: string;
  requests: RecordedRequest[];
  setBehaviour(agentId: string, behaviour: Behaviour): void;
  /** Ends an ongoing call, freeing its place under `concurrency`. */
  endCall(callId: string): void;
  close(): Promise<void>;
}

const FIELDS = new Set([
  "agent_id",
  "agent_version",
  "agent_override",
  "direction",
  "from_number",
  "to_number",
  "metadata",
  "retell_llm_dynamic_variables",
]);
const E164 = /^\+[1-9]\d{6,14}$/;
const MAX_RECORDED = 10_000;

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): number {
  if (status === 204) {
    res.writeHead(204, headers).end();
    return status;
  }
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(JSON.stringify(body));
  return status;
}
const error = (res: ServerResponse, status: number, message: string, headers?: Record<string, string>) =>
  send(res, status, { status: "error", message }, headers);

/** Why a register-phone-call body would be refused, or null when it is acceptable. */
export function registerBodyProblem(body: unknown): string | null {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return "body must be a JSON object";
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) if (!FIELDS.has(key)) return `unknown field ${key}`;
  if (typeof b.agent_id !== "string" || b.agent_id.length === 0) return "agent_id is required";
  if (b.agent_version !== undefined && !(Number.isInteger(b.agent_version) && (b.agent_version as number) >= 0)) return "agent_version must be an integer";
  if (b.direction !== undefined && b.direction !== "inbound" && b.direction !== "outbound") return "direction must be inbound or outbound";
  for (const field of ["from_number", "to_number"] as const) {
    if (b[field] !== undefined && (typeof b[field] !== "string" || !E164.test(b[field]))) return `${field} must be an E.164 number`;
  }
  if (b.metadata !== undefined && (typeof b.metadata !== "object" || b.metadata === null || Array.isArray(b.metadata))) return "metadata must be an object";
  const override = b.agent_override;
  if (override !== undefined) {
    if (typeof override !== "object" || override === null || Array.isArray(override)) return "agent_override must be an object";
    for (const [group, value] of Object.entries(override)) {
      if (!["agent", "retell_llm", "conversation_flow"].includes(group)) return `unknown field agent_override.${group}`;
      if (typeof value !== "object" || value === null || Array.isArray(value)) return `agent_override.${group} must be an object`;
    }
  }
  const vars = b.retell_llm_dynamic_variables;
  if (vars !== undefined) {
    if (typeof vars !== "object" || vars === null || Array.isArray(vars)) return "retell_llm_dynamic_variables must be an object";
    for (const [k, v] of Object.entries(vars)) if (typeof v !== "string") return `retell_llm_dynamic_variables.${k} must be a string`;
  }
  return null;
}

export async function startRetellStandIn(options: { apiKey: string; port?: number; defaults?: Behaviour }): Promise<RetellStandIn> {
  const behaviours = new Map<string, Behaviour & { seen: number }>();
  const defaults: Behaviour = options.defaults ?? {};
  const requests: RecordedRequest[] = [];
  /** Ongoing calls by agent id, for `concurrency`: call id → when it ends (Infinity: when told). */
  const ongoing = new Map<string, Map<string, number>>();
  const ongoingCount = (agentId: string, now: number) => {
    const calls = ongoing.get(agentId);
    if (!calls) return 0;
    for (const [id, endsAt] of calls) if (endsAt <= now) calls.delete(id);
    return calls.size;
  };

  const serve: RequestListener = async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const text = await readBody(req);

    if (url.pathname.startsWith("/__stand-in/")) return control(url, req.method ?? "GET", text, res);

    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // Kept as text: answered with 400 below.
    }
    const record: RecordedRequest = { at: Date.now(), method: req.method ?? "", path: url.pathname, headers: req.headers, body, status: 0 };
    if (requests.length < MAX_RECORDED) requests.push(record);

    if (req.headers.authorization !== `Bearer ${options.apiKey}`) {
      record.status = error(res, 401, "API key is missing or invalid.");
      return;
    }
    if (req.method === "GET" && url.pathname.startsWith("/get-agent/")) {
      const agentId = decodeURIComponent(url.pathname.slice("/get-agent/".length));
      const b = behaviours.get(agentId);
      record.status = b?.status === 404 || agentId.startsWith("agent_missing")
        ? error(res, 404, "Agent not found")
        : send(res, 200, { agent_id: agentId, agent_name: "Stand-in agent", version: 0 });
      return;
    }
    if (req.method !== "POST" || url.pathname !== "/v2/register-phone-call") {
      record.status = error(res, 404, "Not found");
      return;
    }
    if (!req.headers["content-type"]?.startsWith("application/json")) {
      record.status = error(res, 400, "Content-Type must be application/json");
      return;
    }
    const problem = typeof body === "string" ? "body is not JSON" : registerBodyProblem(body);
    if (problem) {
      record.status = error(res, 400, problem);
      return;
    }
    const params = body as Record<string, unknown>;
    const agentId = params.agent_id as string;
    const specific = behaviours.get(agentId);
    const behaviour: Behaviour & { seen?: number } = specific ?? defaults;
    const seen = specific ? specific.seen++ : 0;
    const misbehave = behaviour.times === undefined || seen < behaviour.times;

    if (behaviour.delayMs) await new Promise((r) => setTimeout(r, behaviour.delayMs));
    if (behaviour.chaos) {
      const { dropRate = 0, failRate = 0, slowRate = 0, slowMs = 1_000 } = behaviour.chaos;
      const roll = Math.random();
      if (roll < dropRate) {
        req.socket.destroy();
        return;
      }
      if (roll < dropRate + failRate) {
        record.status = error(res, 503, "Stand-in chaos: service unavailable");
        return;
      }
      if (roll < dropRate + failRate + slowRate) await new Promise((r) => setTimeout(r, slowMs));
    }
    if (misbehave && behaviour.mode === "drop") {
      req.socket.destroy();
      return;
    }
    if (misbehave && behaviour.mode === "hang") {
      // Never answered: cut when the stand-in closes.
      return;
    }
    if (misbehave && behaviour.status) {
      const headers: Record<string, string> = {
        ...(behaviour.retryAfter && { "Retry-After": behaviour.retryAfter }),
        ...(behaviour.shouldRetry !== undefined && { "x-should-retry": String(behaviour.shouldRetry) }),
      };
      if (typeof behaviour.errorBody === "string") {
        res.writeHead(behaviour.status, { "Content-Type": "text/plain", ...headers }).end(behaviour.errorBody);
        record.status = behaviour.status;
      } else {
        record.status = behaviour.errorBody === undefined
          ? error(res, behaviour.status, `Stand-in error ${behaviour.status}`, headers)
          : send(res, behaviour.status, behaviour.errorBody, headers);
      }
      return;
    }
    if (misbehave && behaviour.mode === "not_json") {
      res.writeHead(201, { "Content-Type": "application/json" });
      res.end("<html>oops</html>");
      record.status = 201;
      return;
    }
    if (behaviour.concurrency && ongoingCount(agentId, Date.now()) >= behaviour.concurrency.limit) {
      record.status = error(res, 429, "Account rate limited, please throttle your requests.");
      return;
    }
    const callId = misbehave && behaviour.callId !== undefined ? behaviour.callId : `call_${randomBytes(16).toString("hex")}`;
    if (behaviour.concurrency) {
      if (!ongoing.has(agentId)) ongoing.set(agentId, new Map());
      ongoing.get(agentId)?.set(callId, behaviour.concurrency.callMs === undefined ? Infinity : Date.now() + behaviour.concurrency.callMs);
    }
    const call = {
      ...(misbehave && behaviour.mode === "no_call_id" ? {} : { call_id: callId }),
      call_type: "phone_call",
      agent_id: agentId,
      agent_version: params.agent_version ?? 0,
      call_status: "registered",
      direction: params.direction ?? "inbound",
      from_number: params.from_number,
      to_number: params.to_number,
      metadata: params.metadata,
      retell_llm_dynamic_variables: params.retell_llm_dynamic_variables,
    };
    record.callId = callId;
    record.status = send(res, 201, call);
  };

  function endCall(callId: string): void {
    for (const calls of ongoing.values()) calls.delete(callId);
  }

  function control(url: URL, method: string, text: string, res: ServerResponse) {
    const agent = url.pathname.match(/^\/__stand-in\/agents\/([^/]+)$/);
    if (agent && method === "PUT") {
      behaviours.set(decodeURIComponent(agent[1] as string), { ...(JSON.parse(text || "{}") as Behaviour), seen: 0 });
      return send(res, 204, null);
    }
    const end = url.pathname.match(/^\/__stand-in\/calls\/([^/]+)\/end$/);
    if (end && method === "POST") {
      endCall(decodeURIComponent(end[1] as string));
      return send(res, 204, null);
    }
    if (url.pathname === "/__stand-in/requests" && method === "GET") {
      const agentId = url.searchParams.get("agent_id");
      const matches = agentId
        ? requests.filter((r) => (r.body as { agent_id?: string } | undefined)?.agent_id === agentId)
        : requests;
      return send(res, 200, matches);
    }
    return send(res, 404, { message: "unknown control route" });
  }

  const stand = await startStandIn(serve, { port: options.port });
  return {
    url: stand.url,
    requests,
    setBehaviour: (agentId, behaviour) => behaviours.set(agentId, { ...behaviour, seen: 0 }),
    endCall,
    close: stand.close,
  };
}
