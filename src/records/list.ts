/**
 * Listing call records (GET /api/calls, `npm run calls -- list`): the record as the API returns it, the
 * filters, the query and keyset pagination. Shared by the Worker and the CLI: plain TypeScript, no Workers types.
 */
import { normalizeE164 } from "../phone.ts";
import { sqlLiteral, type SqlQuery, type SqlValue } from "./sql.ts";
import { isTwilioCallStatus, TWILIO_CALL_STATUSES, type TwilioCallStatus } from "../twilio/call-status.ts";
import { parseWindow } from "./window.ts";
import type { TransferAttempt } from "./transfer-attempt.ts";
import type { VoicemailRecording } from "../twilio/recording.ts";

export const DEFAULT_LIST_LIMIT = 50;
/** A page stays well under D1's and the Worker's response limits even with long summaries. */
export const MAX_LIST_LIMIT = 200;

/** Every value of `calls.outcome` (docs/storage.md): the voice webhook's outcomes, plus `sip_failed` from dial-complete. */
export const CALL_OUTCOMES = [
  "connected",
  "fallback_dialed",
  "retell_failed",
  "sip_failed",
  "agent_not_found",
  "agent_missing_retell_id",
  "agent_config_invalid",
  "agent_lookup_failed",
  "internal_error",
  "blocked",
  "rate_limited",
  "after_hours",
  /** Outbound: a machine answered and detection was `hangup` or `message` (the agent never took it). */
  "machine_answered",
  /** Outbound: the callee never answered (busy, no answer, failed, canceled). */
  "not_answered",
  /** Held in the line's queue (hold/), and not yet out of it. */
  "queued",
  /** Hung up while held. */
  "abandoned",
  /** A voicemail box took the call (after hours, or when neither Retell nor a fallback number could). */
  "voicemail",
] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

/** How the operator's pre-call hook answered (docs/pre-call-hook.md); every result but `ok` and `rejected` is a failure. */
export const HOOK_RESULTS = ["ok", "rejected", "timeout", "error", "invalid"] as const;
export type HookResult = (typeof HOOK_RESULTS)[number];

/** One call as GET /api/calls returns it: the `calls` columns in camelCase; times in ms since the epoch. */
export interface CallRecord {
  callSid: string;
  accountSid: string | null;
  agentKey: string | null;
  retellAgentId: string | null;
  from: string | null;
  to: string | null;
  outcome: CallOutcome | null;
  outcomeReason: string | null;
  retellCallId: string | null;
  retellRegisterMs: number | null;
  retellRegisterAttempts: number | null;
  voiceReceivedAt: number | null;
  voiceAnsweredAt: number | null;
  dialStatus: string | null;
  dialSipCode: number | null;
  dialDurationS: number | null;
  dialEndedAt: number | null;
  fallbackStatus: string | null;
  fallbackEndedAt: number | null;
  twilioStatus: TwilioCallStatus | null;
  twilioSequence: number | null;
  twilioStatusAt: number | null;
  twilioAnsweredAt: number | null;
  twilioEndedAt: number | null;
  durationS: number | null;
  retellStatus: string | null;
  retellStartedAt: number | null;
  retellEndedAt: number | null;
  retellDurationMs: number | null;
  disconnectionReason: string | null;
  callSummary: string | null;
  userSentiment: string | null;
  callSuccessful: boolean | null;
  retellEventAt: number | null;
  createdAt: number;
  updatedAt: number;
  /** `outbound` for calls placed through POST /api/calls, `inbound` for every other. */
  direction: CallDirection;
  /** Twilio's AnsweredBy (machine detection) for an outbound call; null without detection or when nobody answered. */
  answeredBy: string | null;
  /** Each transfer to a person, oldest first (records/transfer-attempt.ts); null when the call was never transferred. */
  transfers: TransferAttempt[] | null;
  /** Twilio's `StirVerstat` as it came (SHAKEN/STIR, rules/verification.ts); null when the webhook had none. */
  stirVerstat: string | null;
  /** Whether the caller heard the agent's consent notice before the AI leg was dialed. */
  announced: boolean;
  /** When the caller was first put on hold (the line or Retell at capacity); null when never held. */
  queuedAt: number | null;
  /** How long the caller was held, ms, once they left the queue (connected, sent on, or hung up). */
  heldMs: number | null;
  /** The line's calls connected to an AI leg, this one included, when it took its place (under maxConcurrentCalls). */
  concurrentCalls: number | null;
  /** The voicemail the caller left (Twilio keeps the audio at `url`); null when none was recorded. */
  voicemail: VoicemailRecording | null;
  /** The pre-call hook's result; null when no hook was asked. */
  hookResult: HookResult | null;
  /** How long the hook took to answer (or to fail), ms. */
  hookMs: number | null;
  /** The Retell agent registered for the call: the hook's override_agent_id, else retellAgentId; null when none was. */
  finalAgentId: string | null;
}

export const CALL_DIRECTIONS = ["inbound", "outbound"] as const;
export type CallDirection = (typeof CALL_DIRECTIONS)[number];
export const DIRECTION_MESSAGE = `direction must be one of ${CALL_DIRECTIONS.join(", ")}`;

export function isCallDirection(value: string): value is CallDirection {
  return (CALL_DIRECTIONS as readonly string[]).includes(value);
}

/** Field → column; typed so that a field added to CallRecord without a column fails to compile. */
export const CALL_COLUMNS: { [K in keyof CallRecord]: string } = {
  callSid: "call_sid",
  accountSid: "account_sid",
  agentKey: "agent_key",
  retellAgentId: "retell_agent_id",
  from: "from_number",
  to: "to_number",
  outcome: "outcome",
  outcomeReason: "outcome_reason",
  retellCallId: "retell_call_id",
  retellRegisterMs: "retell_register_ms",
  retellRegisterAttempts: "retell_register_attempts",
  voiceReceivedAt: "voice_received_at",
  voiceAnsweredAt: "voice_answered_at",
  dialStatus: "dial_status",
  dialSipCode: "dial_sip_code",
  dialDurationS: "dial_duration_s",
  dialEndedAt: "dial_ended_at",
  fallbackStatus: "fallback_status",
  fallbackEndedAt: "fallback_ended_at",
  twilioStatus: "twilio_status",
  twilioSequence: "twilio_sequence",
  twilioStatusAt: "twilio_status_at",
  twilioAnsweredAt: "twilio_answered_at",
  twilioEndedAt: "twilio_ended_at",
  durationS: "duration_s",
  retellStatus: "retell_status",
  retellStartedAt: "retell_started_at",
  retellEndedAt: "retell_ended_at",
  retellDurationMs: "retell_duration_ms",
  disconnectionReason: "disconnection_reason",
  callSummary: "call_summary",
  userSentiment: "user_sentiment",
  callSuccessful: "call_successful",
  retellEventAt: "retell_event_at",
  createdAt: "created_at",
  updatedAt: "updated_at",
  direction: "direction",
  answeredBy: "answered_by",
  transfers: "transfers",
  stirVerstat: "stir_verstat",
  announced: "announced",
  queuedAt: "queued_at",
  heldMs: "held_ms",
  concurrentCalls: "concurrent_calls",
  voicemail: "voicemail",
  hookResult: "hook_result",
  hookMs: "hook_ms",
  finalAgentId: "final_agent_id",
};

const SELECT_RECORD = Object.entries(CALL_COLUMNS)
  .map(([field, column]) => `${column} AS "${field}"`)
  .join(", ");

/** A row of the list query, before the conversions it needs (booleans are 0/1 in SQLite, transfers JSON text). */
export type CallRow = Omit<CallRecord, "callSuccessful" | "transfers" | "announced" | "voicemail"> & {
  callSuccessful: number | null;
  transfers: string | null;
  voicemail: string | null;
  /** NULL on rows copied before the column existed: not announced. */
  announced: number | null;
};

export function toCallRecord(row: CallRow): CallRecord {
  return {
    ...row,
    callSuccessful: row.callSuccessful === null ? null : row.callSuccessful === 1,
    transfers: row.transfers ? (JSON.parse(row.transfers) as TransferAttempt[]) : null,
    announced: row.announced === 1,
    voicemail: row.voicemail ? (JSON.parse(row.voicemail) as VoicemailRecording) : null,
  };
}

export interface CallCursor {
  createdAt: number;
  callSid: string;
}

export interface CallListFilter {
  /** The KV key (`+E164`, `agent:<id>`) or the Retell agent id. */
  agent?: string;
  from?: string;
  to?: string;
  status?: TwilioCallStatus;
  outcome?: CallOutcome;
  direction?: CallDirection;
  /** true: only calls with a voicemail; false: only calls without. */
  voicemail?: boolean;
  since?: number;
  until?: number;
  limit: number;
  cursor?: CallCursor;
}

/** `(agent_key = ? OR retell_agent_id = ?)`: an operator may know a call's agent by either name. */
export function agentCondition(agent: string): SqlQuery {
  const key = normalizeE164(agent) ?? agent.trim();
  return { sql: "(agent_key = ? OR retell_agent_id = ?)", params: [key, key] };
}

function base64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function encodeCursor(cursor: CallCursor): string {
  return base64url(JSON.stringify([cursor.createdAt, cursor.callSid]));
}

export function decodeCursor(text: string): CallCursor | null {
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const value: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
    if (!Array.isArray(value) || value.length !== 2) return null;
    const [createdAt, callSid] = value as unknown[];
    if (typeof createdAt !== "number" || !Number.isSafeInteger(createdAt) || typeof callSid !== "string") return null;
    return { createdAt, callSid };
  } catch {
    return null;
  }
}

export type FilterResult = { ok: true; filter: CallListFilter } | { ok: false; message: string };

/** Reads GET /api/calls's query: agent, from, to, status, outcome, direction, voicemail, since, until, limit, cursor. */
export function parseListQuery(query: Record<string, string | undefined>, now: number): FilterResult {
  const limitText = query.limit ?? "";
  const limit = limitText === "" ? DEFAULT_LIST_LIMIT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    return { ok: false, message: `limit must be a whole number from 1 to ${MAX_LIST_LIMIT}` };
  }
  const filter: CallListFilter = { limit };
  if (query.agent) filter.agent = query.agent;
  if (query.from) filter.from = normalizeE164(query.from) ?? query.from;
  if (query.to) filter.to = normalizeE164(query.to) ?? query.to;
  if (query.status) {
    if (!isTwilioCallStatus(query.status)) return { ok: false, message: `status must be one of ${TWILIO_CALL_STATUSES.join(", ")}` };
    filter.status = query.status;
  }
  if (query.outcome) {
    const outcome = CALL_OUTCOMES.find((o) => o === query.outcome);
    if (!outcome) return { ok: false, message: `outcome must be one of ${CALL_OUTCOMES.join(", ")}` };
    filter.outcome = outcome;
  }
  if (query.direction) {
    if (!isCallDirection(query.direction)) return { ok: false, message: DIRECTION_MESSAGE };
    filter.direction = query.direction;
  }
  if (query.voicemail) {
    if (query.voicemail !== "true" && query.voicemail !== "false") return { ok: false, message: "voicemail must be true or false" };
    filter.voicemail = query.voicemail === "true";
  }
  if (query.since || query.until) {
    const window = parseWindow({ since: query.since, until: query.until }, now, null);
    if (!window.ok) return window;
    filter.since = window.window.since;
    filter.until = window.window.until;
  }
  if (query.cursor) {
    const cursor = decodeCursor(query.cursor);
    if (!cursor) return { ok: false, message: "cursor is not one this API returned" };
    filter.cursor = cursor;
  }
  return { ok: true, filter };
}

/** Newest first, by (created_at, call_sid) so pages never skip or repeat a call; one row more than asked, to tell whether a next page exists. */
export function listCallsQuery(filter: CallListFilter): SqlQuery {
  const where: string[] = [];
  const params: SqlValue[] = [];
  const add = (sql: string, ...values: SqlValue[]) => {
    where.push(sql);
    params.push(...values);
  };
  if (filter.agent !== undefined) {
    const agent = agentCondition(filter.agent);
    add(agent.sql, ...agent.params);
  }
  if (filter.from !== undefined) add("from_number = ?", filter.from);
  if (filter.to !== undefined) add("to_number = ?", filter.to);
  if (filter.status !== undefined) add("twilio_status = ?", filter.status);
  if (filter.outcome !== undefined) add("outcome = ?", filter.outcome);
  if (filter.direction !== undefined) add("direction = ?", filter.direction);
  if (filter.voicemail !== undefined) add(filter.voicemail ? "voicemail IS NOT NULL" : "voicemail IS NULL");
  if (filter.since !== undefined) add("created_at >= ?", filter.since);
  if (filter.until !== undefined) add("created_at < ?", filter.until);
  if (filter.cursor !== undefined) {
    add("(created_at < ? OR (created_at = ? AND call_sid < ?))", filter.cursor.createdAt, filter.cursor.createdAt, filter.cursor.callSid);
  }
  const sql =
    `SELECT ${SELECT_RECORD} FROM calls` +
    (where.length ? ` WHERE ${where.join(" AND ")}` : "") +
    ` ORDER BY created_at DESC, call_sid DESC LIMIT ${sqlLiteral(filter.limit + 1)}`;
  return { sql, params };
}

export interface CallPage {
  calls: CallRecord[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

export function callPage(rows: CallRow[], limit: number): CallPage {
  const calls = rows.slice(0, limit).map(toCallRecord);
  const last = calls[calls.length - 1];
  return { calls, nextCursor: rows.length > limit && last ? encodeCursor({ createdAt: last.createdAt, callSid: last.callSid }) : null };
}

/** One call by its CallSid (GET /api/calls/:callSid). */
export function getCallQuery(callSid: string): SqlQuery {
  return { sql: `SELECT ${SELECT_RECORD} FROM calls WHERE call_sid = ?`, params: [callSid] };
}
