/**
 * Signing the webhooks this Worker sends to the operator's own servers (the pre-call hook, call events), the
 * Standard Webhooks way (https://github.com/standard-webhooks/standard-webhooks, spec/standard-webhooks.md):
 *
 *   webhook-id: msg_…            unique per message, the same on every retry of it
 *   webhook-timestamp: 1733500000   unix seconds of this attempt
 *   webhook-signature: v1,<base64 HMAC-SHA256(key, `${id}.${timestamp}.${body}`)> [v1,<…> with the second secret]
 *
 * The secret is written `whsec_<base64>`; the HMAC key is the decoded bytes. During a rotation both secrets sign,
 * space-separated in one header, so a receiver holding either verifies. Signed with WebCrypto (no pure-JS HMAC).
 * Knows no framework and no vendor.
 */

/** The spec's secret prefix. */
export const SECRET_PREFIX = "whsec_";
/** The spec asks for 24–64 random bytes; fewer is refused so a guessable secret never signs. */
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;

export type SecretCheck = { ok: true; key: Uint8Array<ArrayBuffer> } | { ok: false; problem: string };

/** Checks a `whsec_…` value; `problem` names what is wrong without echoing the value. */
export function parseSecret(value: string): SecretCheck {
  if (!value.startsWith(SECRET_PREFIX)) return { ok: false, problem: `must start with ${SECRET_PREFIX}` };
  const encoded = value.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) return { ok: false, problem: `must be ${SECRET_PREFIX} followed by standard base64` };
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
  } catch {
    return { ok: false, problem: `must be ${SECRET_PREFIX} followed by standard base64` };
  }
  if (bytes.length < MIN_SECRET_BYTES || bytes.length > MAX_SECRET_BYTES) {
    return { ok: false, problem: `must decode to ${MIN_SECRET_BYTES}–${MAX_SECRET_BYTES} bytes (it decodes to ${bytes.length})` };
  }
  return { ok: true, key: bytes };
}

export type Signer =
  | { ok: true; sign: (id: string, timestamp: number, body: string) => Promise<string> }
  /** `secret` names the variable at fault; `problem` says why (never the value). */
  | { ok: false; secret: string; problem: string };

const encoder = new TextEncoder();
/** WebCrypto's key type, named through `crypto` so the CLI (Node's types) can share this module. */
type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;
/** A secret as parsed once: what is wrong with it, or its HMAC key (imported on first use). */
type ParsedSecret = { ok: true; key: () => Promise<HmacKey> } | { ok: false; problem: string };
/**
 * Parsed secrets by their value: decoding and importKey cost more than the HMAC itself, and the secrets change only
 * at a rotation, so each signer (every delivery batch, every hook call) reuses them. A few values at most, held
 * only in this isolate's memory, where the Worker's env holds them anyway.
 */
const parsed = new Map<string, ParsedSecret>();
/** More values than a primary and a secondary across a rotation or two: the map is emptied rather than grown. */
const MAX_PARSED = 8;

function parseOnce(value: string): ParsedSecret {
  const known = parsed.get(value);
  if (known) return known;
  const check = parseSecret(value);
  let key: Promise<HmacKey> | undefined;
  const entry: ParsedSecret = check.ok
    ? { ok: true, key: () => (key ??= crypto.subtle.importKey("raw", check.key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"])) }
    : { ok: false, problem: check.problem };
  if (parsed.size >= MAX_PARSED) parsed.clear();
  parsed.set(value, entry);
  return entry;
}

function base64(bytes: ArrayBuffer): string {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text);
}

/**
 * A signer over the primary secret and, during a rotation, the secondary. Fails closed: a missing or malformed
 * primary (or a malformed secondary) gives no signer at all, so nothing is ever sent unsigned or half-signed.
 */
export function signer(secrets: { primary?: string | undefined; secondary?: string | undefined; primaryName: string; secondaryName: string }): Signer {
  const primary = secrets.primary?.trim();
  if (!primary) return { ok: false, secret: secrets.primaryName, problem: "is not set" };
  const values = [{ name: secrets.primaryName, value: primary }];
  const secondary = secrets.secondary?.trim();
  if (secondary) values.push({ name: secrets.secondaryName, value: secondary });
  const keys: (() => Promise<HmacKey>)[] = [];
  for (const { name, value } of values) {
    const secret = parseOnce(value);
    if (!secret.ok) return { ok: false, secret: name, problem: secret.problem };
    keys.push(secret.key);
  }
  return {
    ok: true,
    async sign(id, timestamp, body) {
      const content = encoder.encode(`${id}.${timestamp}.${body}`);
      const signatures = await Promise.all(keys.map(async (key) => `v1,${base64(await crypto.subtle.sign("HMAC", await key(), content))}`));
      return signatures.join(" ");
    },
  };
}

/** A fresh message id (`msg_` and 24 random hex digits… as in the spec's examples, any unique string works). */
export function newMessageId(): string {
  return `msg_${crypto.randomUUID().replaceAll("-", "")}`;
}

/** The three headers for one attempt at sending `body` as message `id`. */
export async function signedHeaders(sign: (id: string, timestamp: number, body: string) => Promise<string>, id: string, body: string, now = Date.now()): Promise<Record<string, string>> {
  const timestamp = Math.floor(now / 1000);
  return { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": await sign(id, timestamp, body) };
}
