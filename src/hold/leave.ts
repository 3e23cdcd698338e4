/**
 * The two requests of Twilio's queue for a held caller (https://www.twilio.com/docs/voice/twiml/enqueue), both
 * naming the line and the agent's KV key in the signed query the voice webhook gave Twilio (hold/twiml.ts):
 *
 * - waitUrl: each time the previous turn's TwiML has played, the line decides (line/capacity.ts holdTurn) whether
 *   the caller's turn has come or their time is up (`<Leave/>`), or they hear the message and music again.
 * - the Enqueue action, once they left the queue (QueueResult): back with a place, the call registers with Retell
 *   and dials SIP exactly as a fresh call does (calls/answer.ts, one registration per CallSid); out of time, or sent
 *   on by Twilio, it goes to the fallback number, else the apology; hung up, it is recorded as abandoned.
 * - the hold-dequeued URL, which Twilio fetches when the line dequeued the caller through its REST API the moment
 *   their turn came or their time ran out (line/dequeue.ts): the same answer as the action's. Twilio requests the
 *   action then too, with QueueResult `redirected`, which answers alike (one registration between them).
 */
import type { AgentConfig } from "../agents/schema.ts";
import { lookupAgent } from "../agents/lookup.ts";
import type { Bindings } from "../env.ts";
import { answerCall, type CallAnswer } from "../calls/answer.ts";
import { askLine, lineStub } from "../line/address.ts";
import type { HoldExit, HoldTurn } from "../line/capacity.ts";
import { log } from "../log.ts";
import type { InboundCall } from "../twilio/params.ts";
import type { QueueMember } from "../line/dequeue.ts";
import { leaveTwiml, waitTwiml } from "./twiml.ts";

/** The TwiML of one waitUrl turn, and what the line said (for the log). */
export async function holdTurnTwiml(env: Bindings, callSid: string, line: string, agentKey: string | null, member: QueueMember | null): Promise<{ twiml: string; turn: HoldTurn | null }> {
  const [turn, lookup] = await Promise.all([
    askLine<HoldTurn>(lineStub(env, line).holdTurn(callSid, member ?? undefined), "line hold turn").catch((error: unknown) => {
      log("error", "line.unavailable", { callSid, step: "hold_turn", detail: error instanceof Error ? error.message : String(error) });
      return null;
    }),
    lookupAgent(env.AGENTS, agentKey),
  ]);
  // Without the line nobody can say when the caller's turn comes: they leave, and the action sends them on.
  if (turn === null || turn.kind !== "wait") return { twiml: leaveTwiml(), turn };
  const agent: AgentConfig | null = lookup.ok ? lookup.agent : null;
  return { twiml: waitTwiml(agent), turn };
}

/** The Enqueue action's answer for the call (null when the caller hung up: nothing is left to say). */
export async function answerFromHold(env: Bindings, call: InboundCall, line: string, agentKey: string | null, queueResult: string): Promise<{ exit: HoldExit; answer: CallAnswer | null }> {
  let exit: HoldExit;
  try {
    exit = await askLine<HoldExit>(lineStub(env, line).leaveHold(call.callSid, queueResult), "line hold exit");
  } catch (error) {
    log("error", "line.unavailable", { callSid: call.callSid, step: "hold_exit", detail: error instanceof Error ? error.message : String(error) });
    exit = { kind: "unknown" };
  }
  if (exit.kind === "abandoned" || queueResult === "hangup") return { exit, answer: null };
  const answer = await answerCall(env, call, agentKey, Date.now(), exit);
  // Stored before this route answers, unlike a fresh call's: a held caller's turn is not in a hurry.
  await answer.store?.();
  return { exit, answer };
}
