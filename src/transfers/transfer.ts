/**
 * A transfer request, end to end: the call's record from its line, the destination from the agent's own KV
 * `transfers` (never from the request), the check-and-set on the line's object, the Twilio call update, and the
 * settled answer. Every failure becomes a `{ ok: false }` sentence for the model: nothing here answers Retell 5xx.
 */
import type { Bindings } from "../env.ts";
import { lookupAgent } from "../agents/lookup.ts";
import { askLine, lineStub } from "../line/address.ts";
import type { TransferStart } from "../line/transfers.ts";
import type { TransferAttempt } from "../records/transfer-attempt.ts";
import type { CallRecord } from "../records/list.ts";
import { failureLabel, twilioPost } from "../twilio/rest.ts";
import { attemptReply, refusalReply, type TransferRefusal, type TransferReply } from "./answers.ts";
import { findDestination } from "./destinations.ts";
import { transferTwiml } from "./dial.ts";
import { requestKey, type TransferCall } from "./request.ts";

/** Twilio's call update is one quick write; past this it is treated as failed (it may still have been applied). */
export const TWILIO_UPDATE_TIMEOUT_MS = 5_000;
/** How long a repeated request waits for the one under way: its Twilio update plus the object's round trips. */
const WAIT_FOR_PENDING_MS = TWILIO_UPDATE_TIMEOUT_MS + 2_000;

export interface TransferOutcome {
  reply: TransferReply;
  /** For the route's log line: never a phone number, never the announcement. */
  log: Record<string, unknown>;
}

const refused = (refusal: TransferRefusal, log: Record<string, unknown> = {}): TransferOutcome => ({
  reply: refusalReply(refusal),
  log: { refusal: refusal.reason, ...log },
});

const answered = (attempt: TransferAttempt, log: Record<string, unknown>): TransferOutcome => ({
  reply: attemptReply(attempt),
  log: { destination: attempt.destination, update: attempt.update, ...(attempt.updateError && { updateError: attempt.updateError }), ...log },
});

export async function requestTransfer(env: Bindings, call: TransferCall, origin: string): Promise<TransferOutcome> {
  const { callSid, line } = call;
  if (!callSid || !line) return refused({ reason: "unknown_call" }, { detail: "no twilio_call_sid or twilio_line in the call's metadata" });
  const stub = lineStub(env, line);
  const record = await askLine<CallRecord | null>(stub.call(callSid), "line call").catch(() => undefined);
  if (record === undefined) return refused({ reason: "unavailable" }, { detail: "the line's object failed" });
  if (record === null) return refused({ reason: "unknown_call" }, { detail: "the line holds no such call" });
  if (call.announceTooLong) return refused({ reason: "announce_too_long" });

  const lookup = await lookupAgent(env.AGENTS, record.agentKey);
  if (!lookup.ok) {
    return lookup.reason === "agent_lookup_failed"
      ? refused({ reason: "unavailable" }, { detail: lookup.detail })
      : refused({ reason: "not_configured" }, { detail: `${lookup.reason}: ${lookup.detail}` });
  }
  const { agent } = lookup;
  if (!agent.transfers) return refused({ reason: "not_configured" });
  const destination = findDestination(agent.transfers, call.destination);
  if (!destination) return refused({ reason: "no_such_destination", asked: call.destination, names: Object.keys(agent.transfers) });

  const request = { retellCallId: call.retellCallId, destination: destination.name, requestKey: await requestKey(destination.name, call.announce), requestedAt: Date.now() };
  let start: TransferStart;
  try {
    start = await askLine<TransferStart>(stub.beginTransfer(callSid, request, WAIT_FOR_PENDING_MS), "line transfer", WAIT_FOR_PENDING_MS);
  } catch (error) {
    return refused({ reason: "unavailable" }, { detail: error instanceof Error ? error.message : String(error) });
  }
  if (start.kind === "unknown_call") return refused({ reason: "unknown_call" });
  if (start.kind === "refused") return refused({ reason: start.reason }, { destination: destination.name });
  if (start.kind === "existing") return answered(start.attempt, { repeat: true });

  let whisper: { line: string; id: string } | undefined;
  const whisperLog: Record<string, unknown> = {};
  if (call.announce) {
    try {
      whisper = { line, id: await askLine<string>(stub.keepWhisper(callSid, call.announce), "line whisper") };
    } catch (error) {
      // The transfer matters more than the announcement: the person is connected without it.
      whisperLog.whisper = "unavailable";
      whisperLog.whisperDetail = error instanceof Error ? error.message : String(error);
    }
  }
  const twiml = transferTwiml({ destination, index: start.index, agent, dialed: start.record.to, origin, ...(whisper && { whisper }) });
  const accountSid = start.record.accountSid ?? env.TWILIO_ACCOUNT_SID;
  const update = await twilioPost(env, accountSid, `/Calls/${callSid}.json`, { Twiml: twiml }, TWILIO_UPDATE_TIMEOUT_MS);
  const result = update.ok ? ({ accepted: true } as const) : ({ accepted: false, error: failureLabel(update) } as const);
  const log = { attempt: start.index, twilioMs: Date.now() - request.requestedAt, ...whisperLog, ...(!update.ok && { detail: update.detail }) };
  const settled = await askLine<TransferAttempt | null>(stub.settleTransfer(callSid, start.index, result), "line transfer settle").catch(() => null);
  // The line failing now must not change what Twilio did: the answer follows Twilio's result.
  const attempt: TransferAttempt = settled ?? { ...(start.record.transfers?.[start.index] as TransferAttempt), update: result.accepted ? "accepted" : "refused", updateError: result.accepted ? null : result.error };
  return answered(attempt, log);
}
