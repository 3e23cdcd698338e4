/**
 * What an outbound call's line object keeps from POST /api/calls until the callee answers: everything the
 * answer needs, so none of it travels in the `Url` Twilio is given (that carries only the reservation id).
 */
import type { AgentConfig } from "../agents/schema.ts";
import type { PlacedContext } from "../line/outbound.ts";

/** The line reads the fields of PlacedContext (the numbers, the agent's key, the detection choice); the rest is for the answer. */
export interface OutboundContext extends PlacedContext {
  /** The agent as it was when the call was placed. */
  agent: AgentConfig;
  dynamicVariables: Record<string, string>;
  metadata: Record<string, unknown>;
}

/** The context as the line hands it back: line/outbound.ts keeps what reserveOutbound was given, whole, as JSON. */
export function keptContext(placed: PlacedContext): OutboundContext {
  return placed as OutboundContext;
}
