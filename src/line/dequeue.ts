/**
 * Dequeuing a held caller through Twilio's REST API the moment their turn comes, instead of at their next waitUrl
 * request (which Twilio makes only once the previous turn's message and music have played: minutes with a real
 * hold track). Plain functions over the line object's SQLite storage; the object makes the requests from
 * `ctx.waitUntil` and from its alarm (line/object.ts), and the waitUrl recheck (line/capacity.ts holdTurn) stays
 * the backstop whenever a request fails.
 *
 *   hold_dequeues(call_sid TEXT PRIMARY KEY,
 *                 account_sid TEXT NOT NULL,  -- AccountSid of the caller's waitUrl request (signed by Twilio)
 *                 queue_sid TEXT NOT NULL,    -- its QueueSid: the queue the caller is a member of
 *                 url TEXT NOT NULL,          -- our signed-by-Twilio hold-dequeued URL for the caller (hold/twiml.ts)
 *                 state TEXT NOT NULL,        -- member | due | sending | sent | not_queued | given_up
 *                 attempts INTEGER NOT NULL,
 *                 next_at INTEGER)            -- due: not before then; sending: the lease's end, then the alarm retries
 *
 * Twilio's behaviour (https://www.twilio.com/docs/voice/api/member-resource "Update a Member resource", and
 * https://www.twilio.com/docs/voice/twiml/enqueue "action"): POST
 * /2010-04-01/Accounts/{AccountSid}/Queues/{QueueSid}/Members/{CallSid}.json with `Url` (and `Method`, default
 * POST) dequeues that member, and the call goes on with the TwiML Twilio fetches from Url, a request with the
 * standard voice parameters (CallSid, AccountSid, From, To, CallStatus, …). The `<Enqueue action>` is requested
 * too, "right away" for a REST dequeue, with QueueResult `redirected` ("the call was redirected out of the queue,
 * typically by a REST API request"). Which of the two documents Twilio then runs the docs do not say in so many
 * words (the Member resource says Url's; public integrations report the action's is ignored), so both routes
 * give the same answer: the claim of calls/answer.ts makes one registration, the other request answers with it.
 * Only the first dequeue of a member succeeds; a repeat, or a member no longer queued, is a 4xx (Twilio's
 * Members docs, 2012: "only the first request will succeed ... a second request will fail and return an
 * appropriate 400").
 */
import type { Bindings } from "../env.ts";
import { log } from "../log.ts";
import { nothingDone, twilioPost, type TwilioResult } from "../twilio/rest.ts";
import { admitWaiting, timeOutHeld, unadmit } from "./capacity.ts";

/** One dequeue request's time limit: a quick write at Twilio; a caller is waiting and the place is held for them. */
export const DEQUEUE_TIMEOUT_MS = 5_000;
/** A request claimed this long ago whose answer never came (the object was evicted) is taken again by the alarm. */
export const DEQUEUE_LEASE_MS = DEQUEUE_TIMEOUT_MS + 2_000;
/** Retry delays after a failed request: quick, as the caller's place waits meanwhile (REGISTERING_TTL_MS is 15 s). */
export const DEQUEUE_RETRY_MS = [500, 2_000];
/** Twilio's SIDs as they appear in the request path, so nothing else ever reaches it. */
const QUEUE_SID = /^QU[0-9a-fA-F]{32}$/;
const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;
const CALL_SID = /^CA[0-9a-fA-F]{32}$/;

export interface QueueMember {
  accountSid: string;
  queueSid: string;
  /** The hold-dequeued URL Twilio is to fetch once the caller is dequeued. */
  url: string;
}

export interface DueDequeue {
  callSid: string;
  accountSid: string;
  queueSid: string;
  url: string;
  attempts: number;
}

type DequeueRow = { call_sid: string; account_sid: string; queue_sid: string; url: string; state: string; attempts: number; next_at: number | null };

export function createDequeueTables(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS hold_dequeues (
    call_sid TEXT PRIMARY KEY NOT NULL,
    account_sid TEXT NOT NULL,
    queue_sid TEXT NOT NULL,
    url TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_at INTEGER
  )`);
}

/** The member's identifiers as a waitUrl request gave them, or null when one is missing or not Twilio's shape. */
export function queueMember(callSid: string, accountSid: string | undefined, queueSid: string | undefined, url: string): QueueMember | null {
  if (!CALL_SID.test(callSid) || !ACCOUNT_SID.test(accountSid ?? "") || !QUEUE_SID.test(queueSid ?? "")) return null;
  return { accountSid: accountSid as string, queueSid: queueSid as string, url };
}

/**
 * A waiting caller's waitUrl request showed where they are. A dequeue under way is left alone; any other row
 * starts afresh (a caller back in the queue after Retell refused them, or whose last dequeue failed: Twilio may
 * take the next one).
 */
export function noteMember(sql: SqlStorage, callSid: string, member: QueueMember): void {
  sql.exec(
    `INSERT INTO hold_dequeues (call_sid, account_sid, queue_sid, url, state, attempts) VALUES (?, ?, ?, ?, 'member', 0)
     ON CONFLICT (call_sid) DO UPDATE SET account_sid = excluded.account_sid, queue_sid = excluded.queue_sid, url = excluded.url,
       state = 'member', attempts = 0, next_at = NULL
     WHERE hold_dequeues.state NOT IN ('due', 'sending')`,
    callSid,
    member.accountSid,
    member.queueSid,
    member.url,
  );
}

function dequeueState(sql: SqlStorage, callSid: string): string | null {
  return sql.exec<{ state: string }>("SELECT state FROM hold_dequeues WHERE call_sid = ?", callSid).toArray()[0]?.state ?? null;
}

/**
 * The line's held callers whose turn has come: with `placeFreed`, the first waiting callers take the free places
 * (capacity.ts admitWaiting), except one whose dequeue already failed (their waitUrl decides, and nobody passes
 * them); always, callers whose maxHoldSeconds ran out are timed out. Each of them known as a queue member is
 * due a dequeue. Returns how many are due now.
 */
export function promoteHeld(sql: SqlStorage, now: number, placeFreed: boolean): number {
  const timedOut = timeOutHeld(sql, now);
  const admitted = placeFreed ? admitWaiting(sql, now, (callSid) => dequeueState(sql, callSid) !== "given_up") : [];
  let due = 0;
  for (const callSid of [...admitted, ...timedOut]) {
    due += sql.exec("UPDATE hold_dequeues SET state = 'due', next_at = ? WHERE call_sid = ? AND state = 'member'", now, callSid).rowsWritten;
  }
  return due;
}

/**
 * Claims the dequeues to make now (due, or sending past their lease): each becomes `sending` until `now +
 * DEQUEUE_LEASE_MS`, so neither a second trigger nor the alarm sends it again meanwhile. One whose caller has left
 * the queue already (their waitUrl's `<Leave>`, or they hung up) is dropped instead.
 */
export function takeDue(sql: SqlStorage, now: number): DueDequeue[] {
  sql.exec(
    `DELETE FROM hold_dequeues WHERE state IN ('due', 'sending') AND call_sid NOT IN
       (SELECT call_sid FROM hold_queue WHERE state IN ('admitted', 'timed_out') AND left_at IS NULL)`,
  );
  return sql
    .exec<DequeueRow>(
      `UPDATE hold_dequeues SET state = 'sending', attempts = attempts + 1, next_at = ?
       WHERE state IN ('due', 'sending') AND next_at <= ? RETURNING *`,
      now + DEQUEUE_LEASE_MS,
      now,
    )
    .toArray()
    .map((r) => ({ callSid: r.call_sid, accountSid: r.account_sid, queueSid: r.queue_sid, url: r.url, attempts: r.attempts }));
}

export type DequeueSettled =
  | "sent"
  /** Twilio has no such member (a 4xx): the caller left another way (their waitUrl, a hang-up, a dequeue that timed out but was made). */
  | "not_queued"
  | "retry"
  /** Given up: the caller, back in line if Twilio certainly did nothing, waits for their waitUrl. */
  | "given_up";

/** Twilio's answer to one dequeue request. */
export function settleDequeue(sql: SqlStorage, dequeue: DueDequeue, result: TwilioResult, now: number): DequeueSettled {
  const set = (state: string, nextAt: number | null = null) =>
    sql.exec("UPDATE hold_dequeues SET state = ?, next_at = ? WHERE call_sid = ? AND state = 'sending'", state, nextAt, dequeue.callSid);
  if (result.ok) {
    set("sent");
    return "sent";
  }
  if (result.reason === "twilio_rejected" && (result.status === 400 || result.status === 404)) {
    set("not_queued");
    return "not_queued";
  }
  const delay = DEQUEUE_RETRY_MS[dequeue.attempts - 1];
  if (result.reason !== "twilio_not_configured" && delay !== undefined) {
    set("due", now + delay);
    return "retry";
  }
  set("given_up");
  // Twilio certainly kept the caller queued: their place goes back (a place freed) and their waitUrl decides.
  // Otherwise (a timeout) the dequeue may have been made: the place stays theirs for its short life.
  if (nothingDone(result)) unadmit(sql, dequeue.callSid);
  return "given_up";
}

/** When the alarm must next send or retry a dequeue, or null. */
export function nextDequeueAt(sql: SqlStorage): number | null {
  return sql.exec<{ due: number | null }>("SELECT MIN(next_at) AS due FROM hold_dequeues WHERE state IN ('due', 'sending')").one().due;
}

/** Forgets the rows of callers the line no longer holds in its queue. */
export function forgetDequeues(sql: SqlStorage): void {
  sql.exec("DELETE FROM hold_dequeues WHERE call_sid NOT IN (SELECT call_sid FROM hold_queue WHERE left_at IS NULL)");
}

/** The dequeue request itself (Twilio's Member update; see the top of this file). */
export function dequeueMember(env: Pick<Bindings, "TWILIO_API_BASE_URL" | "TWILIO_AUTH_TOKEN">, dequeue: DueDequeue): Promise<TwilioResult> {
  return twilioPost(env, dequeue.accountSid, `/Queues/${dequeue.queueSid}/Members/${dequeue.callSid}.json`, { Url: dequeue.url, Method: "POST" }, DEQUEUE_TIMEOUT_MS);
}

/**
 * Makes the dequeue requests due now, each settled as Twilio answers. `alarmBy` is asked first for the requests'
 * lease end: should the object be evicted mid-request, its alarm takes them again then. Returns when the alarm
 * must look again (a retry), or null.
 */
export async function sendDueDequeues(sql: SqlStorage, env: Pick<Bindings, "TWILIO_API_BASE_URL" | "TWILIO_AUTH_TOKEN">, alarmBy: (at: number) => Promise<void>): Promise<number | null> {
  const due = takeDue(sql, Date.now());
  if (due.length === 0) return nextDequeueAt(sql);
  await alarmBy(Date.now() + DEQUEUE_LEASE_MS);
  await Promise.all(
    due.map(async (dequeue) => {
      const result = await dequeueMember(env, dequeue);
      const settled = settleDequeue(sql, dequeue, result, Date.now());
      log(result.ok ? "info" : "warn", "hold.dequeue", { callSid: dequeue.callSid, attempt: dequeue.attempts, settled, ...(!result.ok && { reason: result.reason, detail: result.detail }) });
    }),
  );
  return nextDequeueAt(sql);
}
