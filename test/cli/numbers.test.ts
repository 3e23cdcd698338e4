/**
 * `npm run numbers` end to end against the strict local Twilio stand-in (Basic auth, exact form fields).
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { startTwilioStandIn, type TwilioStandIn } from "../../stand-ins/twilio.ts";
import { TWILIO_SID, TWILIO_TOKEN, cleanEnv, fakeWrangler, openLocalKv, removeTempDirs, runCli, tempDir } from "./helpers.ts";

const BASE = "https://bridge.example.com";
let twilio: TwilioStandIn;

beforeEach(async () => {
  twilio = await startTwilioStandIn({ accountSid: TWILIO_SID, authToken: TWILIO_TOKEN, apiKey: { sid: "SK" + "1".repeat(32), secret: "api_secret_1" }, maxPageSize: 2 });
});
afterEach(() => twilio.close());
afterAll(removeTempDirs);

const env = (extra: Record<string, string> = {}) => cleanEnv({ TWILIO_ACCOUNT_SID: TWILIO_SID, TWILIO_AUTH_TOKEN: TWILIO_TOKEN, TWILIO_API_BASE_URL: twilio.url, ...extra });
const posts = () => twilio.requests.filter((r) => r.method === "POST");

describe("numbers list", () => {
  it("shows every number across pages with its Voice URL, method, status callback and whether it points at the Worker", async () => {
    twilio.addNumber("+61341517921", { voice_url: `${BASE}/api/webhooks/twilio`, status_callback: `${BASE}/api/webhooks/twilio/status` });
    twilio.addNumber("+14155550100", { voice_url: "https://old.example.com/voice", voice_method: "GET" });
    twilio.addNumber("+14155550101");
    const result = await runCli("numbers", ["list", "--url", BASE], env());
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toMatch(/\+61341517921\s+https:\/\/bridge\.example\.com\/api\/webhooks\/twilio\s+POST\s+https:\/\/bridge\.example\.com\/api\/webhooks\/twilio\/status \(POST\)\s+✓/);
    expect(result.stdout).toMatch(/\+14155550100\s+https:\/\/old\.example\.com\/voice\s+GET\s+\(none\)\s+–/);
    expect(result.stdout).toContain("+14155550101");
    expect(twilio.requests.filter((r) => r.path.endsWith("/IncomingPhoneNumbers.json")).length).toBe(2);
  });

  it("shows whether the given KV store maps each number to an agent", async () => {
    twilio.addNumber("+61341517921", { voice_url: `${BASE}/api/webhooks/twilio` });
    twilio.addNumber("+61341517922", { voice_url: `${BASE}/api/webhooks/twilio/front_desk` });
    twilio.addNumber("+61341517923", { voice_url: `${BASE}/api/webhooks/twilio` });
    const fake = fakeWrangler({ kv: { "+61341517921": "agent_a1", "agent:front_desk": "agent_b2" } });
    const result = await runCli("numbers", ["list", "--url", BASE, "--remote"], env(fake.env));
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toMatch(/\+61341517921 .*✓ agent_a1/);
    expect(result.stdout).toMatch(/\+61341517922 .*✓ agent_b2/);
    expect(result.stdout).toMatch(/\+61341517923 .*✗ none/);
  });

  it("shows a number whose Voice URL has a malformed escape as not pointing at the Worker, and lists the others", async () => {
    twilio.addNumber("+61341517921", { voice_url: `${BASE}/api/webhooks/twilio/%E0%A4%A` });
    twilio.addNumber("+61341517922", { voice_url: `${BASE}/api/webhooks/twilio` });
    const result = await runCli("numbers", ["list", "--url", BASE], env());
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toMatch(/\+61341517921\s+https:\/\/bridge\.example\.com\/api\/webhooks\/twilio\/%E0%A4%A\s+POST\s+\(none\)\s+–/);
    expect(result.stdout).toMatch(/\+61341517922\s+.*✓/);
  });

  it("authenticates with an API key and secret when they are set", async () => {
    twilio.addNumber("+61341517921");
    const result = await runCli("numbers", ["list"], env({ TWILIO_AUTH_TOKEN: "", TWILIO_API_KEY: "SK" + "1".repeat(32), TWILIO_API_SECRET: "api_secret_1" }));
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toContain("+61341517921");
  });
});

describe("numbers connect", () => {
  it("sets VoiceUrl, VoiceMethod, StatusCallback and StatusCallbackMethod, and prints before → after", async () => {
    const number = twilio.addNumber("+61341517921", { voice_url: "https://old.example.com/voice", voice_method: "GET" });
    const result = await runCli("numbers", ["connect", "+61 3 4151 7921", "--url", `${BASE}/`], env());
    expect(result.code, result.output).toBe(0);
    expect(posts()).toHaveLength(1);
    expect(posts()[0]?.form).toEqual({
      VoiceUrl: [`${BASE}/api/webhooks/twilio`],
      VoiceMethod: ["POST"],
      StatusCallback: [`${BASE}/api/webhooks/twilio/status`],
      StatusCallbackMethod: ["POST"],
    });
    expect(twilio.numbers.get(number.sid)).toMatchObject({ voice_url: `${BASE}/api/webhooks/twilio`, voice_method: "POST", status_callback: `${BASE}/api/webhooks/twilio/status`, status_callback_method: "POST" });
    expect(result.stdout).toContain(`VoiceUrl: https://old.example.com/voice → ${BASE}/api/webhooks/twilio`);
    expect(result.stdout).toContain("VoiceMethod: GET → POST");
    expect(result.stdout).toContain(`StatusCallback: (none) → ${BASE}/api/webhooks/twilio/status`);
  });

  it("keeps a number on the per-agent route on that route", async () => {
    twilio.addNumber("+61341517921", { voice_url: "https://old.example.com/api/webhooks/twilio/front_desk" });
    expect((await runCli("numbers", ["connect", "+61341517921", "--url", BASE], env())).code).toBe(0);
    expect(posts()[0]?.form.VoiceUrl).toEqual([`${BASE}/api/webhooks/twilio/front_desk`]);
  });

  it("--all connects a number whose Voice URL has a malformed escape to the Worker's route, and goes on to the next", async () => {
    twilio.addNumber("+61341517921", { voice_url: `${BASE}/api/webhooks/twilio/%E0%A4%A` });
    twilio.addNumber("+61341517922");
    const fake = fakeWrangler({ kv: { "+61341517921": "agent_a1", "+61341517922": "agent_b2" } });
    const result = await runCli("numbers", ["connect", "--all", "--url", BASE, "--remote"], env(fake.env));
    expect(result.code, result.output).toBe(0);
    expect(result.stderr).toContain("Connect: 2 done, 0 skipped, 0 failed (of 2)");
    expect(twilio.byNumber("+61341517921")?.voice_url).toBe(`${BASE}/api/webhooks/twilio`);
    expect(twilio.byNumber("+61341517922")?.voice_url).toBe(`${BASE}/api/webhooks/twilio`);
  });

  it("removes a TwiML app that would make Twilio ignore the Voice URL", async () => {
    const number = twilio.addNumber("+61341517921", { voice_application_sid: "AP" + "2".repeat(32) });
    expect((await runCli("numbers", ["connect", "+61341517921", "--url", BASE], env())).code).toBe(0);
    expect(posts()[0]?.form.VoiceApplicationSid).toEqual([""]);
    expect(twilio.numbers.get(number.sid)?.voice_application_sid).toBeNull();
  });

  it("--dry-run shows the change and sends no update", async () => {
    twilio.addNumber("+61341517921");
    const result = await runCli("numbers", ["connect", "+61341517921", "--url", BASE, "--dry-run"], env());
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toContain(`VoiceUrl: (none) → ${BASE}/api/webhooks/twilio`);
    expect(result.stdout).toContain("Dry run: nothing was changed on Twilio.");
    expect(posts()).toEqual([]);
  });

  it("skips a number that is already connected", async () => {
    twilio.addNumber("+61341517921", { voice_url: `${BASE}/api/webhooks/twilio`, status_callback: `${BASE}/api/webhooks/twilio/status` });
    const result = await runCli("numbers", ["connect", "+61341517921", "--url", BASE], env());
    expect(result.code, result.output).toBe(0);
    expect(result.stderr).toContain("already connected");
    expect(posts()).toEqual([]);
  });

  it("refuses a number on an Elastic SIP trunk (exit 1), changing nothing", async () => {
    twilio.addNumber("+61341517921", { trunk_sid: "TK" + "3".repeat(32) });
    const result = await runCli("numbers", ["connect", "+61341517921", "--url", BASE], env());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("is on Elastic SIP trunk");
    expect(posts()).toEqual([]);
  });

  it("--all connects every number the KV store maps, skips the rest, and summarizes", async () => {
    twilio.addNumber("+61341517921");
    twilio.addNumber("+61341517922");
    twilio.addNumber("+61341517923");
    const dir = tempDir("numbers-all");
    const store = await openLocalKv(dir);
    await store.seed({ "+61341517921": "agent_a1", "+61341517923": "agent_c3" });
    await store.dispose();
    const result = await runCli("numbers", ["connect", "--all", "--url", BASE, "--local", "--persist-to", dir], env());
    expect(result.code, result.output).toBe(0);
    expect(result.stderr).toContain(`Store: local KV store (binding AGENTS, in ${dir})`);
    expect(result.stderr).toContain("Connect: 2 done, 1 skipped, 0 failed (of 3)");
    expect(result.stderr).toMatch(/– \+61341517922\s+no agent in KV/);
    expect(twilio.byNumber("+61341517921")?.voice_url).toBe(`${BASE}/api/webhooks/twilio`);
    expect(twilio.byNumber("+61341517922")?.voice_url).toBeNull();
    expect(twilio.byNumber("+61341517923")?.status_callback).toBe(`${BASE}/api/webhooks/twilio/status`);
  });
});

describe("numbers: errors are one clear sentence and change nothing", () => {
  it.each([
    [401, "Twilio rejected the credentials while listing the account's phone numbers: check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"],
    [404, "Twilio found nothing at that address while listing the account's phone numbers"],
    [429, "Twilio is rate-limiting this account (429 Too Many Requests) while listing the account's phone numbers: wait a minute and run the command again"],
  ] as const)("Twilio %i", async (status, sentence) => {
    const number = twilio.addNumber("+61341517921");
    twilio.fail({ status, retryAfter: "0" });
    const result = await runCli("numbers", ["connect", "+61341517921", "--url", BASE], env());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(sentence);
    expect(result.stderr.trim().split("\n")[0]).toMatch(/^✗ [^\n]+\.$/);
    expect(twilio.numbers.get(number.sid)?.voice_url).toBeNull();
  });

  it("retries a 429 and succeeds when Twilio recovers", async () => {
    twilio.addNumber("+61341517921");
    twilio.fail({ status: 429, times: 1, retryAfter: "0" });
    const result = await runCli("numbers", ["list"], env());
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toContain("+61341517921");
  });

  it("rejects a wrong auth token against the stand-in's Basic auth", async () => {
    const result = await runCli("numbers", ["list"], env({ TWILIO_AUTH_TOKEN: "wrong" }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Twilio rejected the credentials");
  });

  it.each([
    ["missing credentials", ["list"], { TWILIO_ACCOUNT_SID: "", TWILIO_AUTH_TOKEN: "" }, 1, "Twilio credentials missing: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set."],
    ["a malformed account SID", ["list"], { TWILIO_ACCOUNT_SID: "AC123" }, 1, 'TWILIO_ACCOUNT_SID "AC123" is not an account SID'],
    ["a number not on the account", ["connect", "+61341517999", "--url", BASE], {}, 1, "+61341517999 is not an incoming number on Twilio account"],
    ["an invalid number", ["connect", "0341517921", "--url", BASE], {}, 2, '<number> "0341517921" is not an E.164 phone number'],
    ["a URL with a path", ["connect", "+61341517921", "--url", `${BASE}/api/webhooks/twilio`], {}, 2, "is not a base URL"],
    ["a plain http URL off this machine", ["connect", "+61341517921", "--url", "http://bridge.example.com"], {}, 2, "--url must be https://"],
    ["connect without --url", ["connect", "+61341517921"], {}, 2, "needs --url"],
    ["--all without a store", ["connect", "--all", "--url", BASE], {}, 2, "`connect --all` needs --local or --remote"],
    ["an unknown flag", ["connect", "+61341517921", "--url", BASE, "--voice-url", "x"], {}, 2, "Unknown flag --voice-url"],
  ])("%s", async (_, args, extra, code, message) => {
    twilio.addNumber("+61341517921");
    const result = await runCli("numbers", args, env(extra));
    expect(result.code, result.output).toBe(code);
    expect(result.stderr).toContain(message);
    expect(posts()).toEqual([]);
  });
});

describe("Twilio stand-in strictness (what the tests above rely on)", () => {
  it("answers 400 to a field Twilio does not accept", async () => {
    const number = twilio.addNumber("+61341517921");
    const res = await fetch(`${twilio.url}/2010-04-01/Accounts/${TWILIO_SID}/IncomingPhoneNumbers/${number.sid}.json`, {
      method: "POST",
      headers: { Authorization: `Basic ${Buffer.from(`${TWILIO_SID}:${TWILIO_TOKEN}`).toString("base64")}`, "Content-Type": "application/x-www-form-urlencoded" },
      body: "VoiceURL=https%3A%2F%2Fx.example",
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 20001, message: "Unknown parameter: VoiceURL", status: 400 });
  });
});
