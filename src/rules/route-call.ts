/**
 * Everything the voice webhook needs before it may call Retell: the agent's KV value and the global blocklist
 * (read side by side, both cached, beside the call's claim on its line), then the rate limits and the rules'
 * decision. The only extra KV read is the after-hours agent's, and only for a call that goes to one.
 *
 * The blocklist fails open: a malformed value, or KV failing to give it, is logged and the call goes on as if
 * nothing were blocked. It only ever takes calls away, and one global key written wrongly by hand must not
 * silence every number at once; `npm run rules` validates before it writes, so only a hand-made value can be bad.
 */
import { lookupAgent, readKv, type AgentLookup } from "../agents/lookup.ts";
import { AGENT_KEY_PREFIX } from "../agent-key.ts";
import type { AgentConfig } from "../agents/schema.ts";
import { ruleOutcome } from "../calls/outcome.ts";
import type { VoiceOutcome } from "../line/voice-outcome.ts";
import type { InboundCall } from "../twilio/params.ts";
import { log } from "../log.ts";
import { BLOCKLIST_KEY, parseBlocklist } from "./blocklist.ts";
import type { PatternsResult } from "./callers.ts";
import type { ClosedReason } from "../line/voice-outcome.ts";
import { blockReason, decide, type RuleVariables } from "./decide.ts";
import { countCall, UNCOUNTED, type Limiters } from "./limits.ts";
import { callerVerification } from "./verification.ts";

export interface RouteBindings extends Limiters {
  AGENTS: KVNamespace;
}

type FoundAgent = Extract<AgentLookup, { ok: true }>;

export type Routing =
  /**
   * Answered without Retell: no agent serves the number (the lookup's failure is the outcome), or a rule
   * answers (reject, rate limit, after-hours message or number, a broken after-hours agent). `detail` is for the log.
   */
  | { kind: "answer"; lookup: AgentLookup; outcome: VoiceOutcome; detail?: string }
  /**
   * Register with Retell for `agent` (the number's own, or the after-hours one stored under `key`), whose
   * dynamic variables already carry the rules' (`after_hours`).
   */
  | { kind: "connect"; lookup: FoundAgent; key: string; agent: AgentConfig; reason?: ClosedReason };

/** Beside the agent lookup: a blocklist read slower than this gives up, so it never holds a call up for long. */
export const BLOCKLIST_TIMEOUT_MS = 1_000;

/** The last blocklist value parsed, so a memoised one is not parsed again on every call. */
let parsed: { raw: string | null; result: PatternsResult } | undefined;

/** The global blocklist's patterns; an empty list when it is missing, malformed or unreadable (logged). */
export async function readBlocklist(kv: KVNamespace, timeoutMs = BLOCKLIST_TIMEOUT_MS): Promise<string[]> {
  let raw: string | null;
  try {
    raw = await readKv(kv, BLOCKLIST_KEY, timeoutMs);
  } catch (error) {
    log("warn", "rules.blocklist_unreadable", { detail: error instanceof Error ? error.message : String(error) });
    return [];
  }
  if (parsed?.raw !== raw) parsed = { raw, result: parseBlocklist(raw) };
  if (parsed.result.ok) return parsed.result.patterns;
  log("error", "rules.blocklist_invalid", { detail: parsed.result.detail, fix: "npm run rules -- list names the problem" });
  return [];
}

function withVariables(agent: AgentConfig, variables: RuleVariables): AgentConfig {
  return Object.keys(variables).length === 0 ? agent : { ...agent, dynamicVariables: { ...agent.dynamicVariables, ...variables } };
}

/** What the rules need from KV: the agent's value and the global blocklist, read side by side (both cached). */
export interface RoutingRead {
  lookup: AgentLookup;
  blocklist: string[];
}

export async function readRouting(env: Pick<RouteBindings, "AGENTS">, key: string | null): Promise<RoutingRead> {
  const [lookup, blocklist] = await Promise.all([lookupAgent(env.AGENTS, key), readBlocklist(env.AGENTS)]);
  return { lookup, blocklist };
}

/**
 * The rules' decision for a call. `count`: whether this webhook counts against the rate limits; only the one
 * answering the call does (copies of a webhook are not calls, and a dry run is none).
 */
export async function applyRules(env: RouteBindings, read: RoutingRead, call: InboundCall, now: number, count: boolean): Promise<Routing> {
  const { lookup, blocklist } = read;
  if (!lookup.ok) return { kind: "answer", lookup, outcome: { kind: lookup.reason }, detail: lookup.detail };
  const { agent } = lookup;
  // A blocked caller is turned away for nothing: not counted either.
  const verification = callerVerification(call.stirVerstat);
  const blocked = blockReason(agent, blocklist, call.from, verification);
  const limits = !count || blocked ? UNCOUNTED : await countCall(env, call.from, call.to);
  const decision = decide({ agent, blocklist, from: call.from, to: call.to, verification, now, limits, blocked });
  if (decision.kind !== "connect") {
    return { kind: "answer", lookup, outcome: ruleOutcome(decision), ...("detail" in decision && decision.detail && { detail: decision.detail }) };
  }
  if (decision.agentId === undefined) return { kind: "connect", lookup, key: lookup.key, agent: withVariables(agent, decision.variables) };
  // The after-hours agent takes the call as it is: its own rules are not applied again, so two agents can never loop.
  const afterHoursKey = AGENT_KEY_PREFIX + decision.agentId;
  const other = await lookupAgent(env.AGENTS, afterHoursKey);
  if (!other.ok) return { kind: "answer", lookup, outcome: { kind: other.reason }, detail: `after-hours agent ${afterHoursKey}: ${other.detail}` };
  return { kind: "connect", lookup, key: afterHoursKey, agent: withVariables(other.agent, decision.variables), ...(decision.reason && { reason: decision.reason }) };
}
