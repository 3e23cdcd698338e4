/**
 * The Worker's calls API over HTTP: POST /api/calls with CALLS_TOKEN, GET /api/calls/:callSid with ADMIN_TOKEN
 * (placing calls and reading records are separate permissions). The CLI never imports the Worker's handlers: it
 * sends what an operator's own script would.
 */
import type { CallRecord } from "../../src/records/list.ts";
import { CliError } from "./errors.ts";

/** Where `npm run dev` (wrangler dev) listens by default. */
export const LOCAL_WORKER_URL = "http://127.0.0.1:8787";
/** A request to the Worker that takes longer than this has failed (placing a call waits on Twilio, at most 10 s). */
const REQUEST_TIMEOUT_MS = 20_000;

/** The Worker's JSON error answer (src/errors.ts). */
export interface ApiError {
  status: number;
  error: string;
  message: string;
  code?: number | null;
}

export type PlaceResult = { ok: true; callSid: string; status: string } | { ok: false; failure: ApiError };

export interface ApiTokens {
  /** CALLS_TOKEN: places calls; absent for commands that only read or replay (npm run webhooks). */
  calls?: string;
  /** ADMIN_TOKEN: reads a call's record, to follow it; without it calls are placed but not followed. */
  admin?: string;
}

export class WorkerApi {
  readonly baseUrl: string;
  readonly #tokens: ApiTokens;

  constructor(baseUrl: string, tokens: ApiTokens) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.#tokens = tokens;
  }

  /** Whether calls can be followed (ADMIN_TOKEN is known). */
  get canFollow(): boolean {
    return this.#tokens.admin !== undefined;
  }

  async #request(method: "GET" | "POST", path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    // Placing a call is CALLS_TOKEN's alone; everything else the CLI asks (records, deliveries, replays) is ADMIN_TOKEN's.
    const places = method === "POST" && path === "/api/calls";
    const name = places ? "CALLS_TOKEN" : "ADMIN_TOKEN";
    const token = (places ? this.#tokens.calls : this.#tokens.admin) ?? "";
    let response: Response;
    try {
      response = await fetch(this.baseUrl + path, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body !== undefined && { "Content-Type": "application/json" }) },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw new CliError(`The Worker at ${this.baseUrl} did not answer: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}.`, {
        fix: this.baseUrl === LOCAL_WORKER_URL ? "start it with `npm run dev`, or give its address with --url" : "check --url (the Worker's base URL, printed by `npm run deploy`)",
      });
    }
    const text = await response.text();
    let json: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
    } catch {
      json = { error: "not_json", message: `HTTP ${response.status}: ${text.slice(0, 120)}` };
    }
    if (response.status === 401) throw new CliError(`The Worker at ${this.baseUrl} refused ${name} (401).`, { fix: `use the Worker's own ${name} (wrangler secret put ${name}; .dev.vars for npm run dev)` });
    if (json.error === "admin_disabled") throw new CliError(`The Worker at ${this.baseUrl} has no ADMIN_TOKEN, so reading call records is off.`, { fix: "set it: npx wrangler secret put ADMIN_TOKEN (or ADMIN_TOKEN=… in .dev.vars for npm run dev)" });
    if (json.error === "calls_disabled") throw new CliError(`The Worker at ${this.baseUrl} has no CALLS_TOKEN, so placing calls is off.`, { fix: "set it (at least 32 characters): openssl rand -hex 32 | npx wrangler secret put CALLS_TOKEN (or CALLS_TOKEN=… in .dev.vars for npm run dev)" });
    return { status: response.status, json };
  }

  /** POST /api/calls. A refusal (400, 429, 502, …) is a result, for the batch to record per row. */
  async placeCall(body: Record<string, unknown>): Promise<PlaceResult> {
    const { status, json } = await this.#request("POST", "/api/calls", body);
    if (status === 201 && typeof json.callSid === "string") return { ok: true, callSid: json.callSid, status: typeof json.status === "string" ? json.status : "queued" };
    return {
      ok: false,
      failure: {
        status,
        error: typeof json.error === "string" ? json.error : "unexpected",
        message: typeof json.message === "string" ? json.message : `HTTP ${status}`,
        ...(json.code !== undefined && { code: typeof json.code === "number" ? json.code : null }),
      },
    };
  }

  /** Any admin API answer as JSON, for commands that print it (npm run webhooks); a non-2xx status is a CliError with the Worker's message. */
  async json(method: "GET" | "POST", path: string): Promise<Record<string, unknown>> {
    const { status, json } = await this.#request(method, path);
    if (status < 200 || status >= 300) throw new CliError(`${method} ${path} failed: HTTP ${status} ${String(json.message ?? "")}`.trim());
    return json;
  }

  /** GET /api/calls/:callSid, or null while the call has no record yet (it reaches D1 about a second after each change). */
  async call(callSid: string): Promise<CallRecord | null> {
    const { status, json } = await this.#request("GET", `/api/calls/${encodeURIComponent(callSid)}`);
    if (status === 404) return null;
    if (status !== 200) throw new CliError(`Reading call ${callSid} failed: HTTP ${status} ${String(json.message ?? "")}`.trim());
    return json as unknown as CallRecord;
  }
}
