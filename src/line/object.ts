/**
 * PhoneLine: one SQLite-backed Durable Object per phone line (the Twilio number a call belongs to, line/address.ts),
 * the single writer of the live state of every call on that line. Twilio's and Retell's webhooks store their event
 * here before they are answered; the object copies changed calls to D1 from its alarm, retrying while D1 fails,
 * and forgets a call once it is over and copied.
 *
 * This class is only the line's RPC surface: each concern is a module of plain functions over the object's own
 * SQLite database, and documents the tables it owns (docs/storage.md lists them):
 *
 *   calls-table.ts    calls: each call's live record, its claim, the pre-call hook's answer and its copy bookkeeping
 *   claims.ts         the voice claim, one registration per call (in `calls`)
 *   answers.ts        answers: every voice answer given, so replays are answered from it
 *   call-updates.ts   status callbacks, dials, Retell events, voicemail and the hold's exit, applied to `calls`
 *   capacity.ts       ai_legs, hold_queue: the line's calls on an AI leg and its held callers
 *   dequeue.ts        hold_dequeues: held callers' places in Twilio's queue, to dequeue them through its REST API
 *   transfers.ts      transfers to a person (in `calls`)
 *   whispers.ts       whispers: transfer announcements under opaque ids
 *   outbound.ts       outbound, outbound_days: outbound reservations and per-day counts
 *   account-calls.ts  account_days: the account-wide daily count, on the one ACCOUNT_LINE object
 *   events-outbox.ts  the call events for the operator's endpoints, written beside each change
 *   d1-copy.ts, alarm.ts  the copy to D1 and the alarm that runs it, sends events and forgets what expired
 *
 * Gates (https://developers.cloudflare.com/durable-objects/best-practices/rules-of-durable-objects/): every
 * module function reads and writes storage synchronously (SQLite) with no await in between, so each change is
 * atomic; only the D1 copy, the event send and the waits for another request (line/waiters.ts) await, and each
 * re-reads what it depends on.
 */
import { DurableObject } from "cloudflare:workers";
import type { VoiceOutcome } from "./voice-outcome.ts";
import type { StatusUpdate } from "../twilio/call-status.ts";
import { retellSipHost } from "../config.ts";
import type { Bindings } from "../env.ts";
import { log } from "../log.ts";
import { loadEndpoints } from "../records/endpoint-store.ts";
import type { StoredHook } from "./stored-hook.ts";
import { SLOT_TIMEOUT_MS, utcDay, type OutboundLimits } from "./outbound-limits.ts";
import type { AnsweredPlan } from "./machine.ts";
import type { CallRecord } from "../records/list.ts";
import { retentionDays } from "../records/retention.ts";
import type { RetellCallUpdate } from "../retell/events.ts";
import type { TransferAttempt } from "../records/transfer-attempt.ts";
import type { VoicemailRecording } from "../twilio/recording.ts";
import { createAccountTables, returnAccountCall, takeAccountCall, type AccountTake } from "./account-calls.ts";
import { Alarm, forgetExpired, logSendFailure, nextAlarmAt } from "./alarm.ts";
import { createAnswerTables } from "./answers.ts";
import { passRetellEvent, recordDial, recordInboundStatus, recordLeftHold, recordRetellEvent, recordStatus, recordVoicemail, type EventResult } from "./call-updates.ts";
import type { MissedAgent } from "./missed.ts";
import { createCallsTable, forgetFinished, readCall, readHook } from "./calls-table.ts";
import { admitCall, capacityState, connectedCount, createCapacityTables, holdRefused, holdTurn, takeReturnPlace, type Admission, type HoldExit, type HoldSettings, type HoldTurn } from "./capacity.ts";
import { createDequeueTables, noteMember, promoteHeld, sendDueDequeues, type QueueMember } from "./dequeue.ts";
import { completeClaim, takeClaim, type VoiceCall, type VoiceClaim } from "./claims.ts";
import { copyDelayMs, copyToD1, COPY_TIMEOUT_MS, type CopyResult } from "./d1-copy.ts";
import { createEventTables, endpointsMemo, sendEvents, type RetellRaw } from "./events-outbox.ts";
import { adoptOutbound, createOutboundTables, outboundContextOfCall, planOutboundAnswer, releaseOutbound, reserveOutbound, type OutboundReservation, type PlacedContext } from "./outbound.ts";
import {
  attemptKey,
  awaitedAttempt,
  backToAgent,
  finishAttempt,
  returnedAttempt,
  settleAttempt,
  transferDecision,
  transferInProgress,
  type TransferEnd,
  type TransferStart,
} from "./transfers.ts";
import type { DialRecord, TransferRequest, VoiceAnswer } from "./transitions.ts";
import { Waiters } from "./waiters.ts";
import { createWhisperTables, keepWhisper, readWhisper, WHISPER_TTL_MS } from "./whispers.ts";

export type OutboundAnswer =
  /** No such reservation on this line (forgotten, or another call's). */
  | { kind: "unknown" }
  | { kind: "machine"; plan: Exclude<AnsweredPlan, { kind: "agent" }> }
  | { kind: "agent"; context: PlacedContext; claim: VoiceClaim };

export class PhoneLine extends DurableObject<Bindings> {
  private readonly sql: SqlStorage;
  /** Voice webhooks waiting for another webhook's registration of the same call, by CallSid. */
  private readonly answers = new Waiters<VoiceOutcome>();
  /** Requests waiting for a transfer of the call to settle or return, by CallSid. */
  private readonly transfers = new Waiters<true>();
  /** Attempts (line/transfers.ts attemptKey) whose way back to the AI a transfer-complete is registering. */
  private readonly returning = new Set<string>();
  /** The object's one alarm (line/alarm.ts), its time kept in memory. */
  private readonly alarmClock: Alarm;
  /** The operator's event endpoints, read from KV at most once per ENDPOINTS_MEMO_MS (line/events-outbox.ts). */
  private readonly endpoints = endpointsMemo(() => loadEndpoints(this.env.AGENTS));
  /** Consecutive failed copies, for the retry delay; forgotten on eviction, which only makes the next retry sooner. */
  private copyFailures = 0;
  /** Consecutive failed sends of call events to the queue, likewise. */
  private sendFailures = 0;
  /** When the alarm may next forget what expired (line/alarm.ts FORGET_INTERVAL_MS); eviction only makes it sooner. */
  private forgetAfter = 0;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.alarmClock = new Alarm(ctx.storage, copyDelayMs(env.LINE_COPY_DELAY_MS));
    for (const create of [createCallsTable, createOutboundTables, createEventTables, createCapacityTables, createDequeueTables, createAccountTables, createAnswerTables, createWhisperTables]) {
      create(this.sql);
    }
  }

  /**
   * The first voice webhook for a call claims it and registers it; every other one answers with that registration
   * (line/claims.ts). One still in flight is waited for, at most `waitMs` (the caller's Retell budget).
   */
  async claimVoice(callSid: string, call: VoiceCall, waitMs: number): Promise<VoiceClaim> {
    const now = Date.now();
    const claim = takeClaim(this.sql, callSid, call, now, retellSipHost(this.env));
    if (claim.kind === "wait") {
      const outcome = await this.answers.wait(callSid, Math.min(waitMs, claim.ms));
      return outcome ? { kind: "answered", outcome } : { kind: "still_registering" };
    }
    if (claim.kind === "claimed") await this.copySoon(now);
    return claim;
  }

  /** Stores the claim holder's answer and hands its outcome to the webhooks waiting; false when the claim was taken over. */
  async completeVoice(callSid: string, token: string, answer: VoiceAnswer, outcome: VoiceOutcome, hook?: StoredHook): Promise<boolean> {
    const now = Date.now();
    const stored = completeClaim(this.sql, callSid, token, { answer, outcome, hook }, now, this.retentionMs());
    if (stored === "taken_over") return false;
    if (stored === "freed") this.admitHeld(now);
    this.answers.wake(callSid, outcome);
    await this.copySoon(Date.now());
    return true;
  }

  /** A Twilio status callback (line/call-updates.ts); `reservation`: an outbound call's signed id. */
  async recordStatus(update: StatusUpdate, receivedAt: number, reservation?: string): Promise<EventResult> {
    return this.copiedIf(this.freeing(receivedAt, () => recordStatus(this.sql, update, receivedAt, this.retentionMs(), reservation)), receivedAt);
  }

  /** A signed inbound status callback: applied to the call the line holds, else the call is recorded as missed (line/call-updates.ts). */
  async recordInboundStatus(update: StatusUpdate, receivedAt: number, agent: MissedAgent | null): Promise<EventResult | "missed"> {
    return this.copiedIf(this.freeing(receivedAt, () => recordInboundStatus(this.sql, update, receivedAt, agent, this.retentionMs())), receivedAt);
  }

  /** How a `<Dial>` ended (dial-complete); "transferring" for the AI leg a transfer interrupted. */
  async recordDial(dial: DialRecord): Promise<EventResult | "transferring"> {
    return this.copiedIf(this.freeing(dial.endedAt, () => recordDial(this.sql, dial)), dial.endedAt);
  }

  /** A Retell call event, for a call this line answered; `raw`: Retell's request, for call.analyzed and the pass-through. */
  async recordRetellEvent(callSid: string, event: RetellCallUpdate, receivedAt: number, raw?: RetellRaw): Promise<EventResult> {
    return this.copiedIf(recordRetellEvent(this.sql, callSid, event, receivedAt, raw), receivedAt);
  }

  /** One of Retell's other events (transcript_updated, …) for a call on this line, kept only to be passed through. */
  async passRetellEvent(callSid: string, retell: RetellRaw & { event: string; callId: string }, receivedAt: number): Promise<EventResult> {
    return this.copiedIf(passRetellEvent(this.sql, callSid, retell, receivedAt), receivedAt);
  }

  /** A voicemail recording's status callback, for a call this line answered. */
  async recordVoicemail(callSid: string, recording: VoicemailRecording): Promise<EventResult> {
    const result = recordVoicemail(this.sql, callSid, recording);
    if (result === "recorded") await this.copySoon(recording.reportedAt);
    return result;
  }

  // ── Holding callers while the line is at capacity (line/capacity.ts, src/hold/) ──

  /** The claim holder's check-and-set against the agent's maxConcurrentCalls: a place on the line, or the queue. */
  async admitVoice(callSid: string, arrivedAt: number, hold: HoldSettings & { maxCalls: number }): Promise<Admission> {
    const now = Date.now();
    const admission = admitCall(this.sql, callSid, arrivedAt, now, hold);
    // The alarm sends the caller on at maxHoldSeconds (line/dequeue.ts), not their next waitUrl.
    if (admission.kind === "queued") await this.alarmClock.noLaterThan(now + hold.maxHoldMs);
    return admission;
  }

  /** Retell refused the call for capacity: it is held, in arrival order. */
  async holdRefusedVoice(callSid: string, arrivedAt: number, hold: HoldSettings): Promise<Admission> {
    const now = Date.now();
    const admission = holdRefused(this.sql, callSid, arrivedAt, now, hold);
    await this.alarmClock.noLaterThan(now + hold.maxHoldMs);
    return admission;
  }

  /**
   * A waitUrl request: leave the queue (a place is theirs, or their time is up) or keep waiting; a waiting
   * caller's place in Twilio's queue (`member`) is kept to dequeue them the moment their turn comes.
   */
  async holdTurn(callSid: string, member?: QueueMember): Promise<HoldTurn> {
    const turn = holdTurn(this.sql, callSid, Date.now());
    if (turn.kind === "wait" && member) noteMember(this.sql, callSid, member);
    return turn;
  }

  /** The Enqueue action (or our dequeue URL): how the caller left the queue, with the time held kept on their record. */
  async leaveHold(callSid: string, queueResult: string): Promise<HoldExit> {
    const now = Date.now();
    const exit = this.freeing(now, () => recordLeftHold(this.sql, callSid, queueResult, now));
    if (exit.kind !== "unknown") await this.copySoon(now);
    return exit;
  }

  /** A caller's way back to the AI after an unanswered transfer: a place under `maxCalls`, or false when the line is full. */
  async takeReturnPlace(callSid: string, maxCalls: number): Promise<boolean> {
    return takeReturnPlace(this.sql, callSid, maxCalls, Date.now());
  }

  /** Makes the dequeue requests due now (line/dequeue.ts). Never throws: what is not settled, the alarm retries. */
  async sendDequeues(): Promise<void> {
    try {
      const next = await sendDueDequeues(this.sql, this.env, (at) => this.alarmClock.noLaterThan(at));
      if (next !== null) await this.alarmClock.noLaterThan(next);
    } catch (error) {
      log("error", "hold.dequeue_failed", { detail: error instanceof Error ? error.message : String(error) });
    }
  }

  /** The line's connected calls and its held callers in queue order (tests, the load test). */
  async capacity(): Promise<{ connected: number; waiting: string[] }> {
    return capacityState(this.sql);
  }

  // ── Transfers to a person (line/transfers.ts): check-and-set around the Twilio update the Worker makes ──

  /** A transfer request; one whose attempt is still pending waits up to `waitMs` for it, so a repeat gets the same answer. */
  async beginTransfer(callSid: string, request: TransferRequest, waitMs: number): Promise<TransferStart> {
    const first = transferDecision(this.sql, callSid, request, Date.now());
    if (first.kind === "proceed") await this.copySoon(request.requestedAt);
    if (first.kind !== "existing" || first.attempt.update !== "pending") return first;
    await this.transfers.wait(callSid, waitMs);
    const { result, wrote } = awaitedAttempt(this.sql, callSid, first.index, Date.now());
    if (wrote) await this.copySoon(Date.now());
    return result;
  }

  /** Twilio's answer to the update of attempt `index`; wakes the requests waiting on it. */
  async settleTransfer(callSid: string, index: number, result: { accepted: true } | { accepted: false; error: string }): Promise<TransferAttempt | null> {
    const now = Date.now();
    const settled = settleAttempt(this.sql, callSid, index, result, now);
    if (!settled) return null;
    this.transfers.wake(callSid, true);
    await this.copySoon(now);
    return settled.attempt;
  }

  /** The attempt a dial of this call belongs to while a transfer is under way, with the call's record; else null. */
  async transferInProgress(callSid: string): Promise<{ index: number; record: CallRecord } | null> {
    return transferInProgress(this.sql, callSid);
  }

  /** How the person's dial ended (transfer-complete); a repeat waits up to `waitMs` for the way back another registers. */
  async finishTransfer(callSid: string, index: number, dial: { status: string | null; durationS: number | null }, waitMs: number): Promise<TransferEnd> {
    const now = Date.now();
    const { result, wrote } = finishAttempt(this.sql, callSid, index, dial, now, this.returning);
    if (wrote) await this.copySoon(now);
    if (result.kind === "wait") {
      await this.transfers.wait(callSid, waitMs);
      return returnedAttempt(this.sql, callSid, index);
    }
    if (result.kind === "return") this.returning.add(attemptKey(callSid, index));
    return result;
  }

  /** The way back to the AI after attempt `index`: the new Retell call, now the leg bridged, or why there is none. */
  async backToAgent(callSid: string, index: number, result: { retellCallId: string } | { error: string }): Promise<void> {
    this.returning.delete(attemptKey(callSid, index));
    const now = Date.now();
    // The way back's place (takeReturnPlace) is kept by its AI leg until that dial ends, or given back now.
    if (this.freeing(now, () => backToAgent(this.sql, callSid, index, result, now))) await this.copySoon(now);
    this.transfers.wake(callSid, true);
  }

  /** Keeps a transfer's announcement under an opaque id for the whisper URL (line/whispers.ts). */
  async keepWhisper(callSid: string, text: string): Promise<string> {
    const now = Date.now();
    const id = keepWhisper(this.sql, callSid, text, now);
    await this.alarmClock.noLaterThan(now + WHISPER_TTL_MS);
    return id;
  }

  /** The announcement under `id`, for the whisper request of the call `parentCallSid`; null when there is none. */
  async whisper(id: string, parentCallSid: string | undefined): Promise<string | null> {
    return readWhisper(this.sql, id, parentCallSid, Date.now());
  }

  // ── Outbound calls (line/outbound.ts, src/outbound/) ──

  /** Takes one of the number's slots under its limits and stores the call's context. */
  async reserveOutbound(context: PlacedContext, limits: OutboundLimits, now: number): Promise<OutboundReservation> {
    const reservation = reserveOutbound(this.sql, context, limits, now);
    if (reservation.ok) await this.alarmClock.noLaterThan(now + SLOT_TIMEOUT_MS);
    return reservation;
  }

  /** On the account's object (account-calls.ts ACCOUNT_LINE): one more outbound call today, under `limit`. */
  async takeAccountCall(limit: number, now: number): Promise<AccountTake> {
    return takeAccountCall(this.sql, utcDay(now), limit);
  }

  /** On the account's object: a call counted on `day` that was never placed. */
  async returnAccountCall(day: string): Promise<void> {
    returnAccountCall(this.sql, day);
  }

  /** Twilio accepted the call: its CallSid joins the reservation (unless a callback already brought it). */
  async confirmOutbound(reservationId: string, callSid: string, accountSid: string): Promise<boolean> {
    const row = adoptOutbound(this.sql, reservationId, callSid, accountSid);
    if (row) await this.copySoon(Date.now());
    return row !== null;
  }

  /** Twilio refused the call: the slot and the day's count are given back, as if it had never been asked for. */
  async releaseOutbound(reservationId: string): Promise<boolean> {
    return releaseOutbound(this.sql, reservationId);
  }

  /** The outbound webhook (the callee answered): a machine's answer, or the agent, claimed as claimVoice does. */
  async answerOutbound(reservationId: string, callSid: string, call: VoiceCall, answeredBy: string | undefined, waitMs: number): Promise<OutboundAnswer> {
    const plan = planOutboundAnswer(this.sql, reservationId, callSid, call, answeredBy);
    if (plan.kind === "machine") await this.copySoon(call.receivedAt);
    return plan.kind === "agent" ? { ...plan, claim: await this.claimVoice(callSid, call, waitMs) } : plan;
  }

  // ── Reads, the alarm and the copy to D1 (line/alarm.ts, line/d1-copy.ts) ──

  /** The pre-call hook's stored answer for the call (line/calls-table.ts), or null when no hook was asked. */
  async hookAnswer(callSid: string): Promise<StoredHook | null> {
    return readHook(this.sql, callSid);
  }

  /** The context an outbound call was placed with, by its CallSid; null for an inbound call (line/outbound.ts). */
  async outboundCall(callSid: string): Promise<PlacedContext | null> {
    return outboundContextOfCall(this.sql, callSid);
  }

  /** The call's live record, or null when this line does not hold it (never seen, or forgotten once over). */
  async call(callSid: string): Promise<CallRecord | null> {
    return readCall(this.sql, callSid);
  }

  /** Copies what changed to D1, sends call events, forgets what expired, and sets the next alarm. Never throws. */
  override async alarm(): Promise<void> {
    this.alarmClock.fired();
    const now = Date.now();
    // Held callers first: a caller whose maxHoldSeconds ran out is dequeued to go on now (line/dequeue.ts).
    promoteHeld(this.sql, now, false);
    await this.sendDequeues();
    const copy = await this.copyToD1(this.env.DB, now);
    const events = await this.sendEvents(now);
    this.forgetAfter = forgetExpired(this.sql, Date.now(), this.forgetAfter);
    const next = nextAlarmAt(this.sql, now, { ...copy, failures: this.copyFailures }, { ...events, failures: this.sendFailures }, this.forgetAfter);
    if (next !== null) await this.alarmClock.noLaterThan(next);
  }

  /** Copies up to one batch of changed calls to `db` (line/d1-copy.ts), counting failures in a row for the retry delay. */
  async copyToD1(db: D1Database, now: number, timeoutMs = COPY_TIMEOUT_MS): Promise<CopyResult> {
    const result = await copyToD1(this.sql, db, now, timeoutMs);
    this.copyFailures = result.failed ? this.copyFailures + 1 : 0;
    return result;
  }

  /** Sends pending call events to the queue (line/events-outbox.ts); a failure is logged and retried from the alarm. */
  async sendEvents(now: number): Promise<{ failed: boolean; pending: number }> {
    const result = await sendEvents(this.sql, { endpoints: this.endpoints, db: this.env.DB, queue: this.env.EVENTS }, now);
    if (result.failed) logSendFailure(this.sql, result.pending, result.detail, now);
    this.sendFailures = result.failed ? this.sendFailures + 1 : 0;
    return result;
  }

  /** Forgets calls copied to D1 that are over or silent (line/calls-table.ts); returns how many. */
  forgetFinished(now: number): number {
    return forgetFinished(this.sql, now);
  }

  /**
   * Runs `change`; when it freed a place on the line (the line's AI legs went down), the first held callers take
   * the free places and are dequeued through Twilio's REST API at once, from `waitUntil` (line/dequeue.ts).
   */
  private freeing<R>(now: number, change: () => R): R {
    const before = connectedCount(this.sql);
    const result = change();
    if (connectedCount(this.sql) < before) this.admitHeld(now);
    return result;
  }

  /** A place freed on the line: the first held callers take the free places and are dequeued from `waitUntil`. */
  private admitHeld(now: number): void {
    if (promoteHeld(this.sql, now, true) > 0) this.ctx.waitUntil(this.sendDequeues());
  }

  /** How long answers are kept: as long as the call's record (RETENTION_DAYS). */
  private retentionMs(): number {
    return retentionDays(this.env) * 24 * 60 * 60 * 1_000;
  }

  private copySoon(now: number): Promise<void> {
    return this.alarmClock.copySoon(now);
  }

  /** Schedules the copy of a change, unless the event found no call to change. */
  private async copiedIf<R extends EventResult | "transferring" | "missed">(result: R, at: number): Promise<R> {
    if (result !== "unknown_call" && result !== "other_registration") await this.copySoon(at);
    return result;
  }
}
