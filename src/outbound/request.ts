/**
 * The body of POST /api/calls, checked field by field: what an operator asks to be called, and how. Plain
 * TypeScript shared with the CLI (`npm run call` validates a CSV with it before placing anything).
 */
import { AGENT_KEY_PREFIX, ROUTE_AGENT_ID } from "../agent-key.ts";
import { normalizeE164 } from "../phone.ts";
import { MACHINE_DETECTIONS, type MachineDetection } from "../line/machine.ts";

/** Twilio's `<Say>` takes at most 4,096 characters (https://www.twilio.com/docs/voice/twiml/say); a voicemail needs far fewer. */
export const MAX_VOICEMAIL_CHARS = 1_000;
/** Retell variable names as prompts write them (`{{first_name}}`): letters, digits and `_`. */
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** A variable's value is spoken or read by the agent: a sentence or two, not a document. */
export const MAX_VARIABLE_CHARS = 1_000;
export const MAX_VARIABLES = 50;
/** Metadata is stored with the call and sent to Retell: small JSON, not a payload. */
export const MAX_METADATA_BYTES = 4_096;

const FIELDS = new Set(["to", "from", "agentId", "dynamicVariables", "metadata", "machineDetection", "voicemailMessage"]);

export interface OutboundRequest {
  /** The callee, E.164. */
  to: string;
  /** Our Twilio number that calls, E.164: the line whose object holds the call and counts its limits. */
  from: string;
  /** The KV key of the agent: `agent:<agentId>` when given, else `from`. */
  agentKey: string;
  dynamicVariables: Record<string, string>;
  metadata: Record<string, unknown>;
  machineDetection: MachineDetection;
  voicemailMessage?: string;
}

export type RequestRead = { ok: true; request: OutboundRequest } | { ok: false; field: string; message: string };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Checks `value` as one variable; the problem (a phrase naming the field) or null. */
export function variableProblem(name: string, value: unknown): string | null {
  if (!VARIABLE_NAME.test(name)) return `dynamicVariables name ${JSON.stringify(name)} must be letters, digits and _ (not starting with a digit), at most 64`;
  if (typeof value !== "string") return `dynamicVariables.${name} must be a string`;
  if (value.length > MAX_VARIABLE_CHARS) return `dynamicVariables.${name} is longer than ${MAX_VARIABLE_CHARS} characters`;
  return null;
}

/** The request, or the first field at fault with a message safe to answer with. */
export function readOutboundRequest(body: unknown): RequestRead {
  const fail = (field: string, message: string): RequestRead => ({ ok: false, field, message });
  if (!isPlainObject(body)) return fail("body", "the body must be a JSON object");
  for (const key of Object.keys(body)) if (!FIELDS.has(key)) return fail(key, `unknown field ${key}`);

  const numbers: Record<"to" | "from", string> = { to: "", from: "" };
  for (const field of ["to", "from"] as const) {
    const value = body[field];
    if (value === undefined) return fail(field, `${field} is required`);
    const number = typeof value === "string" ? normalizeE164(value) : null;
    if (number === null) return fail(field, `${field} must be a phone number in E.164, such as +14155550100`);
    numbers[field] = number;
  }
  if (numbers.to === numbers.from) return fail("to", "to must be another number than from");

  let agentKey = numbers.from;
  if (body.agentId !== undefined) {
    if (typeof body.agentId !== "string" || !ROUTE_AGENT_ID.test(body.agentId)) return fail("agentId", "agentId must be 1 to 128 of A-Z a-z 0-9 _ -");
    agentKey = AGENT_KEY_PREFIX + body.agentId;
  }

  const dynamicVariables: Record<string, string> = {};
  if (body.dynamicVariables !== undefined) {
    if (!isPlainObject(body.dynamicVariables)) return fail("dynamicVariables", "dynamicVariables must be an object of strings");
    const entries = Object.entries(body.dynamicVariables);
    if (entries.length > MAX_VARIABLES) return fail("dynamicVariables", `dynamicVariables may hold at most ${MAX_VARIABLES} variables`);
    for (const [name, value] of entries) {
      const problem = variableProblem(name, value);
      if (problem) return fail("dynamicVariables", problem);
      dynamicVariables[name] = value as string;
    }
  }

  let metadata: Record<string, unknown> = {};
  if (body.metadata !== undefined) {
    if (!isPlainObject(body.metadata)) return fail("metadata", "metadata must be a JSON object");
    if (new TextEncoder().encode(JSON.stringify(body.metadata)).length > MAX_METADATA_BYTES) return fail("metadata", `metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON`);
    metadata = body.metadata;
  }

  let machineDetection: MachineDetection = "off";
  if (body.machineDetection !== undefined) {
    const choice = MACHINE_DETECTIONS.find((d) => d === body.machineDetection);
    if (!choice) return fail("machineDetection", `machineDetection must be one of ${MACHINE_DETECTIONS.join(", ")}`);
    machineDetection = choice;
  }

  const request: OutboundRequest = { to: numbers.to, from: numbers.from, agentKey, dynamicVariables, metadata, machineDetection };
  const message = body.voicemailMessage;
  if (machineDetection === "message") {
    if (typeof message !== "string" || message.trim() === "") return fail("voicemailMessage", "voicemailMessage is required with machineDetection message: it is what the machine records");
    if (message.length > MAX_VOICEMAIL_CHARS) return fail("voicemailMessage", `voicemailMessage is longer than ${MAX_VOICEMAIL_CHARS} characters`);
    request.voicemailMessage = message;
  } else if (message !== undefined) {
    return fail("voicemailMessage", "voicemailMessage is only used with machineDetection message");
  }
  return { ok: true, request };
}
