/**
 * The line's calls: one row per call it holds, the live record copied to D1 (line/d1-copy.ts) and forgotten once
 * the call is over and copied. Plain functions over the line object's SQLite storage (line/object.ts).
 *
 *   calls(call_sid TEXT PRIMARY KEY,
 *         record TEXT NOT NULL,        -- JSON CallRecord (records/list.ts): exactly the row copied to D1
 *         claim_token TEXT,            -- set while one voice webhook registers the call; NULL once it has answered (line/claims.ts)
 *         claimed_at INTEGER,          -- when that claim was taken (ms)
 *         version INTEGER NOT NULL,    -- bumped by every change to `record`
 *         copied_version INTEGER NOT NULL,  -- the version last copied to D1 (or given up on)
 *         copy_failing_since INTEGER,  -- first failed copy of a version not yet copied
 *         finished_at INTEGER,         -- when Twilio reported the call over
 *         updated_at INTEGER NOT NULL,
 *         hook_answer TEXT)            -- JSON StoredHook (line/stored-hook.ts): the pre-call hook's first answer for
 *                                      -- the call, so no later leg asks again; never copied to D1 nor logged
 *
 * Every change to a record goes through writeCall, which bumps its version (so the next copy takes it) and writes
 * the call events the change makes beside it (line/events-outbox.ts), in the same synchronous step.
 */
import type { CallRecord } from "../records/list.ts";
import type { StoredHook } from "./stored-hook.ts";
import { recordChangeEvents } from "./events-outbox.ts";
import { isFinished } from "./transitions.ts";

/**
 * A claim older than this belongs to a webhook that can no longer be answering: Twilio gives up on a webhook
 * after 15 s (its "hard upper timeout"), so a later webhook for the call may register it anew.
 */
export const CLAIM_TTL_MS = 15_000;
/** A finished call is kept this long after Twilio's final status, for late callbacks (Retell's call_analyzed comes minutes later). */
export const FINISHED_GRACE_MS = 60 * 60 * 1_000;
/** A call with no final status (no status callback configured) is forgotten this long after its last event: Twilio ends calls after 4 h by default. */
export const STALE_CALL_MS = 6 * 60 * 60 * 1_000;

export type CallRow = {
  call_sid: string;
  record: string;
  claim_token: string | null;
  claimed_at: number | null;
  version: number;
  copied_version: number;
  copy_failing_since: number | null;
  finished_at: number | null;
  updated_at: number;
  hook_answer: string | null;
};

/** A claim on the call, written with its record (line/claims.ts). */
export interface Claim {
  claim_token: string | null;
  claimed_at: number | null;
}

export function createCallsTable(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS calls (
      call_sid TEXT PRIMARY KEY NOT NULL,
      record TEXT NOT NULL,
      claim_token TEXT,
      claimed_at INTEGER,
      version INTEGER NOT NULL,
      copied_version INTEGER NOT NULL DEFAULT 0,
      copy_failing_since INTEGER,
      finished_at INTEGER,
      updated_at INTEGER NOT NULL,
      hook_answer TEXT
    )`);
  keepHookAnswersInCalls(sql);
}

/**
 * Lines created before the hook's answer lived on the call's row kept it in a table of its own (hook_answers): the
 * column is added and those answers moved onto their calls' rows, once, when such a line's object starts.
 */
function keepHookAnswersInCalls(sql: SqlStorage): void {
  const columns = sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('calls')").toArray();
  if (!columns.some((c) => c.name === "hook_answer")) sql.exec("ALTER TABLE calls ADD COLUMN hook_answer TEXT");
  if (sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'hook_answers'").toArray().length === 0) return;
  sql.exec("UPDATE calls SET hook_answer = (SELECT stored FROM hook_answers h WHERE h.call_sid = calls.call_sid) WHERE hook_answer IS NULL");
  sql.exec("DROP TABLE hook_answers");
}

/** The pre-call hook's answer kept on the call's row, or null when no hook was asked for the call. */
export function rowHook(row: Pick<CallRow, "hook_answer">): StoredHook | null {
  return row.hook_answer === null ? null : (JSON.parse(row.hook_answer) as StoredHook);
}

/** The pre-call hook's answer for a call the line holds, read alone (not the record beside it). */
export function readHook(sql: SqlStorage, callSid: string): StoredHook | null {
  const row = sql.exec<Pick<CallRow, "hook_answer">>("SELECT hook_answer FROM calls WHERE call_sid = ?", callSid).toArray()[0];
  return row ? rowHook(row) : null;
}

export function callRow(sql: SqlStorage, callSid: string): CallRow | null {
  return sql.exec<CallRow>("SELECT * FROM calls WHERE call_sid = ?", callSid).toArray()[0] ?? null;
}

export function rowRecord(row: Pick<CallRow, "record">): CallRecord {
  return JSON.parse(row.record) as CallRecord;
}

/** The call's live record, or null when the line does not hold it (never seen, or forgotten once over). */
export function readCall(sql: SqlStorage, callSid: string): CallRecord | null {
  const row = callRow(sql, callSid);
  return row ? rowRecord(row) : null;
}

/**
 * Writes a changed record (bumping its version, so the next copy takes it), the claim when given, and the hook's
 * answer when given and the call has none yet (the first answer is the one every leg uses).
 */
export function writeCall(sql: SqlStorage, callSid: string, record: CallRecord, row: CallRow | null, claim?: Claim, hook?: StoredHook): void {
  const claimToken = claim ? claim.claim_token : (row?.claim_token ?? null);
  const hookAnswer = row?.hook_answer ?? (hook ? JSON.stringify(hook) : null);
  const claimedAt = claim ? claim.claimed_at : (row?.claimed_at ?? null);
  const finishedAt = row?.finished_at ?? (isFinished(record) ? record.updatedAt : null);
  recordChangeEvents(sql, row ? rowRecord(row) : null, record, Date.now());
  sql.exec(
    `INSERT INTO calls (call_sid, record, claim_token, claimed_at, version, copied_version, finished_at, updated_at, hook_answer)
       VALUES (?1, ?2, ?3, ?4, 1, 0, ?5, ?6, ?7)
       ON CONFLICT (call_sid) DO UPDATE SET record = ?2, claim_token = ?3, claimed_at = ?4, version = version + 1,
         finished_at = ?5, updated_at = ?6, hook_answer = ?7`,
    callSid,
    JSON.stringify(record),
    claimToken,
    claimedAt,
    finishedAt,
    record.updatedAt,
    hookAnswer,
  );
}

/** Calls whose latest version is not yet copied to D1. */
export function pendingCount(sql: SqlStorage): number {
  return sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM calls WHERE version > copied_version").one().n;
}

/** Forgets calls copied to D1 that are over (past FINISHED_GRACE_MS) or silent for STALE_CALL_MS; returns how many. */
export function forgetFinished(sql: SqlStorage, now: number): number {
  return sql.exec(
    `DELETE FROM calls WHERE version <= copied_version AND (claim_token IS NULL OR claimed_at <= ?)
         AND ((finished_at IS NOT NULL AND finished_at <= ?) OR updated_at <= ?)`,
    now - CLAIM_TTL_MS,
    now - FINISHED_GRACE_MS,
    now - STALE_CALL_MS,
  ).rowsWritten;
}

/** When the next call may be forgotten, or null when the line holds none. */
export function nextForgetAt(sql: SqlStorage): number | null {
  const { due } = sql
    .exec<{ due: number | null }>(
      "SELECT MIN(MIN(COALESCE(finished_at + ?, updated_at + ?), updated_at + ?)) AS due FROM calls",
      FINISHED_GRACE_MS,
      STALE_CALL_MS,
      STALE_CALL_MS,
    )
    .one();
  return due;
}
