/**
 * The line object's one alarm: it copies changed calls to D1 (line/d1-copy.ts), sends call events
 * (line/events-outbox.ts), forgets what has expired in every table (at most once a FORGET_INTERVAL_MS), and sets
 * itself again for the earliest thing due. Plain functions over the object's storage; the object keeps only the
 * counts of consecutive failures and when it may next forget.
 */
import { log } from "../log.ts";
import { expireAnswers, nextAnswerExpiry } from "./answers.ts";
import { forgetFinished, nextForgetAt } from "./calls-table.ts";
import { COPY_DELAY_MS, COPY_RETRY_WINDOW_MS } from "./d1-copy.ts";
import { forgetEventKeys, sendFailingSince } from "./events-outbox.ts";
import { nextHoldDeadline } from "./capacity.ts";
import { forgetDequeues, nextDequeueAt } from "./dequeue.ts";
import { expireOutbound, nextOutboundAt } from "./outbound.ts";
import { expireWhispers, nextWhisperExpiry } from "./whispers.ts";

/**
 * Forgetting what expired runs at most this often, not every round (about one a second while calls change): each
 * pass scans whole tables, rows a deployed line is billed for reading. Nothing kept a little longer is served as
 * live meanwhile (a whisper's expiry is checked where it is read; a finished call, a sent event's key, a held
 * caller's dequeue row or an answer past its retention harms no one for a minute). Outbound slots expire every
 * round: an expired one still holds a place under the line's limits.
 */
export const FORGET_INTERVAL_MS = 60_000;

/** Retry delays while D1 (or the events queue) fails: quick at first, then every 30 s, the most a record waits once D1 is back. */
export const COPY_BACKOFF_MS = [2_000, 4_000, 8_000, 16_000, 30_000];

/** What one round of the alarm's copy or send left: whether it failed, after how many failures in a row, and what waits. */
export interface RoundResult {
  failed: boolean;
  failures: number;
  pending: number;
}

/**
 * The object's one alarm, moved earlier, never later, so a pending copy is never pushed back. Its time is read from
 * storage once and then kept here (the object is storage's only writer), so a change costs no getAlarm: most
 * changes find the alarm already due soon enough and touch nothing.
 */
export class Alarm {
  /** When the alarm is set (null: none); undefined until read from storage. */
  private at: number | null | undefined;

  private readonly storage: DurableObjectStorage;
  /** How long a change waits for its copy (line/d1-copy.ts copyDelayMs). */
  private readonly copyDelayMs: number;

  constructor(storage: DurableObjectStorage, copyDelayMs = COPY_DELAY_MS) {
    this.storage = storage;
    this.copyDelayMs = copyDelayMs;
  }

  async noLaterThan(at: number): Promise<void> {
    if (this.at === undefined) {
      const stored = await this.storage.getAlarm();
      // Another change may have set it while this one read it: what it set is newer than what was read.
      if (this.at === undefined) this.at = stored;
    }
    if (this.at !== null && this.at <= at) return;
    this.at = at;
    try {
      await this.storage.setAlarm(at);
    } catch (error) {
      this.at = undefined;
      throw error;
    }
  }

  /** A change was made: its copy to D1 (and its events) go out within the copy delay. */
  copySoon(now: number): Promise<void> {
    return this.noLaterThan(now + this.copyDelayMs);
  }

  /** The alarm handler started: the alarm that woke it is spent, and nothing is set until something sets it. */
  fired(): void {
    this.at = null;
  }
}

/**
 * Expires outbound slots, and once `forgetAfter` has come, forgets what else has expired: finished calls, sent
 * events' keys, answers, whispers, dequeues. Returns when it may forget next.
 */
export function forgetExpired(sql: SqlStorage, now: number, forgetAfter: number): number {
  expireOutbound(sql, now);
  if (now < forgetAfter) return forgetAfter;
  forgetDequeues(sql);
  forgetFinished(sql, now);
  forgetEventKeys(sql);
  expireAnswers(sql, now);
  expireWhispers(sql, now);
  return now + FORGET_INTERVAL_MS;
}

/** Logs a failed send of call events, as an error once it has failed for COPY_RETRY_WINDOW_MS. */
export function logSendFailure(sql: SqlStorage, pending: number, detail: string | undefined, now: number): void {
  const since = sendFailingSince(sql);
  log(since !== null && now - since >= COPY_RETRY_WINDOW_MS ? "error" : "warn", "events.send_failed", { pending, failingSince: since === null ? null : new Date(since).toISOString(), detail });
}

/**
 * When the alarm runs next: after a backoff while a copy or send fails, at once while more waits, else when the
 * first call may be forgotten; never later than the next outbound slot to expire, held caller's time to run out,
 * dequeue to retry, or answer or whisper to forget. What only waits to be forgotten is due no earlier than
 * `forgetAfter` (forgetExpired).
 */
export function nextAlarmAt(sql: SqlStorage, now: number, copy: RoundResult, events: RoundResult, forgetAfter = now): number | null {
  const forgetting = (due: number | null) => (due === null ? null : Math.max(due, forgetAfter));
  let next: number | null;
  if (copy.failed || events.failed) {
    const failures = Math.max(copy.failed ? copy.failures : 0, events.failed ? events.failures : 0);
    next = now + (COPY_BACKOFF_MS[Math.min(failures, COPY_BACKOFF_MS.length) - 1] ?? COPY_BACKOFF_MS[0]!);
  } else if (copy.pending > 0 || events.pending > 0) {
    // Nothing can be due sooner: the other dues are not read.
    return now;
  } else {
    next = forgetting(nextForgetAt(sql));
  }
  for (const due of [nextOutboundAt(sql), forgetting(nextAnswerExpiry(sql)), forgetting(nextWhisperExpiry(sql)), nextHoldDeadline(sql), nextDequeueAt(sql)]) {
    if (due !== null && (next === null || due < next)) next = due;
  }
  return next;
}
