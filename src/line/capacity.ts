/**
 * A line's AI capacity and its hold queue: plain functions over the line object's SQLite storage (line/object.ts),
 * each a synchronous read-and-write with no await inside, so concurrent webhooks on the line can never overshoot
 * the limit or jump the queue (the object runs one method's synchronous part at a time).
 *
 *   ai_legs(call_sid TEXT PRIMARY KEY,
 *           since INTEGER NOT NULL,       -- when the call took its place (ms)
 *           connected INTEGER NOT NULL,   -- 0 while it registers with Retell, 1 once its AI leg is dialed
 *           expires_at INTEGER NOT NULL)  -- given up then if no dial-complete or final status has freed it
 *   hold_queue(call_sid TEXT PRIMARY KEY,
 *           arrived_at INTEGER NOT NULL,  -- when the call reached us: the queue's order
 *           queued_at INTEGER NOT NULL,   -- when it was put on hold: maxHoldSeconds counts from here
 *           max_hold_ms INTEGER NOT NULL,
 *           max_calls INTEGER,            -- the agent's maxConcurrentCalls; NULL: only Retell's own limit
 *           state TEXT NOT NULL,          -- waiting | admitted | timed_out | abandoned
 *           left_at INTEGER)              -- when the caller left the queue (the Enqueue action came)
 *
 * A place is taken by the voice webhook holding the call's claim (admitCall) or by the queue's first caller on a
 * waitUrl request (holdTurn); it is given back when Retell refuses the registration, when the AI leg's dial
 * ends (dial-complete), when Twilio reports the call over, or at `expires_at`.
 */

/** A place taken by a webhook that never answered is given back after this: the claim's own life (calls-table.ts CLAIM_TTL_MS). */
export const REGISTERING_TTL_MS = 15_000;
/** A connected leg no callback has freed is given back after Twilio's own longest call (4 h) and a margin. */
export const CONNECTED_TTL_MS = 4 * 60 * 60 * 1_000 + 60_000;
/** A held caller whose queue never reported back (no waitUrl, no action) stops holding up the queue this long after its limit. */
export const HOLD_GRACE_MS = 60_000;
/** A row for a caller who has left the queue is kept this long, so a repeat of the Enqueue action gets the same answer. */
export const LEFT_TTL_MS = 60 * 60 * 1_000;

export type Admission =
  /** The call has its place: register it. `connected`: the line's AI legs with this one. */
  | { kind: "admitted"; connected: number }
  /** Over the limit, or others are waiting: hold it. `position`: 1 for the first in the queue. */
  | { kind: "queued"; position: number };

export type HoldTurn =
  /** The caller's turn has come (a place is theirs) or their time is up: `<Leave>`, and the action decides. */
  | { kind: "leave"; state: "admitted" | "timed_out" }
  | { kind: "wait"; position: number }
  /** The line holds no such caller (never queued, or forgotten): `<Leave>` too, and the action sends it on. */
  | { kind: "unknown" };

export type HoldExit =
  | { kind: "admitted"; heldMs: number }
  | { kind: "timed_out"; heldMs: number }
  | { kind: "abandoned"; heldMs: number }
  | { kind: "unknown" };

export interface HoldSettings {
  /** The agent's maxConcurrentCalls, or null for a call held only because Retell refused it for capacity. */
  maxCalls: number | null;
  maxHoldMs: number;
}

type HoldRow = { call_sid: string; arrived_at: number; queued_at: number; max_hold_ms: number; max_calls: number | null; state: string; left_at: number | null };

export function createCapacityTables(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS ai_legs (
    call_sid TEXT PRIMARY KEY NOT NULL,
    since INTEGER NOT NULL,
    connected INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  )`);
  sql.exec(`CREATE TABLE IF NOT EXISTS hold_queue (
    call_sid TEXT PRIMARY KEY NOT NULL,
    arrived_at INTEGER NOT NULL,
    queued_at INTEGER NOT NULL,
    max_hold_ms INTEGER NOT NULL,
    max_calls INTEGER,
    state TEXT NOT NULL,
    left_at INTEGER
  )`);
}

/** Gives back places and queue rows nothing will ever free: see the constants above. */
function expire(sql: SqlStorage, now: number): void {
  sql.exec("DELETE FROM ai_legs WHERE expires_at <= ?", now);
  sql.exec("DELETE FROM hold_queue WHERE state = 'waiting' AND queued_at + max_hold_ms + ? <= ?", HOLD_GRACE_MS, now);
  sql.exec("DELETE FROM hold_queue WHERE state <> 'waiting' AND COALESCE(left_at, queued_at + max_hold_ms) + ? <= ?", LEFT_TTL_MS, now);
}

/** The line's calls with a place now: registering with Retell or connected to an AI leg. */
export function connectedCount(sql: SqlStorage): number {
  return sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM ai_legs").one().n;
}

function waitingAhead(sql: SqlStorage, row: Pick<HoldRow, "arrived_at" | "call_sid"> | null): number {
  if (!row) return sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM hold_queue WHERE state = 'waiting'").one().n;
  return sql
    .exec<{ n: number }>(
      "SELECT COUNT(*) AS n FROM hold_queue WHERE state = 'waiting' AND (arrived_at < ? OR (arrived_at = ? AND call_sid < ?))",
      row.arrived_at,
      row.arrived_at,
      row.call_sid,
    )
    .one().n;
}

function holdRow(sql: SqlStorage, callSid: string): HoldRow | null {
  return sql.exec<HoldRow>("SELECT * FROM hold_queue WHERE call_sid = ?", callSid).toArray()[0] ?? null;
}

function takePlace(sql: SqlStorage, callSid: string, now: number): void {
  sql.exec(
    "INSERT INTO ai_legs (call_sid, since, connected, expires_at) VALUES (?, ?, 0, ?) ON CONFLICT (call_sid) DO NOTHING",
    callSid,
    now,
    now + REGISTERING_TTL_MS,
  );
}

/** Holds the call; one held before (its turn came, then Retell refused it) keeps its place in line and its hold time so far. */
function enqueue(sql: SqlStorage, callSid: string, arrivedAt: number, now: number, hold: HoldSettings): number {
  sql.exec(
    `INSERT INTO hold_queue (call_sid, arrived_at, queued_at, max_hold_ms, max_calls, state) VALUES (?, ?, ?, ?, ?, 'waiting')
     ON CONFLICT (call_sid) DO UPDATE SET state = 'waiting', left_at = NULL`,
    callSid,
    arrivedAt,
    now,
    hold.maxHoldMs,
    hold.maxCalls,
  );
  return waitingAhead(sql, { arrived_at: arrivedAt, call_sid: callSid }) + 1;
}

/**
 * The check-and-set of a new call against the agent's maxConcurrentCalls: it takes a place when there is one and
 * nobody is waiting (callers leave the queue in the order they arrived), else it joins the queue. Repeats for the
 * same CallSid (a retried webhook) get the same answer.
 */
export function admitCall(sql: SqlStorage, callSid: string, arrivedAt: number, now: number, hold: HoldSettings & { maxCalls: number }): Admission {
  expire(sql, now);
  const existing = holdRow(sql, callSid);
  if (existing?.state === "waiting") return { kind: "queued", position: waitingAhead(sql, existing) + 1 };
  const held = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM ai_legs WHERE call_sid = ?", callSid).one().n > 0;
  if (held) return { kind: "admitted", connected: connectedCount(sql) };
  if (connectedCount(sql) < hold.maxCalls && waitingAhead(sql, null) === 0) {
    takePlace(sql, callSid, now);
    return { kind: "admitted", connected: connectedCount(sql) };
  }
  return { kind: "queued", position: enqueue(sql, callSid, arrivedAt, now, hold) };
}

/** Retell refused the call for capacity: its place (if it had one) is given back and it is held, in arrival order. */
export function holdRefused(sql: SqlStorage, callSid: string, arrivedAt: number, now: number, hold: HoldSettings): Admission {
  expire(sql, now);
  sql.exec("DELETE FROM ai_legs WHERE call_sid = ?", callSid);
  return { kind: "queued", position: enqueue(sql, callSid, arrivedAt, now, hold) };
}

/** The registration ended: a connected call keeps its place until its dial ends; any other gives it back. */
export function settlePlace(sql: SqlStorage, callSid: string, connected: boolean, now: number, legTtlMs = CONNECTED_TTL_MS): void {
  if (connected) sql.exec("UPDATE ai_legs SET connected = 1, expires_at = ? WHERE call_sid = ?", now + legTtlMs, callSid);
  else sql.exec("DELETE FROM ai_legs WHERE call_sid = ?", callSid);
}

/** The AI leg's dial ended, or the call is over: its place is free for the next caller. */
export function freePlace(sql: SqlStorage, callSid: string): boolean {
  return sql.exec("DELETE FROM ai_legs WHERE call_sid = ?", callSid).rowsWritten > 0;
}

/**
 * A waitUrl request: Twilio asks what a held caller hears next. Their time is up after max_hold_ms; otherwise the
 * first caller waiting takes a place when there is one under the limit, and everyone else waits their turn.
 */
export function holdTurn(sql: SqlStorage, callSid: string, now: number): HoldTurn {
  expire(sql, now);
  const row = holdRow(sql, callSid);
  if (!row) return { kind: "unknown" };
  if (row.state === "admitted" || row.state === "timed_out") return { kind: "leave", state: row.state };
  if (row.state !== "waiting") return { kind: "unknown" };
  if (now - row.queued_at >= row.max_hold_ms) {
    sql.exec("UPDATE hold_queue SET state = 'timed_out' WHERE call_sid = ?", callSid);
    return { kind: "leave", state: "timed_out" };
  }
  const ahead = waitingAhead(sql, row);
  if (ahead === 0 && (row.max_calls === null || connectedCount(sql) < row.max_calls)) {
    takePlace(sql, callSid, now);
    sql.exec("UPDATE hold_queue SET state = 'admitted' WHERE call_sid = ?", callSid);
    return { kind: "leave", state: "admitted" };
  }
  return { kind: "wait", position: ahead + 1 };
}

/**
 * The Enqueue action: the caller has left the queue. `result` is Twilio's QueueResult: `leave` after our `<Leave>`
 * (the caller's place, or their time up), `hangup` when they hung up while held; any other (`queue-full`,
 * `error`, `system-shutdown`, …) sends them on as a timeout does. A repeat gets the first answer.
 */
export function leaveHold(sql: SqlStorage, callSid: string, result: string, now: number): HoldExit {
  const row = holdRow(sql, callSid);
  if (!row) return { kind: "unknown" };
  const leftAt = row.left_at ?? now;
  const heldMs = Math.max(0, leftAt - row.queued_at);
  let state = row.state;
  if (state === "waiting") {
    // Hung up (or sent on) before their turn: whatever place they might have taken stays free.
    state = result === "hangup" ? "abandoned" : "timed_out";
  } else if (state === "admitted" && result === "hangup" && row.left_at === null) {
    // Their turn came, but they hung up before the action: the place goes back.
    freePlace(sql, callSid);
    state = "abandoned";
  }
  sql.exec("UPDATE hold_queue SET state = ?, left_at = ? WHERE call_sid = ?", state, leftAt, callSid);
  if (state === "admitted") return { kind: "admitted", heldMs };
  if (state === "abandoned") return { kind: "abandoned", heldMs };
  return { kind: "timed_out", heldMs };
}

/**
 * Twilio reported the call over: its place is free. A caller still waiting hung up while held (the final status
 * may come before the Enqueue action's `hangup`): they are abandoned, after the time they held.
 */
export function callEnded(sql: SqlStorage, callSid: string, now: number): HoldExit {
  freePlace(sql, callSid);
  const row = holdRow(sql, callSid);
  if (row?.state !== "waiting") return { kind: "unknown" };
  return leaveHold(sql, callSid, "hangup", now);
}

/** What the line holds now (for tests and the log). */
/**
 * Whether a held caller has left the queue to be answered anew (their turn came, or the hold ran out): only then
 * may the Enqueue action claim a call whose stored answer is `queued` (line/answers.ts answers every other repeat).
 */
export function leftQueue(sql: SqlStorage, callSid: string): boolean {
  const row = sql.exec<{ state: string }>("SELECT state FROM hold_queue WHERE call_sid = ?", callSid).toArray()[0];
  return row?.state === "admitted" || row?.state === "timed_out";
}

export function capacityState(sql: SqlStorage): { connected: number; waiting: string[] } {
  const waiting = sql
    .exec<{ call_sid: string }>("SELECT call_sid FROM hold_queue WHERE state = 'waiting' ORDER BY arrived_at, call_sid")
    .toArray()
    .map((r) => r.call_sid);
  return { connected: connectedCount(sql), waiting };
}
