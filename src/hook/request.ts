/**
 * The hook's request, in the shape of Retell's inbound call webhook
 * (https://docs.retellai.com/features/inbound-call-webhook): `{"event":"call_inbound","call_inbound":{…}}` with
 * `agent_id`, `agent_version`, `from_number` and `to_number` as Retell sends them, plus what Twilio told us that
 * a CRM can use. Knows no framework.
 */
import type { AgentConfig } from "../agents/schema.ts";
import { normalizeE164 } from "../phone.ts";
import type { InboundCall } from "../twilio/params.ts";

export interface HookRequest {
  event: "call_inbound";
  /** Only on `npm run doctor`'s test request: the operator's server must not act on it. */
  test?: true;
  call_inbound: {
    agent_id: string;
    agent_version?: number;
    /** E.164; absent for a withheld caller (Retell sends none either). */
    from_number?: string;
    to_number?: string;
    twilio_call_sid: string;
    twilio_account_sid?: string;
    /** Twilio's `From` as it came (`anonymous`, `client:…` included). */
    caller_number: string;
    /** Whether the schedule says the line is closed now (the rules' `after_hours` variable). */
    after_hours: boolean;
    /** Twilio's CNAM lookup (`CallerName`), when the number has it turned on. */
    caller_name?: string;
    caller_country?: string;
    caller_state?: string;
    caller_city?: string;
    /** Twilio's SHAKEN/STIR verdict (`StirVerstat`), US calls only. */
    stir_verstat?: string;
  };
}

/** The request for `call`, about to be taken by `agent` (whose variables carry the rules' `after_hours`). */
export function hookRequest(call: InboundCall, agent: AgentConfig, options: { test?: boolean } = {}): HookRequest {
  const from = normalizeE164(call.from);
  const to = normalizeE164(call.to);
  const { caller } = call;
  return {
    event: "call_inbound",
    ...(options.test && { test: true as const }),
    call_inbound: {
      agent_id: agent.retellAgentId,
      ...(agent.retellAgentVersion !== undefined && { agent_version: agent.retellAgentVersion }),
      ...(from !== null && { from_number: from }),
      ...(to !== null && { to_number: to }),
      twilio_call_sid: call.callSid,
      ...(call.accountSid && { twilio_account_sid: call.accountSid }),
      caller_number: call.from,
      after_hours: agent.dynamicVariables?.after_hours === "true",
      ...(caller?.name && { caller_name: caller.name }),
      ...(caller?.country && { caller_country: caller.country }),
      ...(caller?.state && { caller_state: caller.state }),
      ...(caller?.city && { caller_city: caller.city }),
      ...(caller?.stirVerstat && { stir_verstat: caller.stirVerstat }),
    },
  };
}
