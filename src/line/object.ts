/**
 * PhoneLine: one SQLite-backed Durable Object per phone line (the Twilio number a call belongs to, line/address.ts),
 * the single writer of the live state of every call on that line. Twilio's and Retell's webhooks store their event
 * here before they are answered; the object copies changed calls to D1 from its alarm, retrying while D1 fails,
 * and forgets a call once it is over and copied.
 *
 * Storage (this object's own SQLite database), documented like an API:
 *
 *   calls(call_sid TEXT PRIMARY KEY,
 *         record TEXT NOT NULL,        -- JSON CallRecord (records/list.ts): exactly the row copied to D1
 *         claim_token TEXT,            -- set while one voice webhook registers the call; NULL once it has answered
 *         claimed_at INTEGER,          -- when that claim was taken (ms)
 *         version INTEGER NOT NULL,    -- bumped by every change to `record`
 *         copied_version INTEGER NOT NULL,  -- the version last copied to D1 (or given up on)
 *         copy_failing_since INTEGER,  -- first failed copy of a version not yet copied
 *         finished_at INTEGER,         -- when Twilio reported the call over
 *         updated_at INTEGER NOT NULL)
 *   hook_answers(…)                  -- the pre-call hook's answer per call, kept to reuse it (line/hook-answer.ts)
 *
 *   answers(…): every voice answer given, kept RETENTION_DAYS, so replays are answered from it (line/answers.ts)
 *   outbound(…), outbound_days(…): outbound reservations and per-day counts (below)
 *   whispers(…): transfer announcements under opaque ids, for 15 minutes (line/whispers.ts)
 *   account_days(…): the account-wide daily count, on the one ACCOUNT_LINE object (line/account-calls.ts)
 *
 *   ai_legs, hold_queue: the line's calls connected to an AI leg and its held callers (line/capacity.ts)
 *
 * Call events for the operator's endpoints are written beside each change and sent from the same alarm
 * (line/events-outbox.ts, which documents its tables).
 *
 * Gates (https://developers.cloudflare.com/durable-objects/best-practices/rules-of-durable-objects/): every method
 * reads and writes storage synchronously (SQLite) with no await in between, so each change is atomic; only the
 * D1 copy and the wait for another webhook's registration await, and both re-read what they depend on.
 */
import { DurableObject } from "cloudflare:workers";
import type { Bindings } from "../env.ts";
import { retellSipHost } from "../config.ts";
import { connectedOutcome, type VoiceOutcome } from "../calls/outcome.ts";
import { withDeadline } from "../deadline.ts";
import { log } from "../log.ts";
import type { CallRecord } from "../records/list.ts";
import { upsertCalls } from "../records/store.ts";
import type { StatusUpdate } from "../calls/status.ts";
import type { RetellCallUpdate } from "../retell/events.ts";
import type { OutboundContext } from "../outbound/context.ts";
import { checkLimits, SLOT_TIMEOUT_MS, utcDay, type OutboundLimits } from "../outbound/limits.ts";
import { planAnswer, type AnsweredPlan } from "../outbound/machine.ts";
import { outboundContextOfCall } from "./outbound-context.ts";
import { mayRecordMissed, missedRecord, rememberMissed, type MissedAgent } from "./missed.ts";
import { createAccountTables, returnAccountCall, takeAccountCall, type AccountTake } from "./account-calls.ts";
import { createAnswerTables, expireAnswers, mayAnswerAgain, nextAnswerExpiry, storeAnswer, storedAnswer } from "./answers.ts";
import { retentionDays } from "../records/retention.ts";
import { createWhisperTables, expireWhispers, keepWhisper, nextWhisperExpiry, readWhisper, WHISPER_TTL_MS } from "./whispers.ts";
import {
  answerMachine,
  finishUnanswered,
  placedRecord,
  withAnsweredBy,
  answerVoice,
  applyDial,
  applyRetellEvent,
  applyStatus,
  isFinished,
  newRecord,
  receiveVoice,
  type DialRecord,
  type VoiceAnswer,
} from "./transitions.ts";
import type { TransferAttempt } from "../transfers/attempt.ts";
import { loadEndpoints } from "../events/endpoint-store.ts";
import { createEventTables, forgetEventKeys, recordChangeEvents, recordRetellEvents, sendEvents, sendFailingSince, type RetellRaw } from "./events-outbox.ts";
import type { StoredHook } from "../hook/consult.ts";
import { createHookAnswers, forgetHookAnswers, readHookAnswer, storeHookAnswer } from "./hook-answer.ts";
import {
  admitCall,
  callEnded,
  capacityState,
  createCapacityTables,
  freePlace,
  holdRefused,
  holdTurn,
  leaveHold,
  leftQueue,
  settlePlace,
  type Admission,
  type HoldExit,
  type HoldSettings,
  type HoldTurn,
} from "./capacity.ts";
import { leftHold, withVoicemail } from "./transitions.ts";
import type { VoicemailRecording } from "../voicemail/recording.ts";
import {
  applyTransferDial,
  decideTransfer,
  expireTransfer,
  returnToAgent,
  settleTransfer,
  transferUnderWay,
  type TransferRefusalReason,
  type TransferRequest,
} from "./transitions.ts";

/**
 * A claim older than this belongs to a webhook that can no longer be answering: Twilio gives up on a webhook
 * after 15 s (its "hard upper timeout"), so a later webhook for the call may register it anew.
 */
export const CLAIM_TTL_MS = 15_000;
/** Changes wait this long before their copy to D1, so a call's burst of events (answer, statuses, Retell) goes in one batch. */
export const COPY_DELAY_MS = 1_000;
/** Calls per D1 batch: each upsert binds 44 values, and one batch is one D1 transaction. */
const COPY_BATCH = 50;
/** A copy slower than this counts as failed (D1 calls take no AbortSignal), so a hanging D1 is retried, not waited on. */
export const COPY_TIMEOUT_MS = 10_000;
/** Retry delays while D1 fails: quick at first, then every 30 s, the most a record waits once D1 is back. */
export const COPY_BACKOFF_MS = [2_000, 4_000, 8_000, 16_000, 30_000];
/** How long a call that D1 keeps refusing is retried before it is logged and given up on. */
export const COPY_RETRY_WINDOW_MS = 24 * 60 * 60 * 1_000;
/** A finished call is kept this long after Twilio's final status, for late callbacks (Retell's call_analyzed comes minutes later). */
export const FINISHED_GRACE_MS = 60 * 60 * 1_000;
/** A call with no final status (no status callback configured) is forgotten this long after its last event: Twilio ends calls after 4 h by default. */
export const STALE_CALL_MS = 6 * 60 * 60 * 1_000;

export type VoiceClaim =
  /**
   * This webhook answers the call: it registers with Retell, then calls completeVoice with the token. `hook`: the
   * pre-call hook's answer when an earlier webhook for the call already asked it (it is never asked twice).
   */
  | { kind: "claimed"; token: string; hook?: StoredHook }
  /** Another webhook for the call has answered (or answered while this one waited): answer the same. */
  | { kind: "answered"; outcome: VoiceOutcome }
  /** Another webhook is still registering the call and did not finish within this one's wait. */
  | { kind: "still_registering" };

export type EventResult = "recorded" | "stale" | "unknown_call" | "other_registration";

export type OutboundReservation = { ok: true; reservationId: string } | { ok: false; limit: "concurrent" | "daily"; message: string };

export type OutboundAnswer =
  /** No such reservation on this line (forgotten, or another call's). */
  | { kind: "unknown" }
  | { kind: "machine"; plan: Exclude<AnsweredPlan, { kind: "agent" }> }
  | { kind: "agent"; context: OutboundContext; claim: VoiceClaim };

/**
 * A pending transfer update older than this was made by a request that can no longer settle it (Twilio's update
 * is limited to transfers/transfer.ts TWILIO_UPDATE_TIMEOUT_MS): it is given up on as unconfirmed.
 */
export const TRANSFER_PENDING_TTL_MS = 10_000;

export type TransferStart =
  | { kind: "unknown_call" }
  | { kind: "refused"; reason: TransferRefusalReason }
  /** The answer is this attempt's (a repeat, or a request while it is under way); `pending` if it outlived the wait. */
  | { kind: "existing"; index: number; attempt: TransferAttempt }
  /** Make the Twilio update for attempt `index`, then settleTransfer it. */
  | { kind: "proceed"; index: number; record: CallRecord };

export type TransferEnd =
  | { kind: "unknown" }
  /** The person answered: the call ends. */
  | { kind: "answered" }
  /** Nobody answered: this request registers the caller's way back to the AI, then calls backToAgent. */
  | { kind: "return"; record: CallRecord; attempt: TransferAttempt }
  /** Nobody answered and the way back was already registered (a repeat of transfer-complete): the same SIP leg. */
  | { kind: "returned"; retellCallId: string }
  /** Nobody answered, and the way back failed or is still being registered by another request. */
  | { kind: "return_failed" };

type CallRow = {
  call_sid: string;
  record: string;
  claim_token: string | null;
  claimed_at: number | null;
  version: number;
  copied_version: number;
  copy_failing_since: number | null;
  finished_at: number | null;
  updated_at: number;
};

type CopyRow = Pick<CallRow, "call_sid" | "record" | "version" | "copy_failing_since">;

export interface CopyResult {
  copied: number;
  failed: boolean;
  /** Calls still waiting for a copy after this one (more than one batch, or changes made meanwhile). */
  pending: number;
}

export class PhoneLine extends DurableObject<Bindings> {
  /** Voice webhooks waiting for another webhook's registration of the same call, by CallSid (in memory only). */
  private readonly waiters = new Map<string, Set<(outcome: VoiceOutcome) => void>>();
  /** Consecutive failed copies, for the retry delay; forgotten on eviction, which only makes the next retry sooner. */
  private copyFailures = 0;
  /** Consecutive failed sends of call events to the queue, likewise. */
  private sendFailures = 0;
  /** Requests waiting for a transfer of the call to settle or return, by CallSid (in memory only). */
  private readonly transferWaiters = new Map<string, Set<() => void>>();
  /** `CallSid#attempt` whose way back to the AI a transfer-complete is registering (in memory only). */
  private readonly returning = new Set<string>();

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS calls (
      call_sid TEXT PRIMARY KEY NOT NULL,
      record TEXT NOT NULL,
      claim_token TEXT,
      claimed_at INTEGER,
      version INTEGER NOT NULL,
      copied_version INTEGER NOT NULL DEFAULT 0,
      copy_failing_since INTEGER,
      finished_at INTEGER,
      updated_at INTEGER NOT NULL
    )`);
    this.createOutboundTables();
    createEventTables(ctx.storage.sql);
    createCapacityTables(ctx.storage.sql);
    createHookAnswers(ctx.storage.sql);
    createAccountTables(ctx.storage.sql);
    createAnswerTables(ctx.storage.sql);
    createWhisperTables(ctx.storage.sql);
  }

  /**
   * The first voice webhook for a call claims it and registers it; every other one, concurrent or later, answers
   * with that registration. One still in flight is waited for, at most `waitMs` (the caller's Retell budget). Once
   * an answer is stored (answers.ts, kept RETENTION_DAYS), every later webhook is answered from it, even after the
   * call itself is forgotten; only a failed answer may be made again, by a webhook within REANSWER_WINDOW_MS of it
   * (Twilio's retry), never by one that was waiting for it. A claim older than CLAIM_TTL_MS is dead and taken over.
   */
  async claimVoice(callSid: string, call: { accountSid?: string; from: string; to: string; receivedAt: number }, waitMs: number): Promise<VoiceClaim> {
    const now = Date.now();
    const row = this.row(callSid);
    if (row?.claim_token && row.claimed_at !== null && now - row.claimed_at < CLAIM_TTL_MS) {
      const outcome = await this.waitForAnswer(callSid, Math.min(waitMs, row.claimed_at + CLAIM_TTL_MS - now));
      return outcome ? { kind: "answered", outcome } : { kind: "still_registering" };
    }
    const stored = storedAnswer(this.ctx.storage.sql, callSid);
    const resumed = stored?.outcome.kind === "queued" && leftQueue(this.ctx.storage.sql, callSid);
    if (stored && !resumed && !mayAnswerAgain(stored, now)) return { kind: "answered", outcome: stored.outcome };
    if (!stored && row && !row.claim_token) {
      // A call answered before answers were kept: its connected answer still stands.
      const record = JSON.parse(row.record) as CallRecord;
      if (record.voiceAnsweredAt !== null && record.retellCallId !== null) {
        return { kind: "answered", outcome: connectedOutcome(record.retellCallId, retellSipHost(this.env)) };
      }
    }
    const token = crypto.randomUUID();
    const record = receiveVoice(row ? (JSON.parse(row.record) as CallRecord) : newRecord(callSid, call.receivedAt), call, call.receivedAt);
    this.write(callSid, record, row, { claim_token: token, claimed_at: now });
    await this.scheduleCopy(now);
    const hook = readHookAnswer(this.ctx.storage.sql, callSid);
    return { kind: "claimed", token, ...(hook && { hook }) };
  }

  /**
   * Stores the answer of the webhook holding the claim and hands its outcome (the same TwiML) to the webhooks
   * waiting for it. Returns false
   * when the claim was taken over meanwhile (this webhook outlived CLAIM_TTL_MS): the newer one's answer stands.
   */
  async completeVoice(callSid: string, token: string, answer: VoiceAnswer, outcome: VoiceOutcome, hook?: StoredHook): Promise<boolean> {
    const row = this.row(callSid);
    if (row?.claim_token && row.claim_token !== token) return false;
    if (hook) storeHookAnswer(this.ctx.storage.sql, callSid, hook, answer.answeredAt);
    const record = answerVoice(row ? (JSON.parse(row.record) as CallRecord) : newRecord(callSid, answer.receivedAt), answer);
    this.write(callSid, record, row, { claim_token: null, claimed_at: null });
    settlePlace(this.ctx.storage.sql, callSid, outcome.kind === "connected", Date.now());
    storeAnswer(this.ctx.storage.sql, callSid, outcome, answer.answeredAt, retentionDays(this.env) * 24 * 60 * 60 * 1_000);
    const waiting = this.waiters.get(callSid);
    this.waiters.delete(callSid);
    for (const wake of waiting ?? []) wake(outcome);
    await this.scheduleCopy(Date.now());
    return true;
  }

  /**
   * A Twilio status callback, ordered against the stored status (line/transitions.ts). `reservation`: the signed
   * id in an outbound call's StatusCallback, which may arrive before POST /api/calls has stored the CallSid.
   */
  async recordStatus(update: StatusUpdate, receivedAt: number, reservation?: string): Promise<EventResult> {
    const row = this.row(update.callSid) ?? (reservation ? this.adoptOutbound(reservation, update.callSid, update.accountSid) : null);
    if (!row) return "unknown_call";
    const { record, applied } = applyStatus(JSON.parse(row.record) as CallRecord, update, receivedAt);
    // A call over gives back its place on the line; a caller still held hung up (line/capacity.ts).
    const held = isFinished(record) ? callEnded(this.ctx.storage.sql, update.callSid, receivedAt) : null;
    const next = held?.kind === "abandoned" ? leftHold(finishUnanswered(record), held, receivedAt) : finishUnanswered(record);
    this.write(update.callSid, next, row);
    rememberMissed(this.ctx.storage.sql, next, retentionDays(this.env) * 24 * 60 * 60 * 1_000);
    if (isFinished(record)) this.freeOutboundSlot(update.callSid);
    await this.scheduleCopy(receivedAt);
    return applied ? "recorded" : "stale";
  }

  /**
   * A signed inbound status callback for a call this line holds no record of: recorded as missed unless the line
   * answered or placed it (line/missed.ts); one it holds meanwhile (its voice webhook came first) as recordStatus.
   */
  async recordMissed(update: StatusUpdate, receivedAt: number, agent: MissedAgent | null): Promise<EventResult | "missed"> {
    if (this.row(update.callSid)) return this.recordStatus(update, receivedAt);
    if (!mayRecordMissed(this.ctx.storage.sql, update.callSid)) return "unknown_call";
    this.write(update.callSid, missedRecord(update.callSid, receivedAt, agent), null);
    await this.recordStatus(update, receivedAt);
    return "missed";
  }

  /**
   * How a `<Dial>` ended (dial-complete). While a transfer is under way, the report is of the AI leg the transfer
   * interrupted (vendor facts §A): kept, but it never changes the outcome, and it says "transferring".
   */
  async recordDial(dial: DialRecord): Promise<EventResult | "transferring"> {
    const row = this.row(dial.report.callSid);
    if (!row) return "unknown_call";
    const record = JSON.parse(row.record) as CallRecord;
    const transferring = dial.report.leg === "retell" && transferUnderWay(record) !== -1;
    // The AI leg's dial is over: its place on the line is free for the next caller (line/capacity.ts).
    if (dial.report.leg === "retell") freePlace(this.ctx.storage.sql, dial.report.callSid);
    this.write(dial.report.callSid, applyDial(record, transferring ? { report: dial.report, endedAt: dial.endedAt } : dial), row);
    await this.scheduleCopy(dial.endedAt);
    return transferring ? "transferring" : "recorded";
  }

  /** A Retell call event, for a call this line answered; `raw`: Retell's request, for call.analyzed and the pass-through. */
  async recordRetellEvent(callSid: string, event: RetellCallUpdate, receivedAt: number, raw?: RetellRaw): Promise<EventResult> {
    const row = this.row(callSid);
    if (!row) return "unknown_call";
    const result = applyRetellEvent(JSON.parse(row.record) as CallRecord, event, receivedAt);
    if (result.kind === "other_registration") return "other_registration";
    this.write(callSid, result.record, row);
    if (raw) recordRetellEvents(this.ctx.storage.sql, result.record, { event: event.event, callId: event.callId, ...raw }, receivedAt);
    await this.scheduleCopy(receivedAt);
    return "recorded";
  }

  /** One of Retell's other events (transcript_updated, …) for a call on this line, kept only to be passed through. */
  async passRetellEvent(callSid: string, retell: RetellRaw & { event: string; callId: string }, receivedAt: number): Promise<EventResult> {
    const row = this.row(callSid);
    if (!row) return "unknown_call";
    recordRetellEvents(this.ctx.storage.sql, JSON.parse(row.record) as CallRecord, retell, receivedAt);
    await this.scheduleCopy(receivedAt);
    return "recorded";
  }

  // ── Holding callers while the line is at capacity (line/capacity.ts, src/hold/) ──────────────────────────────

  /** The claim holder's check-and-set against the agent's maxConcurrentCalls: a place on the line, or the queue. */
  async admitVoice(callSid: string, arrivedAt: number, hold: HoldSettings & { maxCalls: number }): Promise<Admission> {
    return admitCall(this.ctx.storage.sql, callSid, arrivedAt, Date.now(), hold);
  }

  /** Retell refused the call for capacity: it is held, in arrival order. */
  async holdRefusedVoice(callSid: string, arrivedAt: number, hold: HoldSettings): Promise<Admission> {
    return holdRefused(this.ctx.storage.sql, callSid, arrivedAt, Date.now(), hold);
  }

  /** A waitUrl request: leave the queue (a place is theirs, or their time is up) or keep waiting. */
  async holdTurn(callSid: string): Promise<HoldTurn> {
    return holdTurn(this.ctx.storage.sql, callSid, Date.now());
  }

  /** The Enqueue action: how the caller left the queue, with the time held kept on their record. */
  async leaveHold(callSid: string, queueResult: string): Promise<HoldExit> {
    const now = Date.now();
    const exit = leaveHold(this.ctx.storage.sql, callSid, queueResult, now);
    const row = this.row(callSid);
    if (exit.kind !== "unknown" && row) {
      this.write(callSid, leftHold(JSON.parse(row.record) as CallRecord, exit, now), row);
      await this.scheduleCopy(now);
    }
    return exit;
  }

  /** A voicemail recording's status callback, for a call this line answered. */
  async recordVoicemail(callSid: string, recording: VoicemailRecording): Promise<EventResult> {
    const row = this.row(callSid);
    if (!row) return "unknown_call";
    const stored = JSON.parse(row.record) as CallRecord;
    const record = withVoicemail(stored, recording);
    if (record === stored) return "stale";
    this.write(callSid, record, row);
    await this.scheduleCopy(recording.reportedAt);
    return "recorded";
  }

  /** The line's connected calls and its held callers in queue order (tests, the load test). */
  async capacity(): Promise<{ connected: number; waiting: string[] }> {
    return capacityState(this.ctx.storage.sql);
  }

  // ── Transfers to a person: check-and-set around the Twilio update, which the Worker makes between two calls ──

  /**
   * A transfer request, decided against the call (transitions.ts decideTransfer). A request whose attempt is still
   * pending waits up to `waitMs` for it to settle, so a repeat gets the same answer and makes no second update.
   */
  async beginTransfer(callSid: string, request: TransferRequest, waitMs: number): Promise<TransferStart> {
    const first = this.transferDecision(callSid, request);
    if (first.kind === "proceed") await this.scheduleCopy(request.requestedAt);
    if (first.kind !== "existing" || first.attempt.update !== "pending") return first;
    await this.waitForTransfer(callSid, waitMs);
    // The answer is the awaited attempt's, as it is now: settled, given up on as unconfirmed, or still pending.
    const row = this.row(callSid);
    if (!row) return { kind: "unknown_call" };
    const stored = JSON.parse(row.record) as CallRecord;
    const record = expireTransfer(stored, Date.now(), TRANSFER_PENDING_TTL_MS);
    if (record !== stored) {
      this.write(callSid, record, row);
      await this.scheduleCopy(Date.now());
    }
    const attempt = record.transfers?.[first.index];
    return attempt ? { kind: "existing", index: first.index, attempt } : { kind: "unknown_call" };
  }

  /** Keeps a transfer's announcement under an opaque id for the whisper URL (line/whispers.ts). */
  async keepWhisper(callSid: string, text: string): Promise<string> {
    const now = Date.now();
    const id = keepWhisper(this.ctx.storage.sql, callSid, text, now);
    await this.setAlarmNoLaterThan(now + WHISPER_TTL_MS);
    return id;
  }

  /** The announcement under `id`, for the whisper request of the call `parentCallSid`; null when there is none. */
  async whisper(id: string, parentCallSid: string | undefined): Promise<string | null> {
    return readWhisper(this.ctx.storage.sql, id, parentCallSid, Date.now());
  }

  /** Twilio's answer to the update of attempt `index`; wakes the requests waiting on it. */
  async settleTransfer(callSid: string, index: number, result: { accepted: true } | { accepted: false; error: string }): Promise<TransferAttempt | null> {
    const row = this.row(callSid);
    if (!row) return null;
    const now = Date.now();
    const record = settleTransfer(JSON.parse(row.record) as CallRecord, index, result, now);
    this.write(callSid, record, row);
    this.wakeTransfer(callSid);
    await this.scheduleCopy(now);
    return record.transfers?.[index] ?? null;
  }

  /** The attempt a dial of this call belongs to while a transfer is under way, with the call's record; else null. */
  async transferInProgress(callSid: string): Promise<{ index: number; record: CallRecord } | null> {
    const row = this.row(callSid);
    if (!row) return null;
    const record = JSON.parse(row.record) as CallRecord;
    const index = transferUnderWay(record);
    return index === -1 ? null : { index, record };
  }

  /**
   * How the person's dial ended (transfer-complete). When nobody answered, one request registers the way back to
   * the AI: a repeat arriving meanwhile waits up to `waitMs` for it and answers the same.
   */
  async finishTransfer(callSid: string, index: number, dial: { status: string | null; durationS: number | null }, waitMs: number): Promise<TransferEnd> {
    const row = this.row(callSid);
    const stored = row ? (JSON.parse(row.record) as CallRecord) : null;
    if (!row || !stored?.transfers?.[index]) return { kind: "unknown" };
    const now = Date.now();
    const record = applyTransferDial(stored, index, dial, now);
    if (record !== stored) {
      this.write(callSid, record, row);
      await this.scheduleCopy(now);
    }
    const attempt = record.transfers?.[index] as TransferAttempt;
    if (attempt.dialStatus === "completed" || attempt.dialStatus === "answered") return { kind: "answered" };
    const key = `${callSid}#${index}`;
    if (attempt.returnRetellCallId === null && attempt.returnError === null && this.returning.has(key)) {
      await this.waitForTransfer(callSid, waitMs);
      const after = (await this.call(callSid))?.transfers?.[index];
      return after?.returnRetellCallId ? { kind: "returned", retellCallId: after.returnRetellCallId } : { kind: "return_failed" };
    }
    if (attempt.returnRetellCallId !== null) return { kind: "returned", retellCallId: attempt.returnRetellCallId };
    if (attempt.returnError !== null) return { kind: "return_failed" };
    this.returning.add(key);
    return { kind: "return", record, attempt };
  }

  /** The way back to the AI after attempt `index`: the new Retell call, now the leg bridged, or why there is none. */
  async backToAgent(callSid: string, index: number, result: { retellCallId: string } | { error: string }): Promise<void> {
    this.returning.delete(`${callSid}#${index}`);
    const row = this.row(callSid);
    if (row) {
      const now = Date.now();
      this.write(callSid, returnToAgent(JSON.parse(row.record) as CallRecord, index, result, now), row);
      await this.scheduleCopy(now);
    }
    this.wakeTransfer(callSid);
  }

  private transferDecision(callSid: string, request: TransferRequest): TransferStart {
    const row = this.row(callSid);
    if (!row) return { kind: "unknown_call" };
    const stored = JSON.parse(row.record) as CallRecord;
    const record = expireTransfer(stored, Date.now(), TRANSFER_PENDING_TTL_MS);
    const decision = decideTransfer(record, request);
    if (decision.kind === "proceed") {
      this.write(callSid, decision.record, row);
      return { kind: "proceed", index: decision.index, record: decision.record };
    }
    if (record !== stored) this.write(callSid, record, row);
    return decision;
  }

  private waitForTransfer(callSid: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let waiting = this.transferWaiters.get(callSid);
      if (!waiting) this.transferWaiters.set(callSid, (waiting = new Set()));
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        waiting.delete(wake);
        resolve();
      }, Math.max(0, ms));
      waiting.add(wake);
    });
  }

  private wakeTransfer(callSid: string): void {
    const waiting = this.transferWaiters.get(callSid);
    this.transferWaiters.delete(callSid);
    for (const wake of waiting ?? []) wake();
  }

  /** The pre-call hook's stored answer for the call (line/hook-answer.ts), or null when no hook was asked. */
  async hookAnswer(callSid: string): Promise<StoredHook | null> {
    return readHookAnswer(this.ctx.storage.sql, callSid);
  }

  /** The call's live record, or null when this line does not hold it (never seen, or forgotten once over). */
  async call(callSid: string): Promise<CallRecord | null> {
    const row = this.row(callSid);
    return row ? (JSON.parse(row.record) as CallRecord) : null;
  }

  /** Copies what changed to D1, forgets finished calls, and sets the next alarm. Never throws: retries are its own. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const copy = await this.copyToD1(this.env.DB, now);
    const events = await this.sendEvents(now);
    this.forgetFinished(Date.now());
    forgetEventKeys(this.ctx.storage.sql);
    forgetHookAnswers(this.ctx.storage.sql);
    this.expireOutbound(Date.now());
    expireAnswers(this.ctx.storage.sql, Date.now());
    expireWhispers(this.ctx.storage.sql, Date.now());
    let next: number | null;
    if (copy.failed || events.failed) {
      const failures = Math.max(copy.failed ? this.copyFailures : 0, events.failed ? this.sendFailures : 0);
      next = now + (COPY_BACKOFF_MS[Math.min(failures, COPY_BACKOFF_MS.length) - 1] ?? COPY_BACKOFF_MS[0]!);
    } else if (copy.pending > 0 || events.pending > 0) {
      next = now;
    } else {
      next = this.nextForgetAt();
    }
    for (const due of [this.nextOutboundAt(), nextAnswerExpiry(this.ctx.storage.sql), nextWhisperExpiry(this.ctx.storage.sql)]) {
      if (due !== null && (next === null || due < next)) next = due;
    }
    if (next !== null) await this.setAlarmNoLaterThan(next);
  }

  /**
   * Copies up to COPY_BATCH changed calls to `db` in one batch. On failure the calls stay pending; one that has
   * failed for COPY_RETRY_WINDOW_MS is logged with its CallSid and given up on.
   */
  async copyToD1(db: D1Database, now: number, timeoutMs = COPY_TIMEOUT_MS): Promise<CopyResult> {
    const rows = this.ctx.storage.sql
      .exec<CopyRow>(
        "SELECT call_sid, record, version, copy_failing_since FROM calls WHERE version > copied_version ORDER BY copy_failing_since IS NOT NULL, updated_at LIMIT ?",
        COPY_BATCH,
      )
      .toArray();
    if (rows.length === 0) return { copied: 0, failed: false, pending: 0 };
    const copy = (batch: CopyRow[]) => withDeadline(upsertCalls(db, batch.map((row) => JSON.parse(row.record) as CallRecord)), timeoutMs, "D1 copy");
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
      this.ctx.storage.sql.exec(
        "UPDATE calls SET copied_version = ?, copy_failing_since = NULL WHERE call_sid = ? AND copied_version < ?",
        row.version,
        row.call_sid,
        row.version,
      );
    }
    if (failed.length > 0) {
      this.copyFailures++;
      this.failedCopy(failed, now, detail);
    } else {
      this.copyFailures = 0;
    }
    return { copied: rows.length - failed.length, failed: failed.length > 0, pending: this.pendingCount() };
  }

  /** Sends pending call events to the queue (line/events-outbox.ts); a failure is logged and retried from the alarm. */
  async sendEvents(now: number): Promise<{ failed: boolean; pending: number }> {
    const sql = this.ctx.storage.sql;
    const result = await sendEvents(sql, { endpoints: () => loadEndpoints(this.env.AGENTS), db: this.env.DB, queue: this.env.EVENTS }, now);
    if (result.failed) {
      this.sendFailures++;
      const since = sendFailingSince(sql);
      log(since !== null && now - since >= COPY_RETRY_WINDOW_MS ? "error" : "warn", "events.send_failed", { pending: result.pending, failingSince: since === null ? null : new Date(since).toISOString(), detail: result.detail });
    } else {
      this.sendFailures = 0;
    }
    return result;
  }

  /** Forgets calls copied to D1 that are over (past FINISHED_GRACE_MS) or silent for STALE_CALL_MS; returns how many. */
  forgetFinished(now: number): number {
    return this.ctx.storage.sql.exec(
      `DELETE FROM calls WHERE version <= copied_version AND (claim_token IS NULL OR claimed_at <= ?)
         AND ((finished_at IS NOT NULL AND finished_at <= ?) OR updated_at <= ?)`,
      now - CLAIM_TTL_MS,
      now - FINISHED_GRACE_MS,
      now - STALE_CALL_MS,
    ).rowsWritten;
  }

  private failedCopy(rows: CopyRow[], now: number, detail: string): void {
    log("warn", "records.copy_failed", { calls: rows.length, detail });
    for (const row of rows) {
      const since = row.copy_failing_since ?? now;
      if (now - since >= COPY_RETRY_WINDOW_MS) {
        const record = JSON.parse(row.record) as CallRecord;
        log("error", "records.copy_abandoned", { callSid: row.call_sid, failingSince: new Date(since).toISOString(), outcome: record.outcome, detail });
        this.ctx.storage.sql.exec("UPDATE calls SET copied_version = version, copy_failing_since = NULL WHERE call_sid = ?", row.call_sid);
      } else if (row.copy_failing_since === null) {
        this.ctx.storage.sql.exec("UPDATE calls SET copy_failing_since = ? WHERE call_sid = ?", now, row.call_sid);
      }
    }
  }

  private pendingCount(): number {
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM calls WHERE version > copied_version").one().n;
  }

  /** When the next call may be forgotten, or null when the line holds none. */
  private nextForgetAt(): number | null {
    const { due } = this.ctx.storage.sql
      .exec<{ due: number | null }>(
        "SELECT MIN(MIN(COALESCE(finished_at + ?, updated_at + ?), updated_at + ?)) AS due FROM calls",
        FINISHED_GRACE_MS,
        STALE_CALL_MS,
        STALE_CALL_MS,
      )
      .one();
    return due;
  }

  private row(callSid: string): CallRow | null {
    return this.ctx.storage.sql.exec<CallRow>("SELECT * FROM calls WHERE call_sid = ?", callSid).toArray()[0] ?? null;
  }

  /** Writes a changed record (bumping its version, so the next copy takes it), and the claim when given. */
  private write(callSid: string, record: CallRecord, row: CallRow | null, claim?: { claim_token: string | null; claimed_at: number | null }): void {
    const claimToken = claim ? claim.claim_token : (row?.claim_token ?? null);
    const claimedAt = claim ? claim.claimed_at : (row?.claimed_at ?? null);
    const finishedAt = row?.finished_at ?? (isFinished(record) ? record.updatedAt : null);
    recordChangeEvents(this.ctx.storage.sql, row ? (JSON.parse(row.record) as CallRecord) : null, record, Date.now());
    this.ctx.storage.sql.exec(
      `INSERT INTO calls (call_sid, record, claim_token, claimed_at, version, copied_version, finished_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, 1, 0, ?5, ?6)
       ON CONFLICT (call_sid) DO UPDATE SET record = ?2, claim_token = ?3, claimed_at = ?4, version = version + 1,
         finished_at = ?5, updated_at = ?6`,
      callSid,
      JSON.stringify(record),
      claimToken,
      claimedAt,
      finishedAt,
      record.updatedAt,
    );
  }

  private waitForAnswer(callSid: string, ms: number): Promise<VoiceOutcome | null> {
    return new Promise((resolve) => {
      let waiting = this.waiters.get(callSid);
      if (!waiting) this.waiters.set(callSid, (waiting = new Set()));
      const wake = (outcome: VoiceOutcome) => {
        clearTimeout(timer);
        resolve(outcome);
      };
      const timer = setTimeout(() => {
        waiting.delete(wake);
        resolve(null);
      }, Math.max(0, ms));
      waiting.add(wake);
    });
  }

  private async scheduleCopy(now: number): Promise<void> {
    await this.setAlarmNoLaterThan(now + COPY_DELAY_MS);
  }

  /** One alarm per object: moves it earlier, never later, so a pending copy is never pushed back. */
  private async setAlarmNoLaterThan(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  // ── Outbound calls (POST /api/calls, src/outbound/): the number's slots, each call's context, its answer ──────
  //
  //   outbound(reservation_id TEXT PRIMARY KEY,  -- opaque id in the call's Url and StatusCallback (signed by Twilio)
  //            call_sid TEXT UNIQUE,             -- Twilio's CallSid, from POST /api/calls or whichever callback came first
  //            context TEXT NOT NULL,            -- JSON OutboundContext (outbound/context.ts)
  //            day TEXT NOT NULL,                -- the UTC day it counts against
  //            active INTEGER NOT NULL,          -- 1 while the call holds one of the number's concurrent slots
  //            reserved_at INTEGER NOT NULL,
  //            expires_at INTEGER NOT NULL)      -- the slot is freed then if Twilio never reports the call final
  //   outbound_days(day TEXT PRIMARY KEY, started INTEGER NOT NULL)  -- calls started per UTC day

  private createOutboundTables(): void {
    this.ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS outbound (
      reservation_id TEXT PRIMARY KEY NOT NULL,
      call_sid TEXT UNIQUE,
      context TEXT NOT NULL,
      day TEXT NOT NULL,
      active INTEGER NOT NULL,
      reserved_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL
    )`);
    this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS outbound_days (day TEXT PRIMARY KEY NOT NULL, started INTEGER NOT NULL)");
  }

  /**
   * Takes one of the number's slots under its limits and stores the call's context. The count and the insert
   * run with no await between them, so concurrent requests can never overshoot a limit.
   */
  async reserveOutbound(context: OutboundContext, limits: OutboundLimits, now: number): Promise<OutboundReservation> {
    const sql = this.ctx.storage.sql;
    const day = utcDay(now);
    const active = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbound WHERE active = 1").one().n;
    const started = sql.exec<{ started: number }>("SELECT started FROM outbound_days WHERE day = ?", day).toArray()[0]?.started ?? 0;
    const check = checkLimits(active, started, limits);
    if (!check.ok) return check;
    const reservationId = crypto.randomUUID();
    sql.exec(
      "INSERT INTO outbound (reservation_id, call_sid, context, day, active, reserved_at, expires_at) VALUES (?, NULL, ?, ?, 1, ?, ?)",
      reservationId,
      JSON.stringify(context),
      day,
      now,
      now + SLOT_TIMEOUT_MS,
    );
    sql.exec("INSERT INTO outbound_days (day, started) VALUES (?, 1) ON CONFLICT (day) DO UPDATE SET started = started + 1", day);
    await this.setAlarmNoLaterThan(now + SLOT_TIMEOUT_MS);
    return { ok: true, reservationId };
  }

  /** On the account's object (account-calls.ts ACCOUNT_LINE): one more outbound call today, under `limit`. */
  async takeAccountCall(limit: number, now: number): Promise<AccountTake> {
    return takeAccountCall(this.ctx.storage.sql, utcDay(now), limit);
  }

  /** On the account's object: a call counted on `day` that was never placed. */
  async returnAccountCall(day: string): Promise<void> {
    returnAccountCall(this.ctx.storage.sql, day);
  }

  /** Twilio accepted the call: its CallSid joins the reservation (unless a callback already brought it). */
  async confirmOutbound(reservationId: string, callSid: string, accountSid: string): Promise<boolean> {
    const row = this.adoptOutbound(reservationId, callSid, accountSid);
    if (row) await this.scheduleCopy(Date.now());
    return row !== null;
  }

  /** Twilio refused the call: the slot and the day's count are given back, as if it had never been asked for. */
  async releaseOutbound(reservationId: string): Promise<boolean> {
    const released = this.ctx.storage.sql
      .exec<{ day: string }>("DELETE FROM outbound WHERE reservation_id = ? AND call_sid IS NULL RETURNING day", reservationId)
      .toArray()[0];
    if (released) this.ctx.storage.sql.exec("UPDATE outbound_days SET started = MAX(started - 1, 0) WHERE day = ?", released.day);
    return released !== undefined;
  }

  /**
   * The outbound webhook (the callee answered): a machine gets what the call's detection choice says, recorded
   * and never registered; a person (or a machine the agent is to take) gets the agent, claimed as claimVoice
   * does so that only one webhook per CallSid registers it.
   */
  async answerOutbound(
    reservationId: string,
    callSid: string,
    call: { accountSid?: string; from: string; to: string; receivedAt: number },
    answeredBy: string | undefined,
    waitMs: number,
  ): Promise<OutboundAnswer> {
    const row = this.adoptOutbound(reservationId, callSid, call.accountSid);
    const context = this.outboundContext(reservationId);
    if (!row || !context) return { kind: "unknown" };
    const record = JSON.parse(row.record) as CallRecord;
    const plan = planAnswer(context.machineDetection, answeredBy, context.voicemailMessage);
    if (plan.kind !== "agent") {
      this.write(callSid, answerMachine(record, answeredBy ?? "unknown", plan.kind === "hangup" ? "machine_hangup" : "voicemail_left", call.receivedAt), row);
      await this.scheduleCopy(call.receivedAt);
      return { kind: "machine", plan };
    }
    const known = withAnsweredBy(record, answeredBy);
    if (known !== record) this.write(callSid, known, row);
    return { kind: "agent", context, claim: await this.claimVoice(callSid, call, waitMs) };
  }

  /** Binds `callSid` to the reservation and makes sure the call has its record; null for an unknown reservation or another CallSid. */
  private adoptOutbound(reservationId: string, callSid: string, accountSid: string | undefined): CallRow | null {
    const sql = this.ctx.storage.sql;
    const reservation = sql
      .exec<{ call_sid: string | null; reserved_at: number }>("SELECT call_sid, reserved_at FROM outbound WHERE reservation_id = ?", reservationId)
      .toArray()[0];
    if (!reservation || (reservation.call_sid !== null && reservation.call_sid !== callSid)) return null;
    if (reservation.call_sid === null) sql.exec("UPDATE outbound SET call_sid = ? WHERE reservation_id = ?", callSid, reservationId);
    const existing = this.row(callSid);
    if (existing) return existing;
    const context = this.outboundContext(reservationId) as OutboundContext;
    const call = { from: context.from, to: context.to, agentKey: context.agentKey, retellAgentId: context.agent.retellAgentId, ...(accountSid && { accountSid }) };
    this.write(callSid, placedRecord(callSid, call, reservation.reserved_at), null);
    return this.row(callSid);
  }

  /** The context an outbound call was placed with, by its CallSid; null for an inbound call (line/outbound-context.ts). */
  async outboundCall(callSid: string): Promise<OutboundContext | null> {
    return outboundContextOfCall(this.ctx.storage.sql, callSid);
  }

  private outboundContext(reservationId: string): OutboundContext | null {
    const row = this.ctx.storage.sql.exec<{ context: string }>("SELECT context FROM outbound WHERE reservation_id = ?", reservationId).toArray()[0];
    return row ? (JSON.parse(row.context) as OutboundContext) : null;
  }

  /** Twilio reported the call final: its slot is free for the next call. */
  private freeOutboundSlot(callSid: string): void {
    this.ctx.storage.sql.exec("UPDATE outbound SET active = 0 WHERE call_sid = ?", callSid);
  }

  /** Frees slots past SLOT_TIMEOUT_MS (their final status never came), then forgets them and past days' counts. */
  expireOutbound(now: number): number {
    const sql = this.ctx.storage.sql;
    const expired = sql.exec("UPDATE outbound SET active = 0 WHERE active = 1 AND expires_at <= ?", now).rowsWritten;
    if (expired > 0) log("warn", "outbound.slot_expired", { slots: expired, detail: "no final status callback arrived; check the call's StatusCallback in Twilio's debugger" });
    sql.exec("DELETE FROM outbound WHERE active = 0 AND expires_at <= ?", now);
    sql.exec("DELETE FROM outbound_days WHERE day < ?", utcDay(now - 24 * 60 * 60 * 1_000));
    return expired;
  }

  /** When the next slot expires, or null when the line holds no outbound call. */
  private nextOutboundAt(): number | null {
    return this.ctx.storage.sql.exec<{ due: number | null }>("SELECT MIN(expires_at) AS due FROM outbound").one().due;
  }
}
