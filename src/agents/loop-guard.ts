/**
 * The loop guard, as the CLI applies it when a value is written: no number the bridge would dial for an agent (its
 * fallback, a transfer destination, its after-hours number) may be one of the bridge's own numbers, the keys of
 * KV that are E.164 numbers (agents/own-numbers.ts says why, and checks the same at run time). Plain TypeScript
 * shared with the CLI.
 */
import { normalizeE164 } from "../phone.ts";
import type { AgentConfig } from "./schema.ts";

export interface DialedNumber {
  /** The field as the operator writes it: `fallbackNumber`, `transfers.sales`, `schedule.afterHours.number`. */
  field: string;
  number: string;
}

/** Every phone number the bridge may dial for `agent`, by field (a `sip:` destination is never one of ours). */
export function dialedNumbers(agent: AgentConfig): DialedNumber[] {
  const dialed: DialedNumber[] = [];
  if (agent.fallbackNumber) dialed.push({ field: "fallbackNumber", number: agent.fallbackNumber });
  for (const [name, target] of Object.entries(agent.transfers ?? {})) {
    if (!target.startsWith("sip:")) dialed.push({ field: `transfers.${name}`, number: target });
  }
  const afterHours = agent.schedule?.afterHours;
  if (afterHours && "number" in afterHours) dialed.push({ field: "schedule.afterHours.number", number: afterHours.number });
  return dialed;
}

/** The bridge's own numbers among KV's keys: each key that is itself an E.164 number (`agent:<id>` keys are not). */
export function ownNumbers(keys: Iterable<string>): Set<string> {
  const own = new Set<string>();
  for (const key of keys) if (normalizeE164(key) === key) own.add(key);
  return own;
}

/** The fields of `agent` that name one of `own`: each would send a call back into the bridge. */
export function loopingNumbers(agent: AgentConfig, own: ReadonlySet<string>): DialedNumber[] {
  return dialedNumbers(agent).filter((d) => own.has(d.number));
}

/** The problem to show for a looping field, naming it. */
export function loopMessage(looping: DialedNumber): string {
  return `${looping.number} is one of this bridge's own numbers (it has a mapping): a call sent there would come straight back in, each hop a billed leg`;
}
