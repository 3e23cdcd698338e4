/**
 * The AI leg's `<Dial action>` (dial-complete) while a transfer is under way: redirecting the call interrupted
 * that `<Dial><Sip>`, and Twilio may still request its action with `DialCallStatus=completed` (vendor facts §A,
 * a measured behaviour: the answer is then ignored). The answer must not end the call in case it is not ignored:
 * it is the transfer's own dial again (without the whisper, whose sentence is not kept).
 */
import type { Bindings } from "../env.ts";
import { lookupAgent } from "../agents/lookup.ts";
import { askLine, lineStub } from "../line/address.ts";
import { findDestination } from "./destinations.ts";
import { ourNumber, transferTwiml } from "./dial.ts";

/** The transfer's TwiML document for a call being transferred, or null when it cannot be rebuilt. */
export async function interruptedDialTwiml(env: Bindings, line: string, callSid: string, signedUrl: string): Promise<string | null> {
  const underWay = await askLine(lineStub(env, line).transferInProgress(callSid), "line transfer");
  const attempt = underWay?.record.transfers?.[underWay.index];
  if (!underWay || !attempt) return null;
  const lookup = await lookupAgent(env.AGENTS, underWay.record.agentKey);
  const destination = lookup.ok && lookup.agent.transfers ? findDestination(lookup.agent.transfers, attempt.destination) : null;
  if (!lookup.ok || !destination) return null;
  return transferTwiml({ destination, index: underWay.index, agent: lookup.agent, ourNumber: ourNumber(underWay.record), origin: new URL(signedUrl).origin });
}
