/**
 * A signed inbound status callback for a call its line has no record of (routes/status.ts): the call reached the
 * number while the bridge did not answer it, and its line records it as missed (line/missed.ts), under the agent
 * the number maps to in KV when it has one. One KV read, only on this rare path; a failed read records the call
 * without an agent rather than not at all.
 */
import type { Bindings } from "../env.ts";
import { agentKey, lookupAgent } from "../agents/lookup.ts";
import { askLine, lineStub } from "../line/address.ts";
import type { MissedAgent } from "../line/missed.ts";
import type { EventResult } from "../line/call-updates.ts";
import type { StatusUpdate } from "../twilio/call-status.ts";

export async function recordMissedCall(env: Bindings, line: string, update: StatusUpdate, receivedAt: number): Promise<EventResult | "missed"> {
  const lookup = await lookupAgent(env.AGENTS, agentKey({ to: update.to ?? "" }));
  const agent: MissedAgent | null = lookup.ok ? { agentKey: lookup.key, retellAgentId: lookup.agent.retellAgentId } : null;
  return askLine(lineStub(env, line).recordMissed(update, receivedAt, agent), "line missed call");
}
