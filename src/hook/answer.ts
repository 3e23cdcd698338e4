/**
 * The hook's answer, checked strictly: Retell's inbound-webhook answer
 * (https://docs.retellai.com/features/inbound-call-webhook) `{"call_inbound":{override_agent_id,
 * override_agent_version, dynamic_variables, metadata, agent_override}}`, every field optional, plus this bridge's
 * `reject`. Any field of the wrong type makes the whole answer invalid (the call then goes ahead as configured):
 * half an answer could greet a caller with another caller's name. Fields Retell does not define are ignored, as
 * Retell ignores them, so an operator's existing handler works unchanged. Knows no framework.
 */
import type { HookAnswer, JsonValue } from "../line/stored-hook.ts";

/** Retell's agent ids are letters, digits, `_` and `-` (agent-key.ts ROUTE_AGENT_ID), with at least one letter. */
const AGENT_ID = /^(?=.*[A-Za-z])[A-Za-z0-9_-]{1,128}$/;
/** Nesting deeper than this in metadata or agent_override is refused: no real setting nests so deep, and it bounds the work. */
export const MAX_ANSWER_DEPTH = 16;
/** The groups Retell's `agent_override` takes (retell-sdk `CallRegisterPhoneCallParams.AgentOverride`). */
const OVERRIDE_GROUPS = new Set(["agent", "retell_llm", "conversation_flow"]);

export type AnswerCheck = { ok: true; answer: HookAnswer } | { ok: false; problem: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** How deeply `value` nests objects and arrays, counting no further than `limit + 1`. */
function depth(value: unknown, limit: number): number {
  if (typeof value !== "object" || value === null) return 0;
  if (limit < 0) return 1;
  let deepest = 0;
  for (const item of Object.values(value)) {
    deepest = Math.max(deepest, depth(item, limit - 1));
    if (deepest > limit) break;
  }
  return deepest + 1;
}

const invalid = (problem: string): AnswerCheck => ({ ok: false, problem });

/**
 * Checks an answer body (the text of a 2xx). Empty, `{}`, or a `call_inbound` without fields: go ahead as
 * configured. `problem` names the field, never its value.
 */
export function parseHookAnswer(text: string): AnswerCheck {
  if (text.trim() === "") return { ok: true, answer: {} };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return invalid("body is not JSON");
  }
  if (!isObject(body)) return invalid("body is not a JSON object");
  if (body.call_inbound === undefined) return { ok: true, answer: {} };
  const fields = body.call_inbound;
  if (!isObject(fields)) return invalid("call_inbound is not an object");
  const answer: HookAnswer = {};
  const { override_agent_id, override_agent_version, dynamic_variables, metadata, agent_override, reject } = fields;
  if (override_agent_id !== undefined) {
    if (typeof override_agent_id !== "string" || !AGENT_ID.test(override_agent_id)) return invalid("override_agent_id is not a Retell agent id");
    answer.override_agent_id = override_agent_id;
  }
  if (override_agent_version !== undefined) {
    if (typeof override_agent_version !== "number" || !Number.isSafeInteger(override_agent_version) || override_agent_version < 0) {
      return invalid("override_agent_version is not a whole number >= 0");
    }
    answer.override_agent_version = override_agent_version;
  }
  if (dynamic_variables !== undefined) {
    if (!isObject(dynamic_variables)) return invalid("dynamic_variables is not an object");
    for (const value of Object.values(dynamic_variables)) {
      if (typeof value !== "string") return invalid("dynamic_variables has a value that is not a string");
    }
    answer.dynamic_variables = dynamic_variables as Record<string, string>;
  }
  if (metadata !== undefined) {
    if (!isObject(metadata)) return invalid("metadata is not an object");
    if (depth(metadata, MAX_ANSWER_DEPTH) > MAX_ANSWER_DEPTH) return invalid(`metadata nests deeper than ${MAX_ANSWER_DEPTH} levels`);
    answer.metadata = metadata as { [key: string]: JsonValue };
  }
  if (agent_override !== undefined) {
    if (!isObject(agent_override)) return invalid("agent_override is not an object");
    for (const [group, value] of Object.entries(agent_override)) {
      if (!OVERRIDE_GROUPS.has(group)) return invalid("agent_override has a group Retell does not take (agent, retell_llm, conversation_flow)");
      if (!isObject(value)) return invalid(`agent_override.${group} is not an object`);
    }
    if (depth(agent_override, MAX_ANSWER_DEPTH) > MAX_ANSWER_DEPTH) return invalid(`agent_override nests deeper than ${MAX_ANSWER_DEPTH} levels`);
    answer.agent_override = agent_override as HookAnswer["agent_override"];
  }
  if (reject !== undefined) {
    if (typeof reject !== "boolean") return invalid("reject is not true or false");
    if (reject) answer.reject = true;
  }
  return { ok: true, answer };
}
