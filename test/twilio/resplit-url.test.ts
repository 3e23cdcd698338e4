/**
 * Re-splits across the URL and the first parameter's name: Twilio signs the URL followed by the sorted
 * name+value pairs with no separator, so the tail of a signed URL can become the start of a first parameter's
 * name (one that sorts first). Every Twilio route refuses a name that is not Twilio-shaped, and every URL the
 * Worker gives Twilio ends with a parameter whose value (digits) can never start a valid name.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getExpectedTwilioSignature } from "twilio/lib/webhooks/webhooks.js";
import { isTwilioShapedName } from "../../src/twilio/params.ts";
import { ORIGIN, retellRequests, twilioRequest, uniqueAgentId, uniqueNumber, voiceParams, worker } from "../helpers.ts";
import { readCall, withBindings } from "../records.ts";
import { TEST_TWILIO_AUTH_TOKEN } from "../secrets.ts";
import { createsFrom, placeCall } from "../outbound.ts";
import { callUpdates, parseTwiml, transfer, transferCall } from "../transfers.ts";

/**
 * The same signed string, re-split: the URL's last `cut` characters become the start of the first parameter's
 * name, which still sorts first when they start with a character before `A` (`/`, `=`, a digit …).
 */
function resplit(url: string, params: Record<string, string>, cut: number): { url: string; params: Record<string, string> } {
  const [first, ...rest] = Object.keys(params).sort();
  const moved = url.slice(url.length - cut);
  const out: Record<string, string> = { [moved + first]: params[first as string] as string };
  for (const name of rest) out[name] = params[name] as string;
  return { url: url.slice(0, url.length - cut), params: out };
}

describe("a parameter name that is not Twilio-shaped", () => {
  it.each([
    ["a status callback replayed as a voice webhook (the tail /status moved into the name)", "/api/webhooks/twilio/status", 7],
    ["a dial-complete for the fallback leg turned into leg (=fallback moved into the name)", "/api/webhooks/twilio/dial-complete?agent=%2B61390000000&leg=fallback", 9],
  ])("is refused with 400 on %s, with a signature Twilio's helper says is valid", async (_, path, cut) => {
    const to = uniqueNumber();
    const agentId = uniqueAgentId("resplit");
    await env.AGENTS.put(to, JSON.stringify({ retellAgentId: agentId }));
    const original = voiceParams({ To: to });
    const signature = getExpectedTwilioSignature(TEST_TWILIO_AUTH_TOKEN, ORIGIN + path, original);
    const split = resplit(ORIGIN + path, original, cut);
    expect(getExpectedTwilioSignature(TEST_TWILIO_AUTH_TOKEN, split.url, split.params)).toBe(signature);
    const { status } = await withBindings(twilioRequest(split.url.slice(ORIGIN.length), split.params), {});
    expect(status).toBe(400);
    expect(await retellRequests(agentId)).toHaveLength(0);
    expect(await readCall(original.CallSid as string)).toBeNull();
  });

  it.each(["fallbackAccountSid", "accountSid", "_AccountSid", "Account Sid", "Account=Sid", "Ünicode", "1AccountSid"])("refuses the name %j", (name) => {
    expect(isTwilioShapedName(name)).toBe(false);
  });

  it.each(["AccountSid", "SipHeader_X-Custom-Header", "StirVerstat", "Called.Zip", "DialCallSid"])("accepts Twilio's name %j", (name) => {
    expect(isTwilioShapedName(name)).toBe(true);
  });
});

/** Whether a URL the Worker gave Twilio ends with a parameter whose value is digits only. */
const endsWithDigits = (url: string) => /[?&][A-Za-z]+=\d+$/.test(url);

describe("every URL the Worker gives Twilio", () => {
  it("ends with digits: the voice answer's dial actions", async () => {
    const to = uniqueNumber();
    await env.AGENTS.put(to, JSON.stringify({ retellAgentId: uniqueAgentId("end"), fallbackNumber: "+61390000077" }));
    const twiml = await (await worker(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })))).text();
    const action = parseTwiml(twiml).dial?.action ?? "";
    expect(action).toContain("leg=retell");
    expect(endsWithDigits(action)).toBe(true);
  });

  it("ends with digits: an outbound call's Url and StatusCallback", async () => {
    const call = await placeCall();
    const [create] = await createsFrom(call.from);
    expect(endsWithDigits(create?.form.Url?.[0] ?? "")).toBe(true);
    expect(endsWithDigits(create?.form.StatusCallback?.[0] ?? "")).toBe(true);
  });

  it("ends with digits: a transfer's action and whisper", async () => {
    const call = await transferCall();
    await transfer(call, { destination: "sales", announce: "A caller about Billing" });
    const [update] = await callUpdates(call.sid);
    const twiml = parseTwiml(update!.form.Twiml![0]!);
    expect(endsWithDigits(twiml.dial?.action ?? "")).toBe(true);
    expect(endsWithDigits(twiml.noun?.url ?? "")).toBe(true);
  });
});
