/**
 * An agent's transfer destinations (the KV value's `transfers`, docs/storage.md): the only places a call can be
 * handed to. A name the model sends is looked up here; a number or URI it sends is never dialed (toll fraud).
 * Shared by the Worker and the CLI through the agent schema (agents/schema.ts): plain TypeScript.
 */
import { normalizeE164 } from "../phone.ts";

/** Destination names: what the agent's prompt and the function's `destination` argument use. */
export const DESTINATION_NAME = /^[A-Za-z0-9_-]{1,32}$/;
/**
 * A `sip:` URI Twilio's `<Sip>` can dial: an optional user part, a host (name or IPv4), an optional port and
 * `;name=value` parameters. Narrower than RFC 3261 on purpose: no headers (`?`), no spaces, no markup.
 */
const SIP_URI = /^sip:(?:[A-Za-z0-9._~%!$&'*+=,-]{1,64}@)?[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*(?::\d{1,5})?(?:;[A-Za-z0-9_-]{1,32}(?:=[A-Za-z0-9._-]{1,64})?)*$/;
/** Twilio's `<Dial timeout>`: at least 5 s, at most 600 s (https://www.twilio.com/docs/voice/twiml/dial#timeout). */
export const MIN_TRANSFER_TIMEOUT_S = 5;
export const MAX_TRANSFER_TIMEOUT_S = 600;
/** How long the person's phone rings when the agent sets no `transferTimeoutSeconds`. */
export const DEFAULT_TRANSFER_TIMEOUT_S = 25;

export type Transfers = Record<string, string>;

export interface Destination {
  /** The name as the operator wrote it. */
  name: string;
  /** An E.164 number or a `sip:` URI. */
  target: string;
  kind: "number" | "sip";
}

export type TransfersCheck = { ok: true; transfers: Transfers } | { ok: false; detail: string };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Validates `transfers`: names and destinations, E.164 numbers normalised. Details start with the field name. */
export function validateTransfers(value: unknown): TransfersCheck {
  if (!isPlainObject(value)) return { ok: false, detail: "transfers is not an object of name → number or sip: URI" };
  const entries = Object.entries(value);
  if (entries.length === 0) return { ok: false, detail: "transfers is empty: leave it out when the agent may not transfer calls" };
  const transfers: Transfers = {};
  const seen = new Map<string, string>();
  for (const [name, destination] of entries) {
    if (!DESTINATION_NAME.test(name)) return { ok: false, detail: `transfers name ${JSON.stringify(name)} is not 1–32 of a–z 0–9 _ -` };
    const earlier = seen.get(name.toLowerCase());
    if (earlier !== undefined) return { ok: false, detail: `transfers names "${earlier}" and "${name}" are the same name (names are matched case-insensitively)` };
    seen.set(name.toLowerCase(), name);
    const target = typeof destination === "string" ? destinationTarget(destination) : null;
    if (target === null) return { ok: false, detail: `transfers.${name} is not an E.164 number or a sip: URI` };
    transfers[name] = target;
  }
  return { ok: true, transfers };
}

/** A destination as stored: an E.164 number (normalised) or a `sip:` URI; null for anything else. */
function destinationTarget(value: string): string | null {
  const text = value.trim();
  if (text.startsWith("sip:")) return text.length <= 256 && SIP_URI.test(text) ? text : null;
  return normalizeE164(text);
}

/** The destination called `name` (case-insensitively), or null: the only way a name becomes something dialed. */
export function findDestination(transfers: Transfers, name: string): Destination | null {
  const wanted = name.trim().toLowerCase();
  for (const [configured, target] of Object.entries(transfers)) {
    if (configured.toLowerCase() === wanted) return { name: configured, target, kind: target.startsWith("sip:") ? "sip" : "number" };
  }
  return null;
}
