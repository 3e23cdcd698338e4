/**
 * The agent mapping stored in KV: the one schema shared by the Worker and the CLI.
 * A value is either a bare Retell agent id (`agent_abc123`) or a JSON object; see docs/storage.md.
 */
import { normalizeE164 } from "../phone.ts";
import { validateCallerPatterns } from "../rules/callers.ts";
import { validateSchedule, type Schedule } from "../rules/schedule.ts";

export interface AgentConfig {
  retellAgentId: string;
  retellAgentVersion?: number;
  name?: string;
  /** E.164 number dialed when Retell cannot take the call. */
  fallbackNumber?: string;
  dynamicVariables?: Record<string, string>;
  metadata?: Record<string, unknown>;
  /** Opening hours and where calls go outside them (rules/schedule.ts). */
  schedule?: Schedule;
  /** Caller patterns turned away with `<Reject>` (rules/callers.ts). */
  blockedCallers?: string[];
  /** When set, only these callers reach the agent; the others go where after-hours calls go. */
  allowedCallers?: string[];
}

export type AgentConfigError = {
  reason: "agent_missing_retell_id" | "agent_config_invalid";
  /** Which field is wrong and why; for logs and CLI messages, never for callers. */
  detail: string;
};

/** Why no agent can serve a call: the value's own problems, or none stored, or KV failing. */
export type AgentLookupFailure = AgentConfigError["reason"] | "agent_not_found" | "agent_lookup_failed";

export type AgentParseResult = { ok: true; agent: AgentConfig } | ({ ok: false } & AgentConfigError);

/** Retell agent ids look like `agent_` followed by letters and digits. */
export const RETELL_AGENT_ID = /^agent_[A-Za-z0-9]+$/;
/** KV keys for the per-agent route (`/api/webhooks/twilio/:agentId`) are `agent:<agentId>`. */
export const AGENT_KEY_PREFIX = "agent:";
/** Route agent ids: what can safely sit in a URL path segment and a KV key. */
export const ROUTE_AGENT_ID = /^[A-Za-z0-9_-]{1,128}$/;

const KNOWN_FIELDS = new Set(["retellAgentId", "retellAgentVersion", "name", "fallbackNumber", "dynamicVariables", "metadata", "schedule", "blockedCallers", "allowedCallers"]);

const invalid = (detail: string): AgentParseResult => ({ ok: false, reason: "agent_config_invalid", detail });

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parses a stored KV value. Never throws: a bad value is a configuration error for that number. */
export function parseAgentValue(raw: string): AgentParseResult {
  const text = raw.trim();
  if (!text.startsWith("{")) {
    return RETELL_AGENT_ID.test(text)
      ? { ok: true, agent: { retellAgentId: text } }
      : invalid("value is neither a Retell agent id (agent_...) nor a JSON object");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return invalid("value is not valid JSON");
  }
  return validateAgentConfig(value);
}

/** Validates an agent object (from KV JSON, or from a CLI import row). */
export function validateAgentConfig(value: unknown): AgentParseResult {
  if (!isPlainObject(value)) return invalid("value is not a JSON object");
  for (const field of Object.keys(value)) {
    if (!KNOWN_FIELDS.has(field)) return invalid(`unknown field "${field}"`);
  }
  const { retellAgentId, retellAgentVersion, name, fallbackNumber, dynamicVariables, metadata, schedule, blockedCallers, allowedCallers } = value;
  if (retellAgentId === undefined || retellAgentId === null || retellAgentId === "") {
    return { ok: false, reason: "agent_missing_retell_id", detail: "retellAgentId is missing" };
  }
  if (typeof retellAgentId !== "string" || !RETELL_AGENT_ID.test(retellAgentId)) {
    return invalid("retellAgentId is not a Retell agent id (agent_...)");
  }
  const agent: AgentConfig = { retellAgentId };
  if (retellAgentVersion !== undefined) {
    if (typeof retellAgentVersion !== "number" || !Number.isSafeInteger(retellAgentVersion) || retellAgentVersion < 0) {
      return invalid("retellAgentVersion is not a whole number >= 0");
    }
    agent.retellAgentVersion = retellAgentVersion;
  }
  if (name !== undefined) {
    if (typeof name !== "string") return invalid("name is not a string");
    agent.name = name;
  }
  if (fallbackNumber !== undefined) {
    const number = typeof fallbackNumber === "string" ? normalizeE164(fallbackNumber) : null;
    if (!number) return invalid("fallbackNumber is not an E.164 phone number");
    agent.fallbackNumber = number;
  }
  if (dynamicVariables !== undefined) {
    if (!isPlainObject(dynamicVariables)) return invalid("dynamicVariables is not an object");
    for (const [key, v] of Object.entries(dynamicVariables)) {
      if (typeof v !== "string") return invalid(`dynamicVariables.${key} is not a string`);
    }
    agent.dynamicVariables = dynamicVariables as Record<string, string>;
  }
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) return invalid("metadata is not an object");
    agent.metadata = metadata;
  }
  if (schedule !== undefined) {
    const checked = validateSchedule(schedule, (id) => ROUTE_AGENT_ID.test(id));
    if (!checked.ok) return invalid(checked.detail);
    agent.schedule = checked.schedule;
  }
  if (blockedCallers !== undefined) {
    const checked = validateCallerPatterns(blockedCallers, "blockedCallers");
    if (!checked.ok) return invalid(checked.detail);
    agent.blockedCallers = checked.patterns;
  }
  if (allowedCallers !== undefined) {
    const checked = validateCallerPatterns(allowedCallers, "allowedCallers");
    if (!checked.ok) return invalid(checked.detail);
    if (checked.patterns.length === 0) return invalid("allowedCallers is empty, which would let nobody through: leave it out to allow every caller");
    agent.allowedCallers = checked.patterns;
  }
  return { ok: true, agent };
}

/** The value to store: a bare id when that is all there is, else compact JSON. */
export function serializeAgentConfig(agent: AgentConfig): string {
  const fields = Object.keys(agent).filter((k) => agent[k as keyof AgentConfig] !== undefined);
  return fields.length === 1 ? agent.retellAgentId : JSON.stringify(agent);
}
