/**
 * X-Twilio-Signature as Twilio computes it (https://www.twilio.com/docs/usage/security): HMAC-SHA1 keyed with
 * the auth token over the URL followed by every POST parameter sorted by name, `name + value` with no
 * delimiters (repeated names: each distinct value, sorted), base64. Tested against twilio-node's helper.
 */
import { createHmac } from "node:crypto";

export type FormParams = Record<string, string | string[]>;

export function twilioSignature(authToken: string, url: string, params: FormParams): string {
  let data = url;
  for (const name of Object.keys(params).sort()) {
    const value = params[name] as string | string[];
    for (const v of Array.isArray(value) ? [...new Set(value)].sort() : [value]) data += name + v;
  }
  return createHmac("sha1", authToken).update(Buffer.from(data, "utf8")).digest("base64");
}

export function formBody(params: FormParams): string {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const v of Array.isArray(value) ? value : [value]) body.append(name, v);
  }
  return body.toString();
}
