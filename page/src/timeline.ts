/**
 * A call's timeline, built from its record (GET /api/calls/:callSid, CallRecord in src/records/list.ts) and its
 * events' deliveries to the operator's endpoints (GET /api/deliveries?callSid=…): one step per thing that
 * happened, oldest first. Plain functions, no DOM, so they are tested alone (test/page/timeline.test.ts).
 *
 * Each STEP_SOURCES entry reads one group of the record's fields (one writer each, migrations/*.sql), or the
 * deliveries, and returns its steps. A feature that adds fields to the record (a pre-call hook's result,
 * voicemail, hold) adds one source here and nothing else changes.
 */
import { standingOf, type Delivery } from "../../src/records/delivery.ts";
import type { CallRecord } from "../../src/records/list.ts";
import type { TransferAttempt } from "../../src/records/transfer-attempt.ts";
import { timeOfDay } from "./format.ts";

export interface Step {
  /** When it happened (ms since the epoch); null when the record does not say, and then it is listed last. */
  at: number | null;
  /** Who or what the step is about, for its label and its marker's colour. */
  kind: "webhook" | "rules" | "retell" | "dial" | "transfer" | "twilio" | "outbound" | "hook" | "hold" | "voicemail" | "delivery";
  title: string;
  /** Further facts, one line each. */
  details: string[];
}

/** A source reads the call's record, or the deliveries of its events (the record's sources ignore them). */
export type StepSource = (call: CallRecord, deliveries: readonly Delivery[]) => Step[];

const step = (at: number | null, kind: Step["kind"], title: string, ...details: (string | null | false)[]): Step => ({
  at,
  kind,
  title,
  details: details.filter((d): d is string => typeof d === "string" && d !== ""),
});

const seconds = (s: number | null) => (s === null ? null : `${s} s`);

/** Outcomes that mean the routing rules turned the caller away or elsewhere (src/rules/decide.ts). */
const RULE_OUTCOMES = new Set(["blocked", "rate_limited", "after_hours"]);

/** Where the call came from: Twilio's voice webhook (inbound), or POST /api/calls and then the callee's answer (outbound). */
const arrival: StepSource = (call) => {
  if (call.direction === "outbound") {
    return [
      step(call.createdAt, "outbound", "Outbound call placed (POST /api/calls)", call.to && `to ${call.to}`, call.from && `from ${call.from}`),
      ...(call.voiceReceivedAt !== null ? [step(call.voiceReceivedAt, "webhook", "Callee answered: Twilio fetched the call's webhook", call.answeredBy && `answered by: ${call.answeredBy}`)] : []),
    ];
  }
  if (call.voiceReceivedAt === null) return [step(call.createdAt, "twilio", "First heard of (from a status callback or a Retell event)")];
  return [step(call.voiceReceivedAt, "webhook", "Twilio's voice webhook received", call.from && `from ${call.from}`, call.to && `to ${call.to}`, call.agentKey && `routed by ${call.agentKey}`)];
};

/** What the voice webhook decided, after the rules and Retell's registration. */
const decision: StepSource = (call) => {
  const steps: Step[] = [];
  if (call.retellRegisterMs !== null || call.retellCallId !== null) {
    steps.push(
      step(
        call.voiceAnsweredAt,
        "retell",
        "Registered with Retell",
        call.retellRegisterMs !== null && `${call.retellRegisterMs} ms`,
        call.retellRegisterAttempts !== null && `${call.retellRegisterAttempts} attempt${call.retellRegisterAttempts === 1 ? "" : "s"}`,
        call.retellCallId && `Retell call ${call.retellCallId}`,
        call.retellAgentId && `agent ${call.retellAgentId}`,
      ),
    );
  }
  if (call.outcome !== null) {
    const kind = RULE_OUTCOMES.has(call.outcome) || call.outcomeReason === "after_hours" ? "rules" : "webhook";
    steps.push(step(call.voiceAnsweredAt, kind, `Decision: ${call.outcome}`, call.outcomeReason && `reason: ${call.outcomeReason}`));
  }
  return steps;
};

/** The <Dial> to Retell's SIP endpoint (or the fallback number) and how it ended (dial-complete). */
const dial: StepSource = (call) => {
  const steps: Step[] = [];
  if (call.dialStatus !== null) {
    steps.push(step(call.dialEndedAt, "dial", `SIP dial ended: ${call.dialStatus}`, call.dialSipCode !== null && `SIP ${call.dialSipCode}`, seconds(call.dialDurationS)));
  }
  if (call.fallbackStatus !== null) steps.push(step(call.fallbackEndedAt, "dial", `Fallback dial ended: ${call.fallbackStatus}`));
  return steps;
};

/** What the voice webhook learnt before deciding: the caller's SHAKEN/STIR result and the operator's pre-call hook (docs/pre-call-hook.md). */
const screening: StepSource = (call) => {
  const steps: Step[] = [];
  if (call.stirVerstat !== null) steps.push(step(call.voiceReceivedAt, "webhook", `Caller verification (SHAKEN/STIR): ${call.stirVerstat}`));
  if (call.hookResult !== null) {
    const chose = call.finalAgentId !== null && call.finalAgentId !== call.retellAgentId ? `chose agent ${call.finalAgentId}` : null;
    steps.push(step(call.voiceReceivedAt, "hook", `Pre-call hook: ${call.hookResult}`, call.hookMs !== null && `${call.hookMs} ms`, chose));
  }
  return steps;
};

/** The line's hold queue (docs/busy-lines.md): when the caller was held, for how long, and the line's load when they got their place. */
const hold: StepSource = (call) => {
  const steps: Step[] = [];
  if (call.queuedAt !== null) steps.push(step(call.queuedAt, "hold", "Held in the line's queue", call.outcomeReason === "retell_at_capacity" && "Retell was at capacity"));
  if (call.queuedAt !== null && call.heldMs !== null) {
    steps.push(step(call.queuedAt + call.heldMs, "hold", call.outcome === "abandoned" ? "Hung up while held" : "Left the queue", `held ${Math.round(call.heldMs / 1000)} s`));
  }
  if (call.concurrentCalls !== null) steps.push(step(call.voiceAnsweredAt, "hold", `Took a place on the line: ${call.concurrentCalls} connected`));
  return steps;
};

/** What the caller heard before the agent, and the message they left (Twilio keeps the audio). */
const notices: StepSource = (call) => {
  const steps: Step[] = [];
  if (call.announced) steps.push(step(call.voiceAnsweredAt, "webhook", "Consent notice played before the agent"));
  if (call.voicemail !== null) {
    steps.push(step(call.voicemail.reportedAt, "voicemail", `Voicemail ${call.voicemail.status}`, seconds(call.voicemail.durationS), `recording ${call.voicemail.recordingSid}`));
  }
  return steps;
};

function transferSteps(attempt: TransferAttempt, index: number): Step[] {
  const name = `Transfer ${index + 1} to ${attempt.destination}`;
  const requested = step(
    attempt.requestedAt,
    "transfer",
    `${name} requested by the agent`,
    attempt.update === "refused" ? `Twilio refused the call update${attempt.updateError ? ` (${attempt.updateError})` : ""}` : `call update: ${attempt.update}`,
  );
  if (attempt.dialStatus === null) return [requested];
  const back = attempt.returnRetellCallId ? `back to the agent on Retell call ${attempt.returnRetellCallId}` : attempt.returnError ? `could not go back to the agent (${attempt.returnError})` : null;
  return [requested, step(attempt.dialEndedAt, "transfer", `${name} ended: ${attempt.dialStatus}`, seconds(attempt.dialDurationS), back)];
}

const transfers: StepSource = (call) => (call.transfers ?? []).flatMap(transferSteps);

/** Twilio's status callbacks: the record keeps when the call was answered and when it ended, and the last status. */
const twilioStatus: StepSource = (call) => {
  const steps: Step[] = [];
  if (call.twilioAnsweredAt !== null) steps.push(step(call.twilioAnsweredAt, "twilio", "Twilio: in progress"));
  if (call.twilioEndedAt !== null) steps.push(step(call.twilioEndedAt, "twilio", `Twilio: ${call.twilioStatus ?? "ended"}`, seconds(call.durationS)));
  else if (call.twilioStatus !== null && call.twilioStatusAt !== null) steps.push(step(call.twilioStatusAt, "twilio", `Twilio: ${call.twilioStatus}`));
  return steps;
};

/** Retell's webhook events: started, ended, analysed (with the summary and the caller's sentiment). */
const retellEvents: StepSource = (call) => {
  const steps: Step[] = [];
  if (call.retellStartedAt !== null) steps.push(step(call.retellStartedAt, "retell", "Retell: call started"));
  if (call.retellEndedAt !== null) {
    steps.push(step(call.retellEndedAt, "retell", "Retell: call ended", call.disconnectionReason && `reason: ${call.disconnectionReason}`, call.retellDurationMs !== null && `${Math.round(call.retellDurationMs / 1000)} s`));
  }
  if (call.callSummary !== null || call.userSentiment !== null || call.callSuccessful !== null) {
    const analysedAt = call.retellEventAt !== null && call.retellEventAt !== call.retellEndedAt ? call.retellEventAt : null;
    steps.push(
      step(
        analysedAt ?? call.retellEndedAt,
        "retell",
        "Retell: call analysed",
        call.callSummary && `summary: ${call.callSummary}`,
        call.userSentiment && `sentiment: ${call.userSentiment}`,
        call.callSuccessful !== null && (call.callSuccessful ? "successful" : "not successful"),
      ),
    );
  }
  return steps;
};

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/**
 * Each event's delivery to each endpoint (events/consumer.ts), at the time of how it stands now: delivered when
 * delivered, else its last attempt, else (not tried yet) when the event happened. Event and endpoint as written.
 */
function deliveryStep(d: Delivery): Step {
  const standing = standingOf(d);
  const at = d.deliveredAt ?? (d.attempts > 0 ? d.updatedAt : d.createdAt);
  return step(
    at,
    "delivery",
    `Event ${d.type} to endpoint ${d.endpointId}: ${standing}`,
    plural(d.attempts, "attempt"),
    d.lastStatus !== null ? `last HTTP status ${d.lastStatus}` : d.attempts > 0 && "no HTTP answer",
    standing !== "delivered" && d.lastError !== null && `last error: ${d.lastError}`,
    standing === "retrying" && d.nextAttemptAt !== null && `next attempt at ${timeOfDay(d.nextAttemptAt)}`,
    `event ${d.eventId}`,
  );
}

/** In the order the events happened (their sequence within the call), then by endpoint, for steps at one instant. */
const deliveryEvents: StepSource = (_call, list) =>
  [...list].sort((a, b) => a.createdAt - b.createdAt || a.sequence - b.sequence || (a.endpointId < b.endpointId ? -1 : a.endpointId > b.endpointId ? 1 : 0)).map(deliveryStep);

/** In the order they happen within one instant (the voice webhook's steps share its answer's time). */
export const STEP_SOURCES: StepSource[] = [arrival, screening, hold, decision, notices, dial, transfers, twilioStatus, retellEvents, deliveryEvents];

/** Every step of the call, oldest first; steps at the same instant keep their sources' order; undated ones last. */
export function timeline(call: CallRecord, deliveries: readonly Delivery[] = [], sources: StepSource[] = STEP_SOURCES): Step[] {
  const steps = sources.flatMap((source) => source(call, deliveries));
  return steps
    .map((s, i) => ({ s, i }))
    .sort((a, b) => (a.s.at ?? Infinity) - (b.s.at ?? Infinity) || a.i - b.i)
    .map(({ s }) => s);
}
