/**
 * The copy of the line's changed calls to D1 (records/store.ts), from the object's alarm (line/alarm.ts). A call
 * is pending while its `calls` row's version is above copied_version (line/calls-table.ts); copy_failing_since
 * marks the first failed copy of a version, so a call D1 keeps refusing is retried for COPY_RETRY_WINDOW_MS, then
 * logged with its CallSid and given up on. Plain functions over the line object's SQLite storage.
 */
import { withDeadline } from "../deadline.ts";
import { log } from "../log.ts";
import { upsertCalls } from "../records/store.ts";
import { pendingCount, rowRecord, type CallRow } from "./calls-table.ts";

/**
 * Changes wait this long before their copy to D1, so a call's burst of events (answer, statuses, Retell) goes in one
 * batch. The tests alone shorten it (LINE_COPY_DELAY_MS in vitest.config.ts), so a test waiting for a record does not
 * wait out this second; deployed, the binding is unset and this holds.
 */
export const COPY_DELAY_MS = 1_000;
/** Calls per D1 batch: each upsert binds 44 values, and one batch is one D1 transaction. */
const COPY_BATCH = 50;
/** A copy slower than this counts as failed (D1 calls take no AbortSignal), so a hanging D1 is retried, not waited on. */
export const COPY_TIMEOUT_MS = 10_000;
/** How long a call that D1 keeps refusing is retried before it is logged and given up on. */
export const COPY_RETRY_WINDOW_MS = 24 * 60 * 60 * 1_000;

/** The copy delay: LINE_COPY_DELAY_MS when it is a whole number from 0 to COPY_DELAY_MS (tests only), else COPY_DELAY_MS. */
export function copyDelayMs(setting: string | undefined): number {
  const ms = setting !== undefined && /^\d+$/.test(setting) ? Number(setting) : NaN;
  return ms <= COPY_DELAY_MS ? ms : COPY_DELAY_MS;
}

type CopyRow = Pick<CallRow, "call_sid" | "record" | "version" | "copy_failing_since">;

export interface CopyResult {
  copied: number;
  failed: boolean;
  /** Calls still waiting for a copy after this one (more than one batch, or changes made meanwhile). */
  pending: number;
}

/**
 * Copies up to COPY_BATCH changed calls to `db` in one batch. On failure the calls stay pending; one that has
 * failed for COPY_RETRY_WINDOW_MS is logged with its CallSid and given up on.
 */
export async function copyToD1(sql: SqlStorage, db: D1Database, now: number, timeoutMs = COPY_TIMEOUT_MS): Promise<CopyResult> {
  const rows = sql
    .exec<CopyRow>(
      "SELECT call_sid, record, version, copy_failing_since FROM calls WHERE version > copied_version ORDER BY copy_failing_since IS NOT NULL, updated_at LIMIT ?",
      COPY_BATCH,
    )
    .toArray();
  if (rows.length === 0) return { copied: 0, failed: false, pending: 0 };
  const copy = (batch: CopyRow[]) => withDeadline(upsertCalls(db, batch.map(rowRecord)), timeoutMs, "D1 copy");
  let failed: CopyRow[] = [];
  let detail = "";
  try {
    await copy(rows);
  } catch (error) {
    detail = error instanceof Error ? error.message : String(error);
    failed = rows;
    // D1 answered but refused the batch: one call it refuses (a constraint) must not hold back the others,
    // so each is tried alone, calls that never failed first. Two refusals before any success mean D1 itself
    // is down, and the rest wait for the next round; a timeout says so at once.
    if (rows.length > 1 && !detail.includes("timed out")) {
      failed = [];
      let copiedAlone = 0;
      for (const [i, row] of rows.entries()) {
        if (copiedAlone === 0 && failed.length >= 2) {
          failed.push(...rows.slice(i));
          break;
        }
        try {
          await copy([row]);
          copiedAlone++;
        } catch {
          failed.push(row);
        }
      }
    }
  }
  for (const row of rows) {
    if (failed.includes(row)) continue;
    sql.exec("UPDATE calls SET copied_version = ?, copy_failing_since = NULL WHERE call_sid = ? AND copied_version < ?", row.version, row.call_sid, row.version);
  }
  if (failed.length > 0) failedCopy(sql, failed, now, detail);
  return { copied: rows.length - failed.length, failed: failed.length > 0, pending: pendingCount(sql) };
}

function failedCopy(sql: SqlStorage, rows: CopyRow[], now: number, detail: string): void {
  log("warn", "records.copy_failed", { calls: rows.length, detail });
  for (const row of rows) {
    const since = row.copy_failing_since ?? now;
    if (now - since >= COPY_RETRY_WINDOW_MS) {
      const record = rowRecord(row);
      log("error", "records.copy_abandoned", { callSid: row.call_sid, failingSince: new Date(since).toISOString(), outcome: record.outcome, detail });
      sql.exec("UPDATE calls SET copied_version = version, copy_failing_since = NULL WHERE call_sid = ?", row.call_sid);
    } else if (row.copy_failing_since === null) {
      sql.exec("UPDATE calls SET copy_failing_since = ? WHERE call_sid = ?", now, row.call_sid);
    }
  }
}
