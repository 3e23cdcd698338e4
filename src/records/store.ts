/**
 * The `calls` table in D1 (migrations/0001_calls.sql, docs/storage.md): the copy of every call that the admin
 * API, `npm run calls`, stats and retention read.
 *
 * D1 is fed only by the line objects (line/d1-copy.ts), each the single writer of its own calls, so a copy is a
 * plain upsert of the whole record: the object has already ordered Twilio's and Retell's callbacks. D1 retries
 * only read-only queries, never writes (https://developers.cloudflare.com/changelog/2025-09-11-d1-automatic-read-retries);
 * the object retries a failed copy from its alarm, and each copy is safe to repeat.
 */
import { CALL_COLUMNS, callPage, getCallQuery, listCallsQuery, toCallRecord, type CallListFilter, type CallPage, type CallRecord, type CallRow } from "./list.ts";
import type { SqlQuery } from "./sql.ts";
import { statsQuery, toAgentStats, type AgentStats, type StatsFilter, type StatsRow } from "./stats.ts";

/** Rows deleted per retention statement: small enough for one D1 statement, large enough to finish in few. */
const PURGE_BATCH = 5_000;
/** Retention statements per run, so a first purge of a huge table cannot run past a cron invocation's limits. */
const PURGE_MAX_BATCHES = 200;

function prepare(db: D1Database, query: SqlQuery): D1PreparedStatement {
  return db.prepare(query.sql).bind(...query.params);
}

const FIELDS = Object.keys(CALL_COLUMNS) as (keyof CallRecord)[];
/**
 * The upsert of a whole record. A copy whose record was created later than the stored row's is not applied: the
 * line forgot the call and a later event (a replay) made a new, emptier record of it, which must not replace
 * the complete one nor restart its retention. Every copy of one living record keeps its first `created_at`
 * (the transitions only ever lower it), so its copies always apply.
 */
const UPSERT_SQL = (() => {
  const columns = FIELDS.map((field) => CALL_COLUMNS[field]);
  const updates = columns.filter((column) => column !== "call_sid").map((column) => `${column} = excluded.${column}`);
  return `INSERT INTO calls (${columns.join(", ")}) VALUES (${columns.map((_, i) => `?${i + 1}`).join(", ")})
    ON CONFLICT (call_sid) DO UPDATE SET ${updates.join(", ")} WHERE excluded.created_at <= calls.created_at`;
})();

/** Writes whole records, in one batch (D1 runs a batch as one transaction). */
export async function upsertCalls(db: D1Database, records: readonly CallRecord[]): Promise<void> {
  if (records.length === 0) return;
  const statement = db.prepare(UPSERT_SQL);
  await db.batch(
    records.map((record) =>
      statement.bind(
        ...FIELDS.map((field) => {
          const value = record[field];
          // A record stored before a column existed lacks its field: NULL, as the column's default.
          if (value === undefined) return null;
          if (Array.isArray(value) || (typeof value === "object" && value !== null)) return JSON.stringify(value);
          return typeof value === "boolean" ? (value ? 1 : 0) : value;
        }),
      ),
    ),
  );
}

export async function listCalls(db: D1Database, filter: CallListFilter): Promise<CallPage> {
  const { results } = await prepare(db, listCallsQuery(filter)).all<CallRow>();
  return callPage(results, filter.limit);
}

export async function getCall(db: D1Database, callSid: string): Promise<CallRecord | null> {
  const row = await prepare(db, getCallQuery(callSid)).first<CallRow>();
  return row ? toCallRecord(row) : null;
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
