/**
 * The agent mapping stored in KV: the one schema shared by the Worker and the CLI.
 * A value is either a bare Retell agent id (`agent_abc123`) or a JSON object; see docs/storage.md.
 */
import { validateCallHook, type CallHook } from "../hook/settings.ts";
import { ROUTE_AGENT_ID } from "../agent-key.ts";
import { normalizeE164 } from "../phone.ts";
import { validateAnnounce, type Announce } from "../calls/announce.ts";
import { validateHold, type HoldFields } from "../hold/settings.ts";
import { validateVoicemail } from "../voicemail/settings.ts";
import type { AgentLookupFailure, Voicemail } from "../line/voice-outcome.ts";
import { validateCallerPatterns } from "../rules/callers.ts";
import { BLOCK_UNVERIFIED, isBlockUnverified, type BlockUnverified } from "../rules/verification.ts";
import { validateSchedule, type Schedule } from "../rules/schedule.ts";
import { MAX_TRANSFER_TIMEOUT_S, MIN_TRANSFER_TIMEOUT_S, validateTransfers, type Transfers } from "../transfers/destinations.ts";

/** `maxConcurrentCalls`, `holdMessage`, `holdMusicUrl`, `maxHoldSeconds`: see hold/settings.ts. */
export interface AgentConfig extends HoldFields {
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
  /** Where the agent may transfer a call, by name (transfers/destinations.ts); nowhere else. */
  transfers?: Transfers;
  /** How long a transfer rings, seconds (default 25). */
  transferTimeoutSeconds?: number;
  /** The caller id the person sees on a transfer (default: the Twilio number the caller dialed). */
  transferCallerId?: string;
  /** Rejects callers whose SHAKEN/STIR verification failed, or also those with only C attestation (rules/verification.ts). */
  blockUnverified?: BlockUnverified;
  /** The AI leg's `<Dial timeLimit>`, seconds (default: Twilio's four hours). */
  maxCallSeconds?: number;
  /** The consent notice played before the `<Dial>` to Retell (calls/announce.ts). */
  announce?: Announce;
  /** Takes a message when Retell cannot take the call (or a hold ends) and there is no fallback number, or it fails. */
  voicemail?: Voicemail;
  /** The operator's server that decides each call (hook/settings.ts); null turns the CALL_HOOK_URL default off. */
  callHook?: CallHook | null;
}

/** `<Dial timeLimit>`'s range: at least a second, at most Twilio's own default and maximum of four hours. */
export const MAX_CALL_SECONDS = 14_400;

export type AgentConfigError = {
  reason: Extract<AgentLookupFailure, "agent_missing_retell_id" | "agent_config_invalid">;
  /** Which field is wrong and why; for logs and CLI messages, never for callers. */
  detail: string;
};

export type AgentParseResult = { ok: true; agent: AgentConfig } | ({ ok: false } & AgentConfigError);

/** Digits and what people write around them (`+61 3 4151-7921`, `0412.345.678`): a phone number pasted by mistake. */
const PHONE_LIKE = /^[\d\s\-.()+\u00a0]*\d[\d\s\-.()+\u00a0]*$/;
/** Retell's ids have letters (`agent_…`, or 32 random letters and digits); a value without any is not one. */
const HAS_LETTER = /[A-Za-z]/;

/** Every field of an agent value, in the order they are written (the CLI's import and export share it). */
export const AGENT_FIELDS = [
  "retellAgentId", "retellAgentVersion", "name", "fallbackNumber", "dynamicVariables", "metadata", "schedule", "blockedCallers", "allowedCallers",
  "transfers", "transferTimeoutSeconds", "transferCallerId", "callHook", "blockUnverified", "maxCallSeconds", "announce", "maxConcurrentCalls", "holdMessage", "holdMusicUrl", "maxHoldSeconds", "voicemail",
] as const satisfies readonly (keyof AgentConfig)[];
const KNOWN_FIELDS = new Set<string>(AGENT_FIELDS);

const invalid = (detail: string): AgentParseResult => ({ ok: false, reason: "agent_config_invalid", detail });

/** Why `id` cannot be a Retell agent id (a phrase to follow the field's name), or null when it can be. */
function agentIdProblem(id: string): string | null {
  if (PHONE_LIKE.test(id)) return "looks like a phone number, not a Retell agent id";
  if (id.length > 128) return "is longer than the 128 characters of a Retell agent id";
  if (!ROUTE_AGENT_ID.test(id)) return "has characters a Retell agent id never has: it is letters, digits, _ and - only";
  if (!HAS_LETTER.test(id)) return "has no letter, which every Retell agent id has";
  return null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parses a stored KV value. Never throws: a bad value is a configuration error for that number. */
export function parseAgentValue(raw: string): AgentParseResult {
  const text = raw.trim();
  if (!text.startsWith("{")) {
    const problem = agentIdProblem(text);
    return problem === null
      ? { ok: true, agent: { retellAgentId: text } }
      : invalid(`value is not a JSON object, and as a bare retellAgentId it ${problem}`);
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
  const { transfers, transferTimeoutSeconds, transferCallerId, callHook, blockUnverified, maxCallSeconds, announce } = value;
  if (retellAgentId === undefined || retellAgentId === null || retellAgentId === "") {
    return { ok: false, reason: "agent_missing_retell_id", detail: "retellAgentId is missing" };
  }
  if (typeof retellAgentId !== "string") return invalid("retellAgentId is not a string");
  const problem = agentIdProblem(retellAgentId);
  if (problem !== null) return invalid(`retellAgentId ${problem}`);
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
  if (transfers !== undefined) {
    const checked = validateTransfers(transfers);
    if (!checked.ok) return invalid(checked.detail);
    agent.transfers = checked.transfers;
  }
  if (transferTimeoutSeconds !== undefined) {
    const seconds = transferTimeoutSeconds;
    if (typeof seconds !== "number" || !Number.isSafeInteger(seconds) || seconds < MIN_TRANSFER_TIMEOUT_S || seconds > MAX_TRANSFER_TIMEOUT_S) {
      return invalid(`transferTimeoutSeconds is not a whole number from ${MIN_TRANSFER_TIMEOUT_S} to ${MAX_TRANSFER_TIMEOUT_S}`);
    }
    agent.transferTimeoutSeconds = seconds;
  }
  if (transferCallerId !== undefined) {
    const number = typeof transferCallerId === "string" ? normalizeE164(transferCallerId) : null;
    if (!number) return invalid("transferCallerId is not an E.164 phone number");
    agent.transferCallerId = number;
  }
  if (blockUnverified !== undefined) {
    if (!isBlockUnverified(blockUnverified)) return invalid(`blockUnverified is not one of ${BLOCK_UNVERIFIED.map((v) => `"${v}"`).join(", ")}`);
    agent.blockUnverified = blockUnverified;
  }
  if (maxCallSeconds !== undefined) {
    if (typeof maxCallSeconds !== "number" || !Number.isSafeInteger(maxCallSeconds) || maxCallSeconds < 1 || maxCallSeconds > MAX_CALL_SECONDS) {
      return invalid(`maxCallSeconds is not a whole number from 1 to ${MAX_CALL_SECONDS}`);
    }
    agent.maxCallSeconds = maxCallSeconds;
  }
  if (announce !== undefined) {
    const checked = validateAnnounce(announce);
    if (!checked.ok) return invalid(checked.detail);
    agent.announce = checked.value;
  }
  if (value.voicemail !== undefined) {
    const checked = validateVoicemail(value.voicemail, "voicemail");
    if (!checked.ok) return invalid(checked.detail);
    agent.voicemail = checked.voicemail;
  }
  const hold = validateHold(value);
  if (!hold.ok) return invalid(hold.detail);
  Object.assign(agent, hold.fields);
  if (callHook === null) {
    agent.callHook = null;
  } else if (callHook !== undefined) {
    const checked = validateCallHook(callHook);
    if (!checked.ok) return invalid(checked.detail);
    agent.callHook = checked.hook;
  }
  return { ok: true, agent };
}

/** The value to store: a bare id when that is all there is, else compact JSON. */
export function serializeAgentConfig(agent: AgentConfig): string {
  const fields = Object.keys(agent).filter((k) => agent[k as keyof AgentConfig] !== undefined);
  return fields.length === 1 ? agent.retellAgentId : JSON.stringify(agent);
}
