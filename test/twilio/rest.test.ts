/** src/twilio/rest.ts against the Twilio stand-in, which is as strict as Twilio about auth, path and form fields. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Bindings } from "../../src/env.ts";
import { failureLabel, twilioPost } from "../../src/twilio/rest.ts";
import { callSid, failTwilio, twilioRequests, uniqueCaller, uniqueNumber } from "../helpers.ts";
import { TEST_TWILIO_ACCOUNT_SID } from "../secrets.ts";

const bindings = env as Bindings;
const TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Dial action="https://calls.example.com/a"><Number>+61390000001</Number></Dial></Response>';

function update(form: Record<string, string>, overrides: Partial<Bindings> = {}, sid = callSid(), timeoutMs = 2_000) {
  return twilioPost({ ...bindings, ...overrides }, TEST_TWILIO_ACCOUNT_SID, `/Calls/${sid}.json`, form, timeoutMs);
}

describe("twilioPost", () => {
  it("posts the form with Basic auth and answers Twilio's JSON", async () => {
    const sid = callSid();
    expect(await update({ Twiml: TWIML }, {}, sid)).toMatchObject({ ok: true, status: 200, body: { sid, status: "in-progress" } });
    const [received] = await twilioRequests(`/2010-04-01/Accounts/${TEST_TWILIO_ACCOUNT_SID}/Calls/${sid}.json`);
    expect(received?.form).toEqual({ Twiml: [TWIML] });
  });

  it.each([
    ["a wrong auth token", { Twiml: TWIML }, { TWILIO_AUTH_TOKEN: "wrong" }, "twilio_rejected_401_20003"],
    ["a field Twilio's update does not take", { Twiml: TWIML, To: "+19005550100" }, {}, "twilio_rejected_400_20001"],
    ["both Twiml and Url", { Twiml: TWIML, Url: "https://calls.example.com/x" }, {}, "twilio_rejected_400_21205"],
    ["TwiML over 4,000 characters", { Twiml: TWIML.replace("</Response>", `<Say>${"a".repeat(4_000)}</Say></Response>`) }, {}, "twilio_rejected_400_32018"],
    ["a relative action URL", { Twiml: TWIML.replace("https://calls.example.com/a", "/a") }, {}, "twilio_rejected_400_15004"],
  ])("fails with Twilio's code for %s", async (_name, form, overrides, label) => {
    const result = await update(form, overrides);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(failureLabel(result)).toBe(label);
  });

  it("gives up after its time limit when Twilio hangs", async () => {
    const sid = callSid();
    await failTwilio(sid, { status: 500, hang: true });
    // The stand-in never answers: any answer at all is the time limit at work (without it, the test times out).
    const result = await update({ Twiml: TWIML }, {}, sid, 300);
    await failTwilio(sid, null);
    expect(result).toMatchObject({ ok: false, reason: "twilio_timeout" });
  });

  it.each([
    ["no auth token", { TWILIO_AUTH_TOKEN: "" }, TEST_TWILIO_ACCOUNT_SID],
    ["an account SID that is not one", {}, "not-an-account"],
  ])("sends nothing with %s", async (_name, overrides, account) => {
    const sid = callSid();
    const result = await twilioPost({ ...bindings, ...overrides }, account, `/Calls/${sid}.json`, { Twiml: TWIML }, 1_000);
    expect(result).toMatchObject({ ok: false, reason: "twilio_not_configured" });
    expect((await twilioRequests("/2010-04-01/Accounts/")).filter((r) => r.path.includes(sid))).toEqual([]);
  });

  it("creates a call, sending a repeated field once per value", async () => {
    const to = uniqueCaller();
    const form: [string, string][] = [["To", to], ["From", uniqueNumber()], ["Url", "https://bridge.example.com/x"], ["StatusCallbackEvent", "initiated"], ["StatusCallbackEvent", "ringing"]];
    expect(await twilioPost(bindings, TEST_TWILIO_ACCOUNT_SID, "/Calls.json", form, 5_000)).toMatchObject({ ok: true, status: 201, body: { sid: expect.stringMatching(/^CA/), status: "queued" } });
  });

  it("gives Twilio's status, code and message when Twilio refuses", async () => {
    const form: [string, string][] = [["To", uniqueCaller()], ["From", uniqueNumber()], ["Url", "https://bridge.example.com/x"], ["StatusCallbackEvent", "bogus"]];
    expect(await twilioPost(bindings, TEST_TWILIO_ACCOUNT_SID, "/Calls.json", form, 5_000)).toEqual({
      ok: false,
      reason: "twilio_rejected",
      status: 400,
      code: 21626,
      message: "Invalid StatusCallbackEvent: bogus",
      detail: "HTTP 400 code 21626",
    });
  });

  it("reports Twilio unreachable when nothing answers", async () => {
    const result = await update({ Twiml: TWIML }, { TWILIO_API_BASE_URL: "http://127.0.0.1:9" });
    expect(result).toMatchObject({ ok: false, reason: "twilio_unreachable" });
  });
});
