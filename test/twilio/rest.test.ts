/** src/twilio/rest.ts against the Twilio stand-in: auth, Twilio's answer, its errors, and no answer at all. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Bindings } from "../../src/env.ts";
import { twilioPost } from "../../src/twilio/rest.ts";
import { failTwilio, uniqueCaller, uniqueNumber } from "../helpers.ts";
import { TEST_TWILIO_ACCOUNT_SID } from "../secrets.ts";

const bindings = env as Bindings;
const form = (to: string): [string, string][] => [["To", to], ["From", uniqueNumber()], ["Url", "https://bridge.example.com/x"]];

describe("twilioPost", () => {
  it("answers Twilio's JSON on success", async () => {
    const result = await twilioPost(bindings, TEST_TWILIO_ACCOUNT_SID, "/Calls.json", form(uniqueCaller()), 5_000);
    expect(result).toMatchObject({ ok: true, status: 201, body: { sid: expect.stringMatching(/^CA/), status: "queued" } });
  });

  it("sends a repeated field once per value", async () => {
    const result = await twilioPost(bindings, TEST_TWILIO_ACCOUNT_SID, "/Calls.json", [...form(uniqueCaller()), ["StatusCallbackEvent", "initiated"], ["StatusCallbackEvent", "bogus"]], 5_000);
    expect(result).toEqual({ ok: false, kind: "rejected", status: 400, code: 21626, message: "Invalid StatusCallbackEvent: bogus" });
  });

  it("gives Twilio's status, code and message when Twilio refuses", async () => {
    const result = await twilioPost({ ...bindings, TWILIO_AUTH_TOKEN: "wrong" }, TEST_TWILIO_ACCOUNT_SID, "/Calls.json", form(uniqueCaller()), 5_000);
    expect(result).toEqual({ ok: false, kind: "rejected", status: 401, code: 20003, message: "Authentication Error - invalid username" });
  });

  it("reports no answer when Twilio does not answer within the time limit", async () => {
    const to = uniqueCaller();
    await failTwilio(`To=${to}`, { status: 500, hang: true });
    const started = Date.now();
    const result = await twilioPost(bindings, TEST_TWILIO_ACCOUNT_SID, "/Calls.json", form(to), 300);
    expect(result).toEqual({ ok: false, kind: "no_answer", detail: "no answer within 300 ms" });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("reports no answer when Twilio cannot be reached", async () => {
    const result = await twilioPost({ ...bindings, TWILIO_API_BASE_URL: "http://127.0.0.1:9" }, TEST_TWILIO_ACCOUNT_SID, "/Calls.json", form(uniqueCaller()), 2_000);
    expect(result).toMatchObject({ ok: false, kind: "no_answer" });
  });
});
