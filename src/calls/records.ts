/**
 * Reads and writes of the `calls` table in D1 (migrations/0001_calls.sql, docs/storage.md).
 *
 * Every writer upserts by call_sid and owns its own columns, so Twilio's and Retell's callbacks may arrive in any
 * order, late or twice: identity columns are filled only where still empty, timestamps of steps are kept once
 * set, and statuses only move forward. D1 retries only read-only queries, never writes
 * (https://developers.cloudflare.com/changelog/2025-09-11-d1-automatic-read-retries), so the senders' own
 * retries are what repeat a write, and each one is safe to repeat. Errors are thrown to the caller, who
 * decides whether the call goes on without its record (voice, dial-complete) or the sender should retry.
 */
import type { CallOutcome, CallListFilter, CallPage, CallRow } from "./list.ts";
import { callPage, listCallsQuery } from "./list.ts";
import type { SqlQuery } from "./sql.ts";
import { statsQuery, toAgentStats, type AgentStats, type StatsFilter, type StatsRow } from "./stats.ts";
import { isFinalStatus, statusKey, TWILIO_STATUS_RANK, type StatusUpdate } from "./status.ts";
import type { DialFailureReason, DialReport } from "./dial-complete.ts";
import { RETELL_STATUS_RANK, type RetellCallUpdate } from "../retell/events.ts";
import { log } from "../log.ts";

/** Rows deleted per retention statement: small enough for one D1 statement, large enough to finish in few. */
const PURGE_BATCH = 5_000;
/** Retention statements per run, so a first purge of a huge table cannot run past a cron invocation's limits. */
const PURGE_MAX_BATCHES = 200;

function prepare(db: D1Database, query: SqlQuery): D1PreparedStatement {
  return db.prepare(query.sql).bind(...query.params);
}

/** `CASE <column> WHEN 'a' THEN 0 ... ELSE -1 END`: a status's rank in SQL, from the same table as the code. */
function rankSql(column: string, ranks: Record<string, number>): string {
  const cases = Object.entries(ranks).map(([status, rank]) => `WHEN '${status}' THEN ${rank}`);
  return `(CASE ${column} ${cases.join(" ")} ELSE -1 END)`;
}

export interface VoiceRecord {
  callSid: string;
  accountSid?: string;
  agentKey: string | null;
  retellAgentId?: string;
  from: string;
  to: string;
  outcome: CallOutcome;
  outcomeReason?: string;
  retellCallId?: string;
  registerMs?: number;
  registerAttempts?: number;
  receivedAt: number;
  answeredAt: number;
}

/**
 * The voice webhook's columns. Overwrites them (a later webhook for the same CallSid that registered again is
 * the newer answer), except the outcome once dial-complete has reported on the dial.
 */
export async function recordVoiceOutcome(db: D1Database, r: VoiceRecord): Promise<void> {
  await db
    .prepare(
      `INSERT INTO calls (call_sid, account_sid, agent_key, retell_agent_id, from_number, to_number, outcome, outcome_reason,
         retell_call_id, retell_register_ms, retell_register_attempts, voice_received_at, voice_answered_at, created_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?12, ?13)
       ON CONFLICT (call_sid) DO UPDATE SET
         account_sid = COALESCE(excluded.account_sid, calls.account_sid),
         agent_key = excluded.agent_key,
         retell_agent_id = COALESCE(excluded.retell_agent_id, calls.retell_agent_id),
         from_number = excluded.from_number,
         to_number = excluded.to_number,
         outcome = CASE WHEN calls.dial_status IS NULL THEN excluded.outcome ELSE calls.outcome END,
         outcome_reason = CASE WHEN calls.dial_status IS NULL THEN excluded.outcome_reason ELSE calls.outcome_reason END,
         retell_call_id = COALESCE(excluded.retell_call_id, calls.retell_call_id),
         retell_register_ms = excluded.retell_register_ms,
         retell_register_attempts = excluded.retell_register_attempts,
         voice_received_at = excluded.voice_received_at,
         voice_answered_at = excluded.voice_answered_at,
         created_at = MIN(calls.created_at, excluded.created_at),
         updated_at = excluded.updated_at`,
    )
    .bind(
      r.callSid,
      r.accountSid ?? null,
      r.agentKey,
      r.retellAgentId ?? null,
      r.from,
      r.to,
      r.outcome,
      r.outcomeReason ?? null,
      r.retellCallId ?? null,
      r.registerMs ?? null,
      r.registerAttempts ?? null,
      r.receivedAt,
      r.answeredAt,
    )
    .run();
}

/** The Retell call id already registered for a CallSid, if any. */
export async function findRetellCallId(db: D1Database, callSid: string): Promise<string | null> {
  return db.prepare("SELECT retell_call_id FROM calls WHERE call_sid = ?").bind(callSid).first<string | null>("retell_call_id");
}

/**
 * Applies a status callback: fills in what the call lacks, records when it was answered, and replaces the
 * status only if the callback's ordering key (rank, SequenceNumber, Timestamp) is at least the stored one's.
 * Both statements run in one batch, which D1 executes as a transaction. Returns whether the status was applied.
 */
export async function recordTwilioStatus(db: D1Database, update: StatusUpdate, receivedAt: number): Promise<boolean> {
  const key = statusKey(update, receivedAt);
  const final = isFinalStatus(update.status);
  const answeredAt = update.status === "in-progress" ? key.at : null;
  const [, applied] = await db.batch([
    db
      .prepare(
        `INSERT INTO calls (call_sid, account_sid, from_number, to_number, twilio_answered_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
         ON CONFLICT (call_sid) DO UPDATE SET
           account_sid = COALESCE(calls.account_sid, excluded.account_sid),
           from_number = COALESCE(calls.from_number, excluded.from_number),
           to_number = COALESCE(calls.to_number, excluded.to_number),
           twilio_answered_at = COALESCE(calls.twilio_answered_at, excluded.twilio_answered_at),
           updated_at = excluded.updated_at`,
      )
      .bind(update.callSid, update.accountSid ?? null, update.from ?? null, update.to ?? null, answeredAt, receivedAt),
    db
      .prepare(
        `UPDATE calls SET
           twilio_status = ?2, twilio_sequence = ?3, twilio_status_at = ?4,
           duration_s = COALESCE(?5, duration_s),
           twilio_ended_at = CASE WHEN ?6 THEN ?4 ELSE twilio_ended_at END
         WHERE call_sid = ?1
           AND (${rankSql("twilio_status", TWILIO_STATUS_RANK)}, COALESCE(twilio_sequence, -1), COALESCE(twilio_status_at, 0)) <= (?7, ?8, ?4)`,
      )
      .bind(update.callSid, update.status, update.sequence ?? null, key.at, update.durationS ?? null, final ? 1 : 0, key.rank, key.sequence),
  ]);
  return (applied?.meta.changes ?? 0) > 0;
}

export interface DialRecord {
  report: DialReport;
  endedAt: number;
  /** Set when the SIP leg to Retell failed: what the caller got instead. */
  failure?: { outcome: Extract<CallOutcome, "fallback_dialed" | "sip_failed">; reason: DialFailureReason };
}

/** Records how a dial ended: the Retell leg's status (and the outcome when it failed), or the fallback leg's status. */
export async function recordDialResult(db: D1Database, { report, endedAt, failure }: DialRecord): Promise<void> {
  const identity = [report.callSid, report.accountSid ?? null, report.from ?? null, report.to ?? null, report.agentKey] as const;
  const fillIdentity = `account_sid = COALESCE(calls.account_sid, excluded.account_sid),
         from_number = COALESCE(calls.from_number, excluded.from_number),
         to_number = COALESCE(calls.to_number, excluded.to_number),
         agent_key = COALESCE(calls.agent_key, excluded.agent_key),
         updated_at = excluded.updated_at`;
  if (report.leg === "fallback") {
    await db
      .prepare(
        `INSERT INTO calls (call_sid, account_sid, from_number, to_number, agent_key, fallback_status, fallback_ended_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?7)
         ON CONFLICT (call_sid) DO UPDATE SET
           fallback_status = excluded.fallback_status, fallback_ended_at = excluded.fallback_ended_at, ${fillIdentity}`,
      )
      .bind(...identity, report.status ?? null, endedAt)
      .run();
    return;
  }
  await db
    .prepare(
      `INSERT INTO calls (call_sid, account_sid, from_number, to_number, agent_key, dial_status, dial_sip_code, dial_duration_s, dial_ended_at,
         outcome, outcome_reason, created_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?9, ?9)
       ON CONFLICT (call_sid) DO UPDATE SET
         dial_status = excluded.dial_status, dial_sip_code = excluded.dial_sip_code,
         dial_duration_s = excluded.dial_duration_s, dial_ended_at = excluded.dial_ended_at,
         outcome = COALESCE(excluded.outcome, calls.outcome),
         outcome_reason = CASE WHEN excluded.outcome IS NULL THEN calls.outcome_reason ELSE excluded.outcome_reason END,
         ${fillIdentity}`,
    )
    .bind(...identity, report.status ?? null, report.sipCode ?? null, report.durationS ?? null, endedAt, failure?.outcome ?? null, failure?.reason ?? null)
    .run();
}

export type RetellEventResult = "recorded" | "unmatched";

/**
 * Joins a Retell event to its call: by the CallSid the bridge put in the call's metadata, else by the Retell
 * call id. A row whose registration is a different Retell call is left alone (see calls/replay.ts: two
 * overlapping webhooks can register twice, and only one registration is on record). Retell retries and repeats
 * events (https://docs.retellai.com/features/webhook), so values already known are kept unless the event has one.
 */
export async function recordRetellEvent(db: D1Database, e: RetellCallUpdate, receivedAt: number): Promise<RetellEventResult> {
  const callSid = e.twilioCallSid ?? (await db.prepare("SELECT call_sid FROM calls WHERE retell_call_id = ?").bind(e.callId).first<string>("call_sid"));
  if (!callSid) return "unmatched";
  const rank = (column: string) => rankSql(column, RETELL_STATUS_RANK);
  const result = await db
    .prepare(
      `INSERT INTO calls (call_sid, retell_call_id, retell_agent_id, from_number, to_number, retell_status, retell_started_at, retell_ended_at,
         retell_duration_ms, disconnection_reason, call_summary, user_sentiment, call_successful, retell_event_at, created_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14, ?14)
       ON CONFLICT (call_sid) DO UPDATE SET
         retell_call_id = excluded.retell_call_id,
         retell_agent_id = COALESCE(calls.retell_agent_id, excluded.retell_agent_id),
         from_number = COALESCE(calls.from_number, excluded.from_number),
         to_number = COALESCE(calls.to_number, excluded.to_number),
         retell_status = CASE WHEN ${rank("excluded.retell_status")} >= ${rank("calls.retell_status")} THEN excluded.retell_status ELSE calls.retell_status END,
         retell_started_at = COALESCE(excluded.retell_started_at, calls.retell_started_at),
         retell_ended_at = COALESCE(excluded.retell_ended_at, calls.retell_ended_at),
         retell_duration_ms = COALESCE(excluded.retell_duration_ms, calls.retell_duration_ms),
         disconnection_reason = COALESCE(excluded.disconnection_reason, calls.disconnection_reason),
         call_summary = COALESCE(excluded.call_summary, calls.call_summary),
         user_sentiment = COALESCE(excluded.user_sentiment, calls.user_sentiment),
         call_successful = COALESCE(excluded.call_successful, calls.call_successful),
         retell_event_at = excluded.retell_event_at,
         updated_at = excluded.updated_at
       WHERE calls.retell_call_id IS NULL OR calls.retell_call_id = excluded.retell_call_id`,
    )
    .bind(
      callSid,
      e.callId,
      e.retellAgentId ?? null,
      e.from ?? null,
      e.to ?? null,
      e.status ?? null,
      e.startedAt ?? null,
      e.endedAt ?? null,
      e.durationMs ?? null,
      e.disconnectionReason ?? null,
      e.summary ?? null,
      e.sentiment ?? null,
      e.successful === undefined ? null : e.successful ? 1 : 0,
      receivedAt,
    )
    .run();
  return result.meta.changes > 0 ? "recorded" : "unmatched";
}

export async function listCalls(db: D1Database, filter: CallListFilter): Promise<CallPage> {
  const { results } = await prepare(db, listCallsQuery(filter)).all<CallRow>();
  return callPage(results, filter.limit);
}

export async function callStats(db: D1Database, filter: StatsFilter): Promise<AgentStats[]> {
  const { results } = await prepare(db, statsQuery(filter)).all<StatsRow>();
  return toAgentStats(results);
}

/** Deletes records created before `cutoff` (ms), in batches; returns how many. */
export async function deleteCallsBefore(db: D1Database, cutoff: number): Promise<number> {
  let deleted = 0;
  for (let batch = 0; batch < PURGE_MAX_BATCHES; batch++) {
    const { meta } = await db
      .prepare("DELETE FROM calls WHERE rowid IN (SELECT rowid FROM calls WHERE created_at < ? LIMIT ?)")
      .bind(cutoff, PURGE_BATCH)
      .run();
    deleted += meta.changes;
    if (meta.changes < PURGE_BATCH) break;
  }
  return deleted;
}

/**
 * For the writes a caller must never wait on or lose a call over (voice webhook, dial-complete; run in
 * waitUntil): a D1 failure is logged, and the call has already gone on without its record.
 */
export async function writeOrLog(step: string, callSid: string, write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch (error) {
    log("error", "calls.record_failed", { step, callSid, detail: error instanceof Error ? error.message : String(error) });
  }
}
