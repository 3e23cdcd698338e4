/**
 * Which line a call belongs to, and the stub of that line's object. A line is the Twilio number of ours on the
 * call: the dialed `To` for inbound calls, the calling `From` for outbound ones. One object per line, not per
 * call: the first use of a name costs a global uniqueness check ("up to a few hundred milliseconds",
 * https://developers.cloudflare.com/durable-objects/api/namespace/), which a line pays once. The object is
 * created near the first request for it, i.e. near the colo that Twilio's webhooks for the number reach.
 */
import type { Bindings } from "../env.ts";
import { withDeadline } from "../deadline.ts";
import { normalizeE164 } from "../phone.ts";
import type { PhoneLine } from "./object.ts";

/**
 * The most a line's object may take beyond any wait it was asked for. In production it sits in or near the
 * Worker's colo (a few ms); past this it is in trouble, and the route fails or goes on without it.
 */
export const LINE_TIMEOUT_MS = 2_000;

/** The line's name: the number in E.164 where it is one (as KV keys are), else Twilio's value as it came. */
export function lineName(number: string): string {
  return normalizeE164(number) ?? number.trim();
}

/** The line of a Twilio request: its `Direction` says which side is ours (`inbound`, `outbound-api`, `outbound-dial`). */
export function lineOfTwilioCall(call: { direction?: string; from?: string; to?: string }): string | null {
  const ours = call.direction?.startsWith("outbound") ? call.from : call.to;
  return ours ? lineName(ours) : null;
}

export function lineStub(env: Pick<Bindings, "LINES">, line: string): DurableObjectStub<PhoneLine> {
  return env.LINES.get(env.LINES.idFromName(line));
}

/** A call to a line's object, limited to LINE_TIMEOUT_MS plus the wait it was asked for. */
export async function askLine<T>(work: PromiseLike<T>, what: string, waitMs = 0): Promise<T> {
  return withDeadline(Promise.resolve(work), waitMs + LINE_TIMEOUT_MS, what);
}
