/**
 * The agent an inbound call's status callback would be recorded under if its line has no record of the call
 * (routes/status.ts): the call reached the number while the bridge did not answer it, and its line records it as
 * missed (line/missed.ts) under the agent the number maps to in KV when it has one. Read before the line is asked,
 * so the line decides "held or missed" in one step and one call; the read goes through the agents' in-isolate memo
 * and KV's colo cache (agents/lookup.ts), and a failed read records a missed call without an agent rather than not
 * at all.
 */
import type { Bindings } from "../env.ts";
import { agentKey, lookupAgent } from "../agents/lookup.ts";
import type { MissedAgent } from "../line/missed.ts";
import type { StatusUpdate } from "../twilio/call-status.ts";

export async function missedAgent(env: Bindings, update: StatusUpdate): Promise<MissedAgent | null> {
  const lookup = await lookupAgent(env.AGENTS, agentKey({ to: update.to ?? "" }));
  return lookup.ok ? { agentKey: lookup.key, retellAgentId: lookup.agent.retellAgentId } : null;
}
