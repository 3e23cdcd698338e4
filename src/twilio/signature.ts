/**
 * `X-Twilio-Signature` validation with WebCrypto, matching the official `twilio` package 6.2.0
 * (`lib/webhooks/webhooks.js` validateRequest): HMAC-SHA1 over the URL plus every POST parameter
 * sorted by name, `name + value` with no delimiters; repeated names contribute each distinct value
 * in sorted order. See https://www.twilio.com/docs/usage/security#validating-requests.
 */
import { joinedParams, type TwilioParams } from "./params.ts";

const encoder = new TextEncoder();
/** Imported HMAC keys, one per auth token: importKey is the costliest step and tokens rarely change. */
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(token: string): Promise<CryptoKey> {
  let key = keys.get(token);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(token), { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
    if (keys.size > 8) keys.clear();
    keys.set(token, key);
  }
  return key;
}

/** The string Twilio signs: the URL, then each parameter name and value, sorted by name (UTF-16 code unit order). */
export function signedPayload(url: string, params: TwilioParams): string {
  return url + joinedParams(params);
}

export async function computeSignature(token: string, url: string, params: TwilioParams): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(token), encoder.encode(signedPayload(url, params)));
  return btoa(String.fromCharCode(...new Uint8Array(mac)));
}

/** Splits `scheme://userinfo@host:port/rest` without normalising it, as twilio-node's splitUrl does. */
function splitUrl(url: string) {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i.exec(url);
  if (!match) return null;
  const [prefix, scheme, authority] = match as unknown as [string, string, string];
  const userInfoEnd = authority.lastIndexOf("@");
  const hostAndPort = authority.slice(userInfoEnd + 1);
  const portStart = hostAndPort.indexOf(":", hostAndPort.lastIndexOf("]") + 1);
  return {
    scheme,
    userInfo: authority.slice(0, userInfoEnd + 1),
    host: portStart === -1 ? hostAndPort : hostAndPort.slice(0, portStart),
    port: portStart === -1 ? "" : hostAndPort.slice(portStart),
    rest: url.slice(prefix.length),
  };
}

function removePort(url: string): string {
  const parts = splitUrl(url);
  return parts ? parts.scheme + parts.userInfo + parts.host + parts.rest : url;
}

function addPort(url: string): string {
  const parts = splitUrl(url);
  if (!parts || parts.port) return url;
  const port = parts.scheme.toLowerCase() === "https://" ? ":443" : ":80";
  return parts.scheme + parts.userInfo + parts.host + port + parts.rest;
}

/** Node's legacy `querystring.escape`: encodeURIComponent, which leaves `!'()*` as they are too. */
function legacyEscape(value: string): string {
  return encodeURIComponent(value);
}

/**
 * Node's legacy `querystring.unescape`: decodeURIComponent, falling back to decoding each `%XX`
 * as a byte and invalid UTF-8 as U+FFFD (its unescapeBuffer(...).toString()).
 */
function legacyUnescape(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    const bytes: number[] = [];
    for (let i = 0; i < value.length; i++) {
      const hex = value.slice(i + 1, i + 3);
      if (value[i] === "%" && /^[0-9a-fA-F]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16));
        i += 2;
      } else {
        bytes.push(...encoder.encode(value[i]));
      }
    }
    return new TextDecoder().decode(new Uint8Array(bytes));
  }
}

/** Re-encodes the query the way `querystring.stringify(querystring.parse(q))` does (twilio-node's withLegacyQuerystring). */
function withLegacyQuerystring(url: string): string {
  const start = url.indexOf("?");
  if (start === -1 || start === url.length - 1) return url;
  const groups = new Map<string, string[]>();
  for (const pair of url.slice(start + 1).split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const rawName = eq === -1 ? pair : pair.slice(0, eq);
    const rawValue = eq === -1 ? "" : pair.slice(eq + 1);
    const name = legacyUnescape(rawName.replace(/\+/g, " "));
    const value = legacyUnescape(rawValue.replace(/\+/g, " "));
    const values = groups.get(name);
    if (values) values.push(value);
    else groups.set(name, [value]);
  }
  const query = [...groups]
    .flatMap(([name, values]) => values.map((value) => `${legacyEscape(name)}=${legacyEscape(value)}`))
    .join("&");
  return url.slice(0, start) + "?" + query;
}

/**
 * Every URL form twilio-node 6.2.0 accepts, most likely first: the URL as received (Twilio signs the URL it
 * requested, a non-standard port included), then without and with its port, then (only if those fail)
 * `new URL()`'s normalised form and Node's legacy querystring re-encoding. Each form costs an HMAC per token.
 */
export function* candidateUrls(url: string): Generator<string> {
  const seen = new Set<string>();
  function* fresh(candidates: string[]) {
    for (const candidate of candidates) {
      if (!seen.has(candidate)) {
        seen.add(candidate);
        yield candidate;
      }
    }
  }
  yield* fresh([url, removePort(url), addPort(url)]);
  let normalized: string;
  try {
    normalized = new URL(url).toString();
  } catch {
    return;
  }
  const withoutPort = removePort(normalized);
  const withPort = addPort(normalized);
  yield* fresh([withoutPort, withPort]);
  try {
    yield* fresh([withLegacyQuerystring(withoutPort), withLegacyQuerystring(withPort)]);
  } catch {
    // encodeURIComponent throws on a lone surrogate, as Node's querystring.escape does: no such candidate.
  }
}

function constantTimeEqual(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  // The length of an HMAC-SHA1 signature is public; only equal-length inputs reach the timing-safe compare.
  return left.byteLength === right.byteLength && crypto.subtle.timingSafeEqual(left, right);
}

/**
 * True when `signature` is Twilio's signature of the request under any of `tokens`
 * (the primary auth token and, during a rotation, the secondary).
 */
export async function isValidTwilioSignature(
  tokens: readonly string[],
  signature: string | undefined | null,
  url: string,
  params: TwilioParams,
): Promise<boolean> {
  if (!signature) return false;
  for (const candidate of candidateUrls(url.split("#")[0] as string)) {
    for (const token of tokens) {
      if (constantTimeEqual(signature, await computeSignature(token, candidate, params))) return true;
    }
  }
  return false;
}
