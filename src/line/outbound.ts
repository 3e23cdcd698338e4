/**
 * Outbound calls (POST /api/calls, src/outbound/) on the caller ID's line: the number's concurrent slots and daily
 * count, each call's context until the callee answers, and that answer. Plain functions over the line object's
 * SQLite storage (line/object.ts); each reservation's call has its record in `calls` (line/calls-table.ts).
 *
 *   outbound(reservation_id TEXT PRIMARY KEY,  -- opaque id in the call's Url and StatusCallback (signed by Twilio)
 *            call_sid TEXT UNIQUE,             -- Twilio's CallSid, from POST /api/calls or whichever callback came first
 *            context TEXT NOT NULL,            -- JSON: the context as given (outbound/context.ts PlacedContext)
 *            day TEXT NOT NULL,                -- the UTC day it counts against
 *            active INTEGER NOT NULL,          -- 1 while the call holds one of the number's concurrent slots
 *            reserved_at INTEGER NOT NULL,
 *            expires_at INTEGER NOT NULL)      -- the slot is freed then if Twilio never reports the call final
 *   outbound_days(day TEXT PRIMARY KEY, started INTEGER NOT NULL)  -- calls started per UTC day
 */
import { log } from "../log.ts";
import { checkLimits, SLOT_TIMEOUT_MS, utcDay, type OutboundLimits } from "./outbound-limits.ts";
import { planAnswer, type AnsweredPlan, type MachineDetection } from "./machine.ts";
import { callRow, rowRecord, writeCall, type CallRow } from "./calls-table.ts";
import { answerMachine, placedRecord, withAnsweredBy } from "./transitions.ts";

/**
 * What the line reads of an outbound call's context. The outbound room's PlacedContext (outbound/context.ts)
 * extends it with the agent as placed, the variables and the metadata: the line keeps the context it is given
 * whole, as JSON, and hands it back whole (outbound/context.ts keptContext).
 */
export interface PlacedContext {
  to: string;
  from: string;
  /** The KV key the agent was read from (`+E164` or `agent:<id>`). */
  agentKey: string;
  agent: { retellAgentId: string };
  machineDetection: MachineDetection;
  voicemailMessage?: string;
}

export type OutboundReservation = { ok: true; reservationId: string } | { ok: false; limit: "concurrent" | "daily"; message: string };

/** What the callee's answer asks for: `agent`, claimed by the caller as a voice webhook's (line/claims.ts). */
export type OutboundPlan =
  /** No such reservation on this line (forgotten, or another call's). */
  | { kind: "unknown" }
  | { kind: "machine"; plan: Exclude<AnsweredPlan, { kind: "agent" }> }
  | { kind: "agent"; context: PlacedContext };

export function createOutboundTables(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS outbound (
      reservation_id TEXT PRIMARY KEY NOT NULL,
      call_sid TEXT UNIQUE,
      context TEXT NOT NULL,
      day TEXT NOT NULL,
      active INTEGER NOT NULL,
      reserved_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL
    )`);
  sql.exec("CREATE TABLE IF NOT EXISTS outbound_days (day TEXT PRIMARY KEY NOT NULL, started INTEGER NOT NULL)");
}

/**
 * Takes one of the number's slots under its limits and stores the call's context. The count and the insert
 * run with no await between them, so concurrent requests can never overshoot a limit.
 */
export function reserveOutbound(sql: SqlStorage, context: PlacedContext, limits: OutboundLimits, now: number): OutboundReservation {
  const day = utcDay(now);
  const active = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbound WHERE active = 1").one().n;
  const started = sql.exec<{ started: number }>("SELECT started FROM outbound_days WHERE day = ?", day).toArray()[0]?.started ?? 0;
  const check = checkLimits(active, started, limits);
  if (!check.ok) return check;
  const reservationId = crypto.randomUUID();
  sql.exec(
    "INSERT INTO outbound (reservation_id, call_sid, context, day, active, reserved_at, expires_at) VALUES (?, NULL, ?, ?, 1, ?, ?)",
    reservationId,
    JSON.stringify(context),
    day,
    now,
    now + SLOT_TIMEOUT_MS,
  );
  sql.exec("INSERT INTO outbound_days (day, started) VALUES (?, 1) ON CONFLICT (day) DO UPDATE SET started = started + 1", day);
  return { ok: true, reservationId };
}

/** Twilio refused the call: the slot and the day's count are given back, as if it had never been asked for. */
export function releaseOutbound(sql: SqlStorage, reservationId: string): boolean {
  const released = sql.exec<{ day: string }>("DELETE FROM outbound WHERE reservation_id = ? AND call_sid IS NULL RETURNING day", reservationId).toArray()[0];
  if (released) sql.exec("UPDATE outbound_days SET started = MAX(started - 1, 0) WHERE day = ?", released.day);
  return released !== undefined;
}

/** Binds `callSid` to the reservation and makes sure the call has its record; null for an unknown reservation or another CallSid. */
export function adoptOutbound(sql: SqlStorage, reservationId: string, callSid: string, accountSid: string | undefined): CallRow | null {
  const reservation = sql
    .exec<{ call_sid: string | null; reserved_at: number }>("SELECT call_sid, reserved_at FROM outbound WHERE reservation_id = ?", reservationId)
    .toArray()[0];
  if (!reservation || (reservation.call_sid !== null && reservation.call_sid !== callSid)) return null;
  if (reservation.call_sid === null) sql.exec("UPDATE outbound SET call_sid = ? WHERE reservation_id = ?", callSid, reservationId);
  const existing = callRow(sql, callSid);
  if (existing) return existing;
  const context = outboundContext(sql, reservationId) as PlacedContext;
  const call = { from: context.from, to: context.to, agentKey: context.agentKey, retellAgentId: context.agent.retellAgentId, ...(accountSid && { accountSid }) };
  writeCall(sql, callSid, placedRecord(callSid, call, reservation.reserved_at), null);
  return callRow(sql, callSid);
}

export function outboundContext(sql: SqlStorage, reservationId: string): PlacedContext | null {
  const row = sql.exec<{ context: string }>("SELECT context FROM outbound WHERE reservation_id = ?", reservationId).toArray()[0];
  return row ? (JSON.parse(row.context) as PlacedContext) : null;
}

/**
 * The outbound webhook (the callee answered): a machine gets what the call's detection choice says, recorded
 * and never registered; a person (or a machine the agent is to take) gets the agent, with who answered recorded.
 */
export function planOutboundAnswer(sql: SqlStorage, reservationId: string, callSid: string, call: { accountSid?: string; receivedAt: number }, answeredBy: string | undefined): OutboundPlan {
  const row = adoptOutbound(sql, reservationId, callSid, call.accountSid);
  const context = outboundContext(sql, reservationId);
  if (!row || !context) return { kind: "unknown" };
  const record = rowRecord(row);
  const plan = planAnswer(context.machineDetection, answeredBy, context.voicemailMessage);
  if (plan.kind !== "agent") {
    writeCall(sql, callSid, answerMachine(record, answeredBy ?? "unknown", plan.kind === "hangup" ? "machine_hangup" : "voicemail_left", call.receivedAt), row);
    return { kind: "machine", plan };
  }
  const known = withAnsweredBy(record, answeredBy);
  if (known !== record) writeCall(sql, callSid, known, row);
  return { kind: "agent", context };
}

/** Whether the line placed the call `callSid`: one of its reservations is bound to it (kept SLOT_TIMEOUT_MS from the reservation). */
export function placedOutbound(sql: SqlStorage, callSid: string): boolean {
  return sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbound WHERE call_sid = ?", callSid).one().n > 0;
}

/** Twilio reported the call final: its slot is free for the next call. */
export function freeOutboundSlot(sql: SqlStorage, callSid: string): void {
  sql.exec("UPDATE outbound SET active = 0 WHERE call_sid = ?", callSid);
}

/** Frees slots past SLOT_TIMEOUT_MS (their final status never came), then forgets them and past days' counts. */
export function expireOutbound(sql: SqlStorage, now: number): number {
  const expired = sql.exec("UPDATE outbound SET active = 0 WHERE active = 1 AND expires_at <= ?", now).rowsWritten;
  if (expired > 0) log("warn", "outbound.slot_expired", { slots: expired, detail: "no final status callback arrived; check the call's StatusCallback in Twilio's debugger" });
  sql.exec("DELETE FROM outbound WHERE active = 0 AND expires_at <= ?", now);
  sql.exec("DELETE FROM outbound_days WHERE day < ?", utcDay(now - 24 * 60 * 60 * 1_000));
  return expired;
}

/** When the next slot expires, or null when the line holds no outbound call. */
export function nextOutboundAt(sql: SqlStorage): number | null {
  return sql.exec<{ due: number | null }>("SELECT MIN(expires_at) AS due FROM outbound").one().due;
}

/**
 * An outbound call's context found by its CallSid: the way back to the AI after a failed transfer registers the
 * call again with exactly what its first registration sent (transfers/way-back.ts). The row outlives the call: it
 * is forgotten only after SLOT_TIMEOUT_MS from its reservation, longer than Twilio lets the call last.
 */
export function outboundContextOfCall(sql: SqlStorage, callSid: string): PlacedContext | null {
  const row = sql.exec<{ context: string }>("SELECT context FROM outbound WHERE call_sid = ?", callSid).toArray()[0];
  return row ? (JSON.parse(row.context) as PlacedContext) : null;
}
