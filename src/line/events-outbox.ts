/**
 * The line's event outbox (docs/events.md): which change of a call yields which event, each call's sequence
 * numbers, and sending what is pending to the events queue. Plain functions over the line object's SQLite storage.
 *
 * An event is written in the same synchronous step as the change it reports (line/object.ts `write`), so it is
 * durable exactly when the change is; the object's alarm sends it, as it copies the change to D1, and a failed
 * send stays in the outbox to be sent again, as a failed copy does. Nothing is sent for a state that is then lost,
 * and nothing is lost for a send that failed.
 *
 * Storage:
 *
 *   event_keys(call_sid, key,          -- what has been produced for the call: `call.started`, `transfer.ended#0`, …
 *              sequence)               -- the event's place among the call's events (1, 2, …)
 *   event_outbox(id INTEGER PRIMARY KEY AUTOINCREMENT,  -- the order events happened on this line
 *                event_id TEXT,        -- the webhook-id (msg_…)
 *                call_sid, sequence, type,  -- type: call.started, …, or retell.<event> for a Retell body passed through
 *                agent_key TEXT,       -- matched against endpoints' `agents`
 *                occurred_at INTEGER,
 *                record TEXT,          -- our events: the call's record at that moment (JSON)
 *                retell_signature TEXT, -- pass-through: Retell's own x-retell-signature
 *                send_failing_since INTEGER)
 *   event_raw(event_id, part, text)    -- Retell's raw body (pass-through, and call.analyzed's `retell`), in parts
 *                                      -- under SQLite's 2 MB row limit
 */
import { MAX_INLINE_BODY_BYTES, byteLength, type DeliveryMessage } from "./event-message.ts";
import { endpointWants, type EventType, type WebhookEndpoint } from "../records/endpoints.ts";
import { CALL_COLUMNS, type CallRecord } from "../records/list.ts";
import { bodyStatements, pendingStatements, type DeliveryKey } from "../records/deliveries.ts";
import { newMessageId } from "../standard-webhooks/sign.ts";
import { isFinished } from "./transitions.ts";

/** Events sent per round: each may fan out to several endpoints; more wait for the next round (the alarm runs again at once). */
const SEND_BATCH = 50;
/** Queues' sendBatch takes at most 100 messages and 256 KB (developers.cloudflare.com/queues/platform/limits). */
const QUEUE_BATCH_MESSAGES = 100;
const QUEUE_BATCH_BYTES = 240 * 1024;
/**
 * How long a line's object reuses the endpoints it read: its alarm runs about once a second while calls change, and
 * a KV read per round is a billed operation for a value that changes rarely (KV's own cache already lets a change
 * take up to a minute to reach every location).
 */
export const ENDPOINTS_MEMO_MS = 10_000;
/** Characters per `event_raw` part: even all 3-byte characters stay under SQLite's 2 MB row limit. */
const RAW_PART_CHARS = 500_000;

export function createEventTables(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS event_keys (
    call_sid TEXT NOT NULL, key TEXT NOT NULL, sequence INTEGER NOT NULL, PRIMARY KEY (call_sid, key))`);
  sql.exec(`CREATE TABLE IF NOT EXISTS event_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    call_sid TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    type TEXT NOT NULL,
    agent_key TEXT,
    occurred_at INTEGER NOT NULL,
    record TEXT,
    retell_signature TEXT,
    send_failing_since INTEGER)`);
  sql.exec("CREATE TABLE IF NOT EXISTS event_raw (event_id TEXT NOT NULL, part INTEGER NOT NULL, text TEXT NOT NULL, PRIMARY KEY (event_id, part))");
}

export interface ChangeEvent {
  type: EventType;
  /** Unique per call: the same change seen twice (a repeated callback) yields its event once. */
  key: string;
}

/**
 * The events a change from `before` to `after` reports: the voice answer decided (call.started), Twilio's final
 * status (call.ended), a transfer's update accepted by Twilio (transfer.started), a transfer's dial over
 * (transfer.ended). call.analyzed comes from Retell's event itself (retellEvent).
 */
export function changeEvents(before: CallRecord | null, after: CallRecord): ChangeEvent[] {
  const events: ChangeEvent[] = [];
  if ((before?.voiceAnsweredAt ?? null) === null && after.voiceAnsweredAt !== null) events.push({ type: "call.started", key: "call.started" });
  (after.transfers ?? []).forEach((attempt, i) => {
    const previous = before?.transfers?.[i];
    if (attempt.update === "accepted" && previous?.update !== "accepted") events.push({ type: "transfer.started", key: `transfer.started#${i}` });
    if (attempt.dialStatus !== null && (previous?.dialStatus ?? null) === null) events.push({ type: "transfer.ended", key: `transfer.ended#${i}` });
  });
  if (!(before && isFinished(before)) && isFinished(after)) events.push({ type: "call.ended", key: "call.ended" });
  return events;
}

export interface OutboxEvent {
  callSid: string;
  type: string;
  key: string;
  agentKey: string | null;
  occurredAt: number;
  /** Our events: the call's record at that moment. */
  record?: CallRecord;
  /** Retell's raw body: passed through (type retell.<event>), or call.analyzed's `retell`. */
  raw?: string;
  retellSignature?: string;
}

/** Adds an event unless its key was produced before for the call; returns its sequence number, or null for a repeat. */
export function addEvent(sql: SqlStorage, event: OutboxEvent): number | null {
  // The key and its sequence number in one statement: a repeat inserts nothing and returns no row.
  const added = sql
    .exec<{ sequence: number }>(
      `INSERT OR IGNORE INTO event_keys (call_sid, key, sequence)
         SELECT ?1, ?2, COALESCE(MAX(sequence), 0) + 1 FROM event_keys WHERE call_sid = ?1 RETURNING sequence`,
      event.callSid,
      event.key,
    )
    .toArray()[0];
  if (!added) return null;
  const n = added.sequence;
  const eventId = newMessageId();
  sql.exec(
    "INSERT INTO event_outbox (event_id, call_sid, sequence, type, agent_key, occurred_at, record, retell_signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    eventId,
    event.callSid,
    n,
    event.type,
    event.agentKey,
    event.occurredAt,
    event.record ? JSON.stringify(event.record) : null,
    event.retellSignature ?? null,
  );
  if (event.raw !== undefined) {
    for (let part = 0; part * RAW_PART_CHARS < event.raw.length || part === 0; part++) {
      sql.exec("INSERT INTO event_raw (event_id, part, text) VALUES (?, ?, ?)", eventId, part, event.raw.slice(part * RAW_PART_CHARS, (part + 1) * RAW_PART_CHARS));
    }
  }
  return n;
}

/** The events a change yields, added to the outbox in the order they happened. */
export function recordChangeEvents(sql: SqlStorage, before: CallRecord | null, after: CallRecord, now: number): void {
  for (const { type, key } of changeEvents(before, after)) addEvent(sql, { callSid: after.callSid, type, key, agentKey: after.agentKey, occurredAt: now, record: after });
}

/** Retell's request as it came: the raw body and signature; `passThrough` when an endpoint takes Retell's own bodies. */
export interface RetellRaw {
  body: string;
  signature: string;
  passThrough: boolean;
}

/** The Retell events the line keeps: call.analyzed (once per Retell call), and Retell's raw bodies for pass-through. */
export function recordRetellEvents(sql: SqlStorage, record: CallRecord, retell: RetellRaw & { event: string; callId: string }, now: number): void {
  if (retell.event === "call_analyzed") {
    addEvent(sql, { callSid: record.callSid, type: "call.analyzed", key: `call.analyzed#${retell.callId}`, agentKey: record.agentKey, occurredAt: now, record, raw: retell.body });
  }
  if (!retell.passThrough) return;
  // Retell's call events once per Retell call; its other events (transcript_updated, …) each time.
  const key = ["call_started", "call_ended", "call_analyzed"].includes(retell.event) ? `retell.${retell.event}#${retell.callId}` : `retell#${crypto.randomUUID()}`;
  addEvent(sql, { callSid: record.callSid, type: `retell.${retell.event}`, key, agentKey: record.agentKey, occurredAt: now, raw: retell.body, retellSignature: retell.signature });
}

/** The record exactly as GET /api/calls/:callSid returns it: every column, in its order, absent ones null. */
export function apiRecord(record: CallRecord): CallRecord {
  return Object.fromEntries(Object.keys(CALL_COLUMNS).map((field) => [field, record[field as keyof CallRecord] ?? null])) as unknown as CallRecord;
}

type OutboxRow = {
  id: number;
  event_id: string;
  call_sid: string;
  sequence: number;
  type: string;
  agent_key: string | null;
  occurred_at: number;
  record: string | null;
  retell_signature: string | null;
  send_failing_since: number | null;
};

function rawBody(sql: SqlStorage, eventId: string): string | undefined {
  const parts = sql.exec<{ text: string }>("SELECT text FROM event_raw WHERE event_id = ? ORDER BY part", eventId).toArray();
  return parts.length === 0 ? undefined : parts.map((p) => p.text).join("");
}

/** The exact body an event is sent with: Retell's own for pass-through, else `{type, timestamp, sequence, data[, retell]}`. */
function bodyOf(sql: SqlStorage, row: OutboxRow): string {
  const raw = rawBody(sql, row.event_id);
  if (row.type.startsWith("retell.")) return raw ?? "";
  const data = apiRecord(JSON.parse(row.record ?? "null") as CallRecord);
  const payload: Record<string, unknown> = { type: row.type, timestamp: new Date(row.occurred_at).toISOString(), sequence: row.sequence, data };
  if (row.type === "call.analyzed" && raw !== undefined) payload.retell = (JSON.parse(raw) as { call?: unknown }).call ?? null;
  return JSON.stringify(payload);
}

/** `load`, called at most once per ENDPOINTS_MEMO_MS; a failed load is not kept, so the next round reads again. */
export function endpointsMemo(load: () => Promise<WebhookEndpoint[]>, now: () => number = Date.now): () => Promise<WebhookEndpoint[]> {
  let kept: { endpoints: WebhookEndpoint[]; until: number } | null = null;
  return async () => {
    if (kept && now() < kept.until) return kept.endpoints;
    const endpoints = await load();
    kept = { endpoints, until: now() + ENDPOINTS_MEMO_MS };
    return endpoints;
  };
}

export interface EventSink {
  endpoints: () => Promise<WebhookEndpoint[]>;
  db: D1Database;
  queue: Queue;
}

export interface SendResult {
  sent: number;
  failed: boolean;
  /** Events still in the outbox after this round. */
  pending: number;
  detail?: string;
}

/**
 * Sends up to SEND_BATCH pending events: one message per matching endpoint, each delivery recorded pending in D1
 * first (with the body when too large for a message), then the messages; the events leave the outbox only once
 * all of that succeeded. A repeat after a partial failure records nothing twice; a message may be sent twice, and
 * receivers deduplicate on webhook-id (at-least-once, as Queues itself).
 */
export async function sendEvents(sql: SqlStorage, sink: EventSink, now: number): Promise<SendResult> {
  const rows = sql.exec<OutboxRow>("SELECT * FROM event_outbox ORDER BY id LIMIT ?", SEND_BATCH).toArray();
  if (rows.length === 0) return { sent: 0, failed: false, pending: 0 };
  try {
    const endpoints = await sink.endpoints();
    const keys: DeliveryKey[] = [];
    const statements: D1PreparedStatement[] = [];
    const messages: DeliveryMessage[] = [];
    for (const row of rows) {
      const kind = row.type.startsWith("retell.") ? "retell" : "standard";
      const matching = endpoints.filter((e) => endpointWants(e, { kind, type: row.type, agentKey: row.agent_key }));
      if (matching.length === 0) continue;
      const body = bodyOf(sql, row);
      const inline = byteLength(body) <= MAX_INLINE_BODY_BYTES;
      if (!inline) statements.push(...bodyStatements(sink.db, row.event_id, body, row.retell_signature ?? undefined, row.occurred_at));
      for (const endpoint of matching) {
        const key: DeliveryKey = { eventId: row.event_id, endpointId: endpoint.id, callSid: row.call_sid, sequence: row.sequence, type: row.type, createdAt: row.occurred_at };
        keys.push(key);
        messages.push({ ...key, ...(inline && { body }), ...(row.retell_signature && { retellSignature: row.retell_signature }) });
      }
    }
    if (keys.length > 0) await sink.db.batch([...pendingStatements(sink.db, keys, now), ...statements]);
    for (const chunk of queueBatches(messages)) await sink.queue.sendBatch(chunk.map((body) => ({ body, contentType: "json" })));
  } catch (error) {
    sql.exec(`UPDATE event_outbox SET send_failing_since = ? WHERE send_failing_since IS NULL AND id <= ?`, now, rows[rows.length - 1]?.id ?? 0);
    return { sent: 0, failed: true, pending: pendingEvents(sql), detail: error instanceof Error ? error.message : String(error) };
  }
  const last = rows[rows.length - 1]?.id ?? 0;
  sql.exec("DELETE FROM event_raw WHERE event_id IN (SELECT event_id FROM event_outbox WHERE id <= ?)", last);
  sql.exec("DELETE FROM event_outbox WHERE id <= ?", last);
  return { sent: rows.length, failed: false, pending: pendingEvents(sql) };
}

/** Messages in sendBatch-sized chunks (count and bytes). */
function queueBatches(messages: DeliveryMessage[]): DeliveryMessage[][] {
  const chunks: DeliveryMessage[][] = [];
  let current: DeliveryMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = byteLength(JSON.stringify(message));
    if (current.length > 0 && (current.length >= QUEUE_BATCH_MESSAGES || bytes + size > QUEUE_BATCH_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export function pendingEvents(sql: SqlStorage): number {
  return sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM event_outbox").one().n;
}

/** When the oldest pending event first failed to send, or null. */
export function sendFailingSince(sql: SqlStorage): number | null {
  return sql.exec<{ since: number | null }>("SELECT MIN(send_failing_since) AS since FROM event_outbox").one().since;
}

/** Forgets the keys of calls the line no longer holds and that have no event waiting. */
export function forgetEventKeys(sql: SqlStorage): number {
  return sql.exec("DELETE FROM event_keys WHERE call_sid NOT IN (SELECT call_sid FROM calls) AND call_sid NOT IN (SELECT call_sid FROM event_outbox)").rowsWritten;
}
