/**
 * The line object's one alarm: it copies changed calls to D1 (line/d1-copy.ts), sends call events
 * (line/events-outbox.ts), forgets what has expired in every table, and sets itself again for the earliest thing
 * due. Plain functions over the object's storage; the object keeps only the counts of consecutive failures.
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

/** Forgets what has expired: finished calls, sent events' keys, hook answers, outbound slots, answers, whispers, dequeues. */
export function forgetExpired(sql: SqlStorage, now: number): void {
  forgetDequeues(sql);
  forgetFinished(sql, now);
  forgetEventKeys(sql);
  expireOutbound(sql, now);
  expireAnswers(sql, now);
  expireWhispers(sql, now);
}

/** Logs a failed send of call events, as an error once it has failed for COPY_RETRY_WINDOW_MS. */
export function logSendFailure(sql: SqlStorage, pending: number, detail: string | undefined, now: number): void {
  const since = sendFailingSince(sql);
  log(since !== null && now - since >= COPY_RETRY_WINDOW_MS ? "error" : "warn", "events.send_failed", { pending, failingSince: since === null ? null : new Date(since).toISOString(), detail });
}

/**
 * When the alarm runs next: after a backoff while a copy or send fails, at once while more waits, else when the
 * first call may be forgotten; never later than the next outbound slot, answer or whisper to expire, held caller's
 * time to run out or dequeue to retry.
 */
export function nextAlarmAt(sql: SqlStorage, now: number, copy: RoundResult, events: RoundResult): number | null {
  let next: number | null;
  if (copy.failed || events.failed) {
    const failures = Math.max(copy.failed ? copy.failures : 0, events.failed ? events.failures : 0);
    next = now + (COPY_BACKOFF_MS[Math.min(failures, COPY_BACKOFF_MS.length) - 1] ?? COPY_BACKOFF_MS[0]!);
  } else if (copy.pending > 0 || events.pending > 0) {
    next = now;
  } else {
    next = nextForgetAt(sql);
  }
  for (const due of [nextOutboundAt(sql), nextAnswerExpiry(sql), nextWhisperExpiry(sql), nextHoldDeadline(sql), nextDequeueAt(sql)]) {
    if (due !== null && (next === null || due < next)) next = due;
  }
  return next;
}
