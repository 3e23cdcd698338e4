/**
 * `npm run doctor --local` end to end: a real `wrangler dev` on a temp local store, the Retell and Twilio
 * stand-ins, and the doctor's signed dry-run webhook.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDev, freePort, type DevServer } from "../../cli/lib/dev.ts";
import { startHookStandIn, type HookStandIn } from "../../stand-ins/hook.ts";
import { startRetellStandIn, type RetellStandIn } from "../../stand-ins/retell.ts";
import { startTwilioStandIn, type TwilioStandIn } from "../../stand-ins/twilio.ts";
import { RETELL_KEY, ROOT, TWILIO_SID, TWILIO_TOKEN, cleanEnv, fakeWrangler, openLocalKv, removeTempDirs, runCli, tempDir } from "./helpers.ts";
import { join } from "node:path";

const dir = tempDir("doctor");
let retell: RetellStandIn;
let hooks: HookStandIn;
let dev: DevServer;
/** The Worker's and the doctor's signing secret, which the hook stand-in verifies with. */
const SIGNING_SECRET = `whsec_${Buffer.from("doctor end-to-end signing secret!").toString("base64")}`;
const twilios: TwilioStandIn[] = [];

beforeAll(async () => {
  retell = await startRetellStandIn({ apiKey: RETELL_KEY });
  hooks = await startHookStandIn({ secret: SIGNING_SECRET });
  hooks.setBehaviour("crm", { answer: { call_inbound: { dynamic_variables: { customer_name: "Ada" } } } });
  const store = await openLocalKv(dir);
  await store.seed({ "+61341517921": "agent_good1", "agent:hooked": JSON.stringify({ retellAgentId: "agent_good1", callHook: { url: `${hooks.url}/hooks/crm` } }) });
  await store.dispose();
  dev = await startDev({ configPath: join(ROOT, "wrangler.toml"), persistTo: dir, vars: { TWILIO_AUTH_TOKEN: TWILIO_TOKEN, RETELL_API_KEY: RETELL_KEY, RETELL_BASE_URL: retell.url } });
});

afterAll(async () => {
  await dev?.stop();
  await retell?.close();
  await hooks?.close();
  for (const t of twilios) await t.close();
  removeTempDirs();
});

async function twilioWith(token: string, numbers: [string, Record<string, string>][]): Promise<TwilioStandIn> {
  const t = await startTwilioStandIn({ accountSid: TWILIO_SID, authToken: token });
  for (const [n, fields] of numbers) t.addNumber(n, fields);
  twilios.push(t);
  return t;
}

const doctorEnv = (twilio: TwilioStandIn, token: string, retellKey: string) =>
  cleanEnv({ TWILIO_ACCOUNT_SID: TWILIO_SID, TWILIO_AUTH_TOKEN: token, TWILIO_API_BASE_URL: twilio.url, RETELL_API_KEY: retellKey, RETELL_BASE_URL: retell.url, WEBHOOK_SIGNING_SECRET: SIGNING_SECRET });

describe("npm run doctor --local", () => {
  it("passes every check on a healthy setup and registers nothing with Retell", async () => {
    const twilio = await twilioWith(TWILIO_TOKEN, [["+61341517921", { voice_url: `${dev.url}/api/webhooks/twilio`, status_callback: `${dev.url}/api/webhooks/twilio/status` }]]);
    const since = Date.now();
    const result = await runCli("doctor", ["--local", "--persist-to", dir, "--url", dev.url], doctorEnv(twilio, TWILIO_TOKEN, RETELL_KEY));
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toContain("✓ +61341517921 → agent_good1: Voice URL, POST and status callback are right");
    expect(result.stdout).toContain("✓ agent_good1 exists in Retell");
    expect(result.stdout).toContain("✓ signed dry-run webhook for +61341517921 answered SIP TwiML (sip:dry_run@sip.retellai.com;transport=tcp)");
    expect(result.stdout).toContain("✓ LINES is bound to PhoneLine, a SQLite-backed Durable Object");
    expect(result.stdout).toContain(`✓ TWILIO_ACCOUNT_SID is ${TWILIO_SID}: outbound calls are placed on this account`);
    expect(result.stdout).toMatch(new RegExp(`✓ ${hooks.url}/hooks/crm \\(agent:hooked\\) answered the test request in \\d+ ms \\(HTTP 200\\); its answer parses: sets dynamic_variables`));
    expect(hooks.requests.filter((r) => r.hook === "crm" && r.verified && (r.body as { test?: boolean }).test === true)).toHaveLength(1);
    expect(result.stdout).toMatch(/Doctor: \d+ ✓, 0 ✗/);
    expect(result.stdout).not.toMatch(/^  ✗/m);
    expect(retell.requests.filter((r) => r.at >= since && r.path === "/v2/register-phone-call")).toEqual([]);
  });

  it("fails with a fix line for each problem: wrong method, unmapped number, rejected Retell key, signature mismatch", async () => {
    const twilio = await twilioWith("outdated_token_0000", [
      ["+61341517921", { voice_url: `${dev.url}/api/webhooks/twilio`, voice_method: "GET", status_callback: `${dev.url}/api/webhooks/twilio/status` }],
      ["+61341517929", { voice_url: `${dev.url}/api/webhooks/twilio`, status_callback: `${dev.url}/api/webhooks/twilio/status` }],
    ]);
    const result = await runCli("doctor", ["--local", "--persist-to", dir, "--url", dev.url], doctorEnv(twilio, "outdated_token_0000", "key_wrong"));
    expect(result.code).toBe(1);
    const lines = result.stdout.split("\n");
    const fixAfter = (text: string) => lines[lines.findIndex((l) => l.includes(text)) + 1] ?? "";
    expect(fixAfter("✗ +61341517921: VoiceMethod is GET, the Worker takes POST")).toContain(`fix: npm run numbers -- connect +61341517921 --url ${dev.url}`);
    expect(fixAfter("✗ +61341517929: no valid agent in KV under +61341517929")).toContain("fix: npm run agents -- add +61341517929 <retellAgentId> --local");
    expect(fixAfter("✗ Retell rejected RETELL_API_KEY (HTTP 401).")).toContain("fix: copy a valid API key");
    expect(fixAfter("✗ signed webhook for +61341517921 was rejected (403)")).toContain("fix: use the same TWILIO_AUTH_TOKEN");
    expect(result.stdout).toMatch(/Doctor: \d+ ✓, 4 ✗/);
    expect(result.stderr).toContain("Doctor: numbers: 0 done, 0 skipped, 2 failed (of 2)");
  });

  it("counts a number whose Voice URL has a malformed escape as not pointing at the Worker, and checks the rest", async () => {
    const twilio = await twilioWith(TWILIO_TOKEN, [
      ["+61341517925", { voice_url: `${dev.url}/api/webhooks/twilio/%E0%A4%A` }],
      ["+61341517921", { voice_url: `${dev.url}/api/webhooks/twilio`, status_callback: `${dev.url}/api/webhooks/twilio/status` }],
    ]);
    const result = await runCli("doctor", ["--local", "--persist-to", dir, "--url", dev.url], doctorEnv(twilio, TWILIO_TOKEN, RETELL_KEY));
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toContain(`✓ 2 number(s) on account ${TWILIO_SID}; 1 point at a bridge Voice URL`);
    expect(result.stdout).toContain("✓ +61341517921 → agent_good1: Voice URL, POST and status callback are right");
  });

  it("reports a Worker that is not running, and skips the webhook", async () => {
    const port = await freePort();
    const result = await runCli("doctor", ["--local", "--persist-to", dir, "--url", `http://127.0.0.1:${port}`], cleanEnv({ TWILIO_AUTH_TOKEN: TWILIO_TOKEN, RETELL_API_KEY: RETELL_KEY, RETELL_BASE_URL: retell.url }));
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`✗ GET http://127.0.0.1:${port}/health failed`);
    expect(result.stdout).toContain("fix: start it with npm run dev, and check --url");
    expect(result.stdout).toContain("– signed dry-run webhook not sent: the Worker is not answering");
    expect(result.stdout).toContain("– not checked: Twilio credentials missing: TWILIO_ACCOUNT_SID is not set.");
  });

  it.each([
    ["hunter2", "✗ WEBHOOK_SIGNING_SECRET must start with whsec_"],
    [`whsec_${Buffer.alloc(32, 1).toString("base64")}`, "✓ WEBHOOK_SIGNING_SECRET is a valid whsec_ secret"],
  ])("checks a local WEBHOOK_SIGNING_SECRET with the Worker's own parser: %s", async (secret, line) => {
    const port = await freePort();
    const result = await runCli("doctor", ["--local", "--persist-to", dir, "--url", `http://127.0.0.1:${port}`], cleanEnv({ TWILIO_AUTH_TOKEN: TWILIO_TOKEN, RETELL_API_KEY: RETELL_KEY, WEBHOOK_SIGNING_SECRET: secret }));
    expect(result.stdout).toContain(line);
    expect(result.stdout).not.toContain("hunter2");
  });

  it.each([
    [["--local"], "needs --url"],
    [["--url", "http://127.0.0.1:8787"], "needs --local or --remote"],
    [["--local", "--url", "http://127.0.0.1:8787", "--number", "12"], '--number "12" is not an E.164 phone number'],
    [["--local", "--url", "http://127.0.0.1:8787", "--fix"], "Unknown flag --fix"],
    [["--local", "--url", "http://bridge.example.com"], "--url must be https://"],
  ])("rejects %j with exit 2", async (args, message) => {
    const result = await runCli("doctor", args, cleanEnv());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it("rejects a WEBHOOK_BASE_URL that is plain http to another host with exit 2, naming where it is set", async () => {
    const result = await runCli("doctor", ["--local", "--url", "http://127.0.0.1:8787"], cleanEnv({ WEBHOOK_BASE_URL: "http://calls.example.com" }));
    expect(result.code, result.output).toBe(2);
    expect(result.stderr).toContain("WEBHOOK_BASE_URL (environment) must be https://");
  });
});

describe("npm run doctor --remote (wrangler faked: Cloudflare cannot be reached here; the Worker is the local one)", () => {
  const deployed = (secrets: string[]) => fakeWrangler({ deployed: true, secrets, kv: { "+61341517921": "agent_good1" } });

  it("checks the deployed Worker's secrets and remote KV through wrangler --remote, and passes", async () => {
    const twilio = await twilioWith(TWILIO_TOKEN, [["+61341517921", { voice_url: `${dev.url}/api/webhooks/twilio`, status_callback: `${dev.url}/api/webhooks/twilio/status` }]]);
    const fake = deployed(["TWILIO_AUTH_TOKEN", "RETELL_API_KEY"]);
    const result = await runCli("doctor", ["--remote", "--url", dev.url], { ...doctorEnv(twilio, TWILIO_TOKEN, RETELL_KEY), ...fake.env });
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toContain("✓ TWILIO_AUTH_TOKEN is set on the deployed Worker");
    expect(result.stdout).toContain("✓ remote KV namespace on Cloudflare (binding AGENTS");
    expect(fake.calls().filter((c) => c[0] === "kv").every((c) => c.includes("--remote"))).toBe(true);
    expect(fake.calls().map((c) => c.slice(0, 2).join(" "))).toContain("secret list");
    expect(result.stdout).toContain("– TWILIO_ACCOUNT_SID is not set in wrangler.toml [vars] (optional");
  });

  it("fails when endpoints are configured and the deployed Worker has no WEBHOOK_SIGNING_SECRET", async () => {
    const fake = fakeWrangler({ deployed: true, secrets: ["TWILIO_AUTH_TOKEN", "RETELL_API_KEY"], kv: { "+61341517921": "agent_good1", webhooks: '[{"id":"crm","url":"https://crm.example.com/h"}]' } });
    const result = await runCli("doctor", ["--remote", "--url", dev.url], cleanEnv(fake.env));
    expect(result.stdout).toContain("✓ 1 endpoint(s) in KV webhooks, 1 on");
    expect(result.stdout).toContain("✗ WEBHOOK_SIGNING_SECRET is not set on the deployed Worker: call events wait in the queue, unsent");
  });

  it("reads KV with two wrangler calls when no endpoint is set: a key the list lacks is not read", async () => {
    const fake = deployed(["TWILIO_AUTH_TOKEN", "RETELL_API_KEY"]);
    const result = await runCli("doctor", ["--remote", "--url", dev.url], cleanEnv(fake.env));
    expect(result.stdout).toContain("– no endpoint: call events are not sent anywhere");
    expect(fake.calls().filter((c) => c[0] === "kv").map((c) => c.slice(0, 3).join(" "))).toEqual(["kv key list", "kv bulk get"]);
  });

  it("fails on a required secret missing from the deployed Worker, with the command that sets it", async () => {
    const twilio = await twilioWith(TWILIO_TOKEN, [["+61341517921", { voice_url: `${dev.url}/api/webhooks/twilio`, status_callback: `${dev.url}/api/webhooks/twilio/status` }]]);
    const fake = deployed(["TWILIO_AUTH_TOKEN"]);
    const result = await runCli("doctor", ["--remote", "--url", dev.url], { ...doctorEnv(twilio, TWILIO_TOKEN, RETELL_KEY), ...fake.env });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("✗ RETELL_API_KEY is not set on the deployed Worker\n      fix: npx wrangler secret put RETELL_API_KEY");
  });

  it("fails when Twilio credentials are missing, which --local only skips", async () => {
    const fake = deployed(["TWILIO_AUTH_TOKEN", "RETELL_API_KEY"]);
    const result = await runCli("doctor", ["--remote", "--url", dev.url], cleanEnv({ ...fake.env, TWILIO_AUTH_TOKEN: TWILIO_TOKEN }));
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("✗ Twilio credentials missing: TWILIO_ACCOUNT_SID is not set.");
  });
});

