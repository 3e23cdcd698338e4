/**
 * The `deliveries` and `event_bodies` tables in D1 (migrations/0005_deliveries.sql, docs/storage.md): the state of
 * each call event's delivery to each endpoint, written pending by the line's event outbox and updated by the
 * queue consumer; bodies too large for a queue message, and those of failed deliveries, for replay.
 */

import type { Delivery, DeliveryState } from "./delivery.ts";

export { DELIVERY_STATES, type Delivery, type DeliveryState } from "./delivery.ts";

export interface DeliveryKey {
  eventId: string;
  endpointId: string;
  callSid: string;
  sequence: number;
  type: string;
  createdAt: number;
}

type DeliveryRow = {
  event_id: string;
  endpoint_id: string;
  call_sid: string;
  sequence: number;
  type: string;
  state: DeliveryState;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  next_attempt_at: number | null;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
};

/** Characters per `event_bodies` part: even all 3-byte characters stay under D1's 2 MB row limit. */
const BODY_PART_CHARS = 500_000;
/** Rows per listing page. */
export const MAX_DELIVERY_LIST = 200;
const PURGE_BATCH = 5_000;
const PURGE_MAX_BATCHES = 200;

function toDelivery(row: DeliveryRow): Delivery {
  return {
    eventId: row.event_id,
    endpointId: row.endpoint_id,
    callSid: row.call_sid,
    sequence: row.sequence,
    type: row.type,
    state: row.state,
    attempts: row.attempts,
    lastStatus: row.last_status,
    lastError: row.last_error,
    nextAttemptAt: row.next_attempt_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deliveredAt: row.delivered_at,
  };
}

/** Statements recording deliveries as pending (a repeat changes nothing): run in the same batch as their bodies. */
export function pendingStatements(db: D1Database, keys: readonly DeliveryKey[], now: number): D1PreparedStatement[] {
  const statement = db.prepare(
    `INSERT INTO deliveries (event_id, endpoint_id, call_sid, sequence, type, state, attempts, next_attempt_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?) ON CONFLICT (event_id, endpoint_id) DO NOTHING`,
  );
  return keys.map((k) => statement.bind(k.eventId, k.endpointId, k.callSid, k.sequence, k.type, now, k.createdAt, now));
}

/** Statements storing a body in parts (a repeat rewrites the same parts). */
export function bodyStatements(db: D1Database, eventId: string, body: string, retellSignature: string | undefined, createdAt: number): D1PreparedStatement[] {
  const statement = db.prepare("INSERT OR REPLACE INTO event_bodies (event_id, part, text, retell_signature, created_at) VALUES (?, ?, ?, ?, ?)");
  const statements: D1PreparedStatement[] = [];
  for (let part = 0; part * BODY_PART_CHARS < body.length || part === 0; part++) {
    statements.push(statement.bind(eventId, part, body.slice(part * BODY_PART_CHARS, (part + 1) * BODY_PART_CHARS), retellSignature ?? null, createdAt));
  }
  return statements;
}

/** A stored body, or null when none is stored for the event. */
export async function readBody(db: D1Database, eventId: string): Promise<{ body: string; retellSignature?: string } | null> {
  const { results } = await db
    .prepare("SELECT text, retell_signature FROM event_bodies WHERE event_id = ? ORDER BY part")
    .bind(eventId)
    .all<{ text: string; retell_signature: string | null }>();
  const first = results[0];
  if (!first) return null;
  const body = results.map((r) => r.text).join("");
  return first.retell_signature ? { body, retellSignature: first.retell_signature } : { body };
}

/** The earliest delivery of the same call to the same endpoint still pending before `sequence`, if any. */
export async function earlierPending(db: D1Database, key: Pick<DeliveryKey, "callSid" | "endpointId" | "sequence">): Promise<{ sequence: number; nextAttemptAt: number | null } | null> {
  const row = await db
    .prepare("SELECT sequence, next_attempt_at FROM deliveries WHERE call_sid = ? AND endpoint_id = ? AND sequence < ? AND state = 'pending' ORDER BY sequence LIMIT 1")
    .bind(key.callSid, key.endpointId, key.sequence)
    .first<{ sequence: number; next_attempt_at: number | null }>();
  return row ? { sequence: row.sequence, nextAttemptAt: row.next_attempt_at } : null;
}

export interface AttemptRecord {
  state: DeliveryState;
  status: number | null;
  error: string | null;
  nextAttemptAt: number | null;
}

/** Records one attempt (creating the row if the outbox's has not arrived); returns the attempts made so far. */
export async function recordAttempt(db: D1Database, key: DeliveryKey, attempt: AttemptRecord, now: number): Promise<number> {
  const row = await db
    .prepare(
      `INSERT INTO deliveries (event_id, endpoint_id, call_sid, sequence, type, state, attempts, last_status, last_error, next_attempt_at, created_at, updated_at, delivered_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, ?9, ?10, ?11, ?12)
       ON CONFLICT (event_id, endpoint_id) DO UPDATE SET
         state = CASE WHEN deliveries.state = 'delivered' THEN 'delivered' ELSE excluded.state END,
         attempts = deliveries.attempts + 1, last_status = excluded.last_status, last_error = excluded.last_error,
         next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at,
         delivered_at = COALESCE(deliveries.delivered_at, excluded.delivered_at)
       RETURNING attempts`,
    )
    .bind(
      key.eventId,
      key.endpointId,
      key.callSid,
      key.sequence,
      key.type,
      attempt.state,
      attempt.status,
      attempt.error,
      attempt.nextAttemptAt,
      key.createdAt,
      now,
      attempt.state === "delivered" ? now : null,
    )
    .first<{ attempts: number }>();
  return row?.attempts ?? 1;
}

/** When a pending delivery is tried next (ms). */
export async function scheduleNext(db: D1Database, key: Pick<DeliveryKey, "eventId" | "endpointId">, at: number): Promise<void> {
  await db.prepare("UPDATE deliveries SET next_attempt_at = ? WHERE event_id = ? AND endpoint_id = ? AND state = 'pending'").bind(at, key.eventId, key.endpointId).run();
}

/** Marks a delivery failed (never one already delivered), keeping its body for replay; `error` null keeps the last attempt's. */
export async function markFailed(db: D1Database, key: DeliveryKey, error: string | null, body: { body: string; retellSignature?: string } | null, now: number): Promise<void> {
  const statements = [
    db
      .prepare(
        `INSERT INTO deliveries (event_id, endpoint_id, call_sid, sequence, type, state, attempts, last_error, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'failed', 0, COALESCE(?6, 'gave up'), ?7, ?8)
         ON CONFLICT (event_id, endpoint_id) DO UPDATE SET
           state = CASE WHEN deliveries.state = 'delivered' THEN 'delivered' ELSE 'failed' END,
           last_error = CASE WHEN deliveries.state = 'delivered' OR ?6 IS NULL THEN COALESCE(deliveries.last_error, excluded.last_error) ELSE excluded.last_error END,
           next_attempt_at = NULL, updated_at = excluded.updated_at`,
      )
      .bind(key.eventId, key.endpointId, key.callSid, key.sequence, key.type, error, key.createdAt, now),
  ];
  if (body) statements.push(...bodyStatements(db, key.eventId, body.body, body.retellSignature, key.createdAt));
  await db.batch(statements);
}

/** The deliveries of one event (every endpoint), for replay. */
export async function deliveriesOf(db: D1Database, eventId: string): Promise<Delivery[]> {
  const { results } = await db.prepare("SELECT * FROM deliveries WHERE event_id = ? ORDER BY endpoint_id").bind(eventId).all<DeliveryRow>();
  return results.map(toDelivery);
}

/** A delivery about to be replayed: pending again, its attempts counted afresh. */
export async function resetForReplay(db: D1Database, eventId: string, endpointId: string, now: number): Promise<void> {
  await db
    .prepare("UPDATE deliveries SET state = 'pending', attempts = 0, last_error = NULL, next_attempt_at = ?, updated_at = ? WHERE event_id = ? AND endpoint_id = ?")
    .bind(now, now, eventId, endpointId)
    .run();
}

export interface DeliveryFilter {
  state?: DeliveryState;
  callSid?: string;
  eventId?: string;
  limit: number;
}

/** Newest first. */
export async function listDeliveries(db: D1Database, filter: DeliveryFilter): Promise<Delivery[]> {
  const conditions: [string, string | undefined][] = [
    ["state = ?", filter.state],
    ["call_sid = ?", filter.callSid],
    ["event_id = ?", filter.eventId],
  ];
  const used = conditions.filter((c): c is [string, string] => c[1] !== undefined);
  const where = used.map(([sql]) => sql);
  const params = used.map(([, value]) => value);
  const { results } = await db
    .prepare(`SELECT * FROM deliveries ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at DESC, sequence DESC LIMIT ?`)
    .bind(...params, Math.min(filter.limit, MAX_DELIVERY_LIST))
    .all<DeliveryRow>();
  return results.map(toDelivery);
}

export type DeliveryCounts = Record<DeliveryState, number>;

/** Deliveries of events that happened in [since, until), by state. */
export async function deliveryCounts(db: D1Database, window: { since: number; until: number }): Promise<DeliveryCounts> {
  const { results } = await db
    .prepare("SELECT state, COUNT(*) AS n FROM deliveries WHERE created_at >= ? AND created_at < ? GROUP BY state")
    .bind(window.since, window.until)
    .all<{ state: DeliveryState; n: number }>();
  const counts: DeliveryCounts = { pending: 0, delivered: 0, failed: 0 };
  for (const row of results) if (row.state in counts) counts[row.state] = row.n;
  return counts;
}

/** Deletes deliveries and bodies of events that happened before `cutoff` (ms), in batches; returns the deliveries deleted. */
export async function deleteDeliveriesBefore(db: D1Database, cutoff: number): Promise<number> {
  let deleted = 0;
  for (const table of ["deliveries", "event_bodies"]) {
    for (let batch = 0; batch < PURGE_MAX_BATCHES; batch++) {
      const { meta } = await db.prepare(`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE created_at < ? LIMIT ?)`).bind(cutoff, PURGE_BATCH).run();
      if (table === "deliveries") deleted += meta.changes;
      if (meta.changes < PURGE_BATCH) break;
    }
  }
  return deleted;
}
