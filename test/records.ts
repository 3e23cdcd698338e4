/**
 * Helpers for the call-record tests: reading D1 as the Worker left it (waitUntil work finishes after the
 * response, so reads poll briefly), Retell webhooks signed with retell-sdk's own `sign`, admin requests,
 * and the `<Dial action>` URL of a TwiML answer.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { sign } from "retell-sdk/lib/webhook_auth";
import { vi } from "vitest";
import entry from "../src/index.ts";
import type { Bindings } from "../src/env.ts";
import { ORIGIN, twilioRequest, uniqueAgentId, uniqueNumber, voiceParams, worker } from "./helpers.ts";
import { lineName, lineStub } from "../src/line/address.ts";
import type { CallRecord } from "../src/records/list.ts";
import { TEST_ADMIN_TOKEN } from "./admin-token.ts";
import { TEST_RETELL_API_KEY } from "./secrets.ts";

export type Row = Record<string, unknown>;

/** The call's live record in its line's object (`line`: the number, as Twilio sends it), or null. */
export function lineRecord(line: string, callSid: string): Promise<CallRecord | null> {
  return lineStub(env, lineName(line)).call(callSid);
}

/** The call's D1 row as it is now (the line's object copies it soon after each change: a second deployed). */
export function readCall(callSid: string): Promise<Row | null> {
  return env.DB.prepare("SELECT * FROM calls WHERE call_sid = ?").bind(callSid).first<Row>();
}

/**
 * Polls `read` until `done` holds (the Worker writes records in waitUntil, after its answer). The limit only
 * bounds a failing test: a loaded machine may take many times the usual second, and a passing test never waits it.
 */
export const EVENTUALLY_LIMIT_MS = 20_000;

export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = EVENTUALLY_LIMIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A row that holds the call's answer: a line copies each change soon after it (LINE_COPY_DELAY_MS in the tests), so
 * the first copy of a call may hold only its claim, made before the registration ended.
 */
export const answered = (row: Row): boolean => row.outcome !== null;

/** The call's D1 row once `done` holds for it (by default, once it holds the call's answer). */
export function recordOf(callSid: string, done: (row: Row) => boolean = answered): Promise<Row> {
  return eventually(() => readCall(callSid), (row) => row !== null && done(row)) as Promise<Row>;
}

/** The `<Dial action>` of a TwiML answer, as a path and query on ORIGIN (the form twilioRequest takes). */
export function actionPath(twiml: string): string {
  const action = /<Dial [^>]*action="([^"]*)"/.exec(twiml)?.[1];
  if (!action) throw new Error(`no <Dial action> in ${twiml}`);
  const url = action.replaceAll("&amp;", "&");
  if (!url.startsWith(ORIGIN)) throw new Error(`action ${url} is not on ${ORIGIN}`);
  return url.slice(ORIGIN.length);
}

export interface RetellSignOptions {
  /** `null`: no x-retell-signature header; a string: that header verbatim. */
  signature?: string | null;
  key?: string;
}

/** A Retell webhook as Retell sends it: JSON body, x-retell-signature made by retell-sdk's own `sign`. */
export async function retellRequest(payload: unknown, options: RetellSignOptions = {}): Promise<Request> {
  const body = JSON.stringify(payload);
  const signature = options.signature === undefined ? await sign(body, options.key ?? TEST_RETELL_API_KEY) : options.signature;
  return new Request(`${ORIGIN}/api/webhooks/retell`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(signature !== null && { "x-retell-signature": signature }) },
    body,
  });
}

export function retellCall(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    call_id: `call_${crypto.randomUUID().replaceAll("-", "")}`,
    call_type: "phone_call",
    agent_id: "agent_events",
    direction: "inbound",
    from_number: "+14155550100",
    to_number: "+61341517921",
    call_status: "ongoing",
    ...overrides,
  };
}

export function adminRequest(pathAndQuery: string, token: string | null = TEST_ADMIN_TOKEN): Request {
  return new Request(ORIGIN + pathAndQuery, { headers: token === null ? {} : { Authorization: `Bearer ${token}` } });
}

/**
 * Sends a request through the Worker entry with some bindings replaced, reads the answer, and waits for its
 * waitUntil work (the voice webhook's log line and the line's answer follow the document).
 */
export async function withBindings(request: Request, overrides: Partial<Bindings>): Promise<{ status: number; text: string }> {
  const ctx = createExecutionContext();
  const response = await entry.fetch(request, { ...(env as Bindings), ...overrides }, ctx);
  const text = await response.text();
  await waitOnExecutionContext(ctx);
  return { status: response.status, text };
}

/** Inserts a record directly, for data sets (stats, listing, retention). */
export async function insertCall(row: Row & { call_sid: string; created_at: number }): Promise<void> {
  const full: Row = { updated_at: row.created_at, ...row };
  const columns = Object.keys(full);
  await env.DB.prepare(`INSERT INTO calls (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`)
    .bind(...columns.map((c) => full[c] ?? null))
    .run();
}

/** A D1 binding that fails every query, as during an outage. */
export const failingDb = {
  prepare() {
    throw new Error("D1_ERROR: simulated outage");
  },
  batch() {
    return Promise.reject(new Error("D1_ERROR: simulated outage"));
  },
} as unknown as D1Database;

/** A D1 binding whose every call hangs, as D1 does when its primary is unreachable; counts what it was asked. */
export function hangingDb(): { db: D1Database; calls: string[] } {
  const calls: string[] = [];
  const db = new Proxy({} as D1Database, {
    get(_, property) {
      calls.push(String(property));
      return () => new Promise(() => {});
    },
  });
  return { db, calls };
}

export interface AnsweredCall {
  /** The voice webhook's parameters (CallSid, From, To, ...). */
  params: Record<string, string>;
  sid: string;
  /** The dialed number: the call's line. */
  line: string;
  agentId: string;
  twiml: string;
}

/**
 * A call answered by the voice webhook, for an agent stored (with `config`) under a fresh number; `extra`: more
 * of the webhook's parameters (StirVerstat, …). Once its TwiML
 * is read, the answer is in the call's line (the webhook stores it before finishing the document).
 */
export async function answeredCall(config: Record<string, unknown> = {}, extra: Record<string, string> = {}): Promise<AnsweredCall> {
  const line = uniqueNumber();
  const agentId = uniqueAgentId();
  await env.AGENTS.put(line, JSON.stringify({ retellAgentId: agentId, ...config }));
  const params = voiceParams({ ...extra, To: line });
  const twiml = await (await worker(twilioRequest("/api/webhooks/twilio", params))).text();
  return { params, sid: params.CallSid ?? "", line, agentId, twiml };
}

/** A LINES binding whose every object fails each call, as when the line's object is unreachable. */
export const failingLines = {
  idFromName: (name: string) => ({ name }),
  get: () => new Proxy({}, { get: () => () => Promise.reject(new Error("line object: simulated failure")) }),
} as unknown as Bindings["LINES"];

/** Captures the Worker's JSON log lines from now on; read them with the returned function (vi.restoreAllMocks ends it). */
export function captureLogs(): () => Row[] {
  const spies = (["log", "warn", "error"] as const).map((level) => vi.spyOn(console, level));
  return () =>
    spies.flatMap((spy) => spy.mock.calls).flatMap((args) => {
      try {
        return [JSON.parse(String(args[0])) as Row];
      } catch {
        return [];
      }
    });
}
