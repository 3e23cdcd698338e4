/**
 * What an outbound call's line object keeps from POST /api/calls until the callee answers: everything the
 * answer needs, so none of it travels in the `Url` Twilio is given (that carries only the reservation id).
 */
import type { AgentConfig } from "../agents/schema.ts";
import type { MachineDetection } from "./request.ts";

export interface OutboundContext {
  to: string;
  from: string;
  /** The KV key the agent was read from (`+E164` or `agent:<id>`), for the `<Dial action>`s. */
  agentKey: string;
  /** The agent as it was when the call was placed. */
  agent: AgentConfig;
  dynamicVariables: Record<string, string>;
  metadata: Record<string, unknown>;
  machineDetection: MachineDetection;
  voicemailMessage?: string;
}
