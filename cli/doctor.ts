/**
 * `npm run doctor`: checks a deployment (or a local `wrangler dev`) end to end without placing a call, and
 * prints a checklist with a fix for every ✗. Exit 1 on any ✗.
 */
import { parseAgentValue, type AgentConfig } from "../src/agents/schema.ts";
import { DRY_RUN_CALL_ID } from "../src/twilio/params.ts";
import { expectPositionals, parseFlags } from "./lib/args.ts";
import { STATUS_PATH, VOICE_PATH, bridgeRoute, parseBaseUrl, routeKey, webhookBaseUrl } from "./lib/bridge.ts";
import { outboundFindings, tokenFindings } from "./lib/outbound-vars.ts";
import { checkHooks, hookTargets } from "./lib/hooks.ts";
import { DEFAULT_CONFIG, LINES_BINDING, LINES_CLASS, lineObjectProblem, readWranglerConfig } from "./lib/config.ts";
import { CliError, EXIT, runMain, usageError } from "./lib/errors.ts";
import { mappingKey } from "./lib/mappings.ts";
import { Progress, note, out } from "./lib/output.ts";
import { checkAgents, retellApi } from "./lib/retell.ts";
import { Settings } from "./lib/settings.ts";
import { STORE_FLAGS, describeStore, getValues, readMappings, storeFromFlags, type Store } from "./lib/store.ts";
import { WEBHOOKS_KEY, parseEndpoints, type WebhookEndpoint } from "../src/records/endpoints.ts";
import { parseSecret } from "../src/standard-webhooks/sign.ts";
import { TwilioClient, twilioCredentials, type IncomingNumber } from "./lib/twilio.ts";
import { hexId, inboundCallParams, sendWebhook, signedWebhook, sipTarget, spokenText } from "./lib/webhook.ts";
import { runWrangler, wranglerFailure } from "./lib/wrangler.ts";

const USAGE = `Usage: npm run doctor -- (--local | --remote) [--url <Worker base URL>] [--number <E.164>] [options]

Checks, without placing a call: secrets set, the KV namespace reachable and its mappings valid, every Twilio
number that points at the Worker has a valid agent and the right URLs, every mapped agent exists in Retell
(when RETELL_API_KEY is available), WEBHOOK_BASE_URL matches the Voice URLs, each pre-call hook answers a
signed test request ("test": true, from +15005550006) in a shape that parses, and a Twilio-signed dry-run
webhook to the Worker returns SIP TwiML (BridgeDryRun=1: nothing is registered with Retell).

  --remote              the deployed Worker; --url defaults to WEBHOOK_BASE_URL in wrangler.toml
  --local               a local \`npm run dev\` (--url http://127.0.0.1:8787), its .dev.vars and local KV
  --persist-to DIR      with --local: the local state folder wrangler dev was started with
  --url URL             where the Worker is reached (scheme and host)
  --number N            the mapped number the synthetic webhook calls (default: the first one found)
  -c, --config FILE     wrangler.toml (default ./wrangler.toml)

Credentials (environment or .dev.vars): TWILIO_AUTH_TOKEN (signs the webhook; must be the Worker's),
TWILIO_ACCOUNT_SID (numbers; required with --remote), RETELL_API_KEY (agents; optional),
WEBHOOK_SIGNING_SECRET (signs the pre-call hooks' test requests; optional).
Exit codes: 0 every check passed, 1 at least one ✗, 2 bad usage.`;


const OPTIONAL_SECRETS: Record<string, string> = {
  TWILIO_AUTH_TOKEN_SECONDARY: "only during an auth-token rotation",
  ADMIN_TOKEN: "only for reading call records (GET /api/calls, /api/stats); without it those routes answer 404",
  CALLS_TOKEN: "only for placing calls (POST /api/calls, npm run call), at least 32 characters; without it that route answers 404",
};

class Checklist {
  passed = 0;
  failed = 0;
  skipped = 0;
  section(title: string): void {
    out(`\n${title}`);
  }
  pass(text: string): void {
    this.passed++;
    out(`  ✓ ${text}`);
  }
  fail(text: string, fix: string): void {
    this.failed++;
    out(`  ✗ ${text}`);
    out(`      fix: ${fix}`);
  }
  skip(text: string): void {
    this.skipped++;
    out(`  – ${text}`);
  }
}

/**
 * The endpoints in KV `webhooks`, and the signing secret checked with the Worker's own parseSecret (locally, where
 * the value is readable; the deployed Worker's only by name). With endpoints and no valid secret nothing is sent.
 */
async function checkEvents(list: Checklist, store: Store, settings: Settings, remoteSecrets: Set<string> | null, webhooks: string | null | undefined): Promise<void> {
  let endpoints: WebhookEndpoint[] = [];
  try {
    // Read with the mappings when they could be read (undefined: they could not): each wrangler call costs seconds.
    const stored = webhooks !== undefined ? webhooks : ((await getValues(store, [WEBHOOKS_KEY])).get(WEBHOOKS_KEY) ?? null);
    const parsed = parseEndpoints(stored);
    if (!parsed.ok) list.fail(`KV ${WEBHOOKS_KEY} is invalid (${parsed.detail}): no call event is sent`, `npm run webhooks -- list --${store.mode}, then fix it with npm run webhooks`);
    else endpoints = parsed.endpoints;
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    list.skip(`endpoints not read: ${error.message}`);
  }
  const on = endpoints.filter((e) => e.enabled !== false);
  if (endpoints.length === 0) list.skip(`no endpoint: call events are not sent anywhere (npm run webhooks -- add <url> --${store.mode})`);
  else list.pass(`${endpoints.length} endpoint(s) in KV ${WEBHOOKS_KEY}, ${on.length} on`);
  for (const e of endpoints) if (e.enabled === false) list.skip(`${e.id} is off${e.disabledReason ? `: ${e.disabledReason}` : ""} (npm run webhooks -- enable ${e.id} --${store.mode})`);
  const generate = `node -p "'whsec_' + require('crypto').randomBytes(32).toString('base64')"`;
  for (const name of ["WEBHOOK_SIGNING_SECRET", "WEBHOOK_SIGNING_SECRET_SECONDARY"]) {
    const primary = name === "WEBHOOK_SIGNING_SECRET";
    const needed = primary && on.length > 0;
    if (remoteSecrets) {
      if (remoteSecrets.has(name)) list.pass(`${name} is set on the deployed Worker (npm run webhooks -- test <id> checks it end to end)`);
      else if (needed) list.fail(`${name} is not set on the deployed Worker: call events wait in the queue, unsent`, `generate one (${generate}), then npx wrangler secret put ${name}`);
      else if (primary) list.skip(`${name} not set (needed once an endpoint is added)`);
      continue;
    }
    if (store.mode === "remote") continue;
    const setting = settings.get(name);
    if (!setting) {
      if (needed) list.fail(`${name} is not set for the local Worker: call events wait in the queue, unsent`, `add ${name}=whsec_… to ${settings.devVarsFile} (${generate}), then restart npm run dev`);
      else if (primary) list.skip(`${name} not set (needed once an endpoint is added)`);
      continue;
    }
    const check = parseSecret(setting.value.trim());
    if (check.ok) list.pass(`${name} is a valid whsec_ secret (${setting.source})`);
    else list.fail(`${name} ${check.problem}: the Worker signs nothing with it, so sends nothing`, `replace it in ${settings.devVarsFile} with a new one: ${generate}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, { ...STORE_FLAGS, url: { type: "string" }, number: { type: "string" } }, "npm run doctor");
  if (parsed.help) {
    out(USAGE);
    return EXIT.ok;
  }
  expectPositionals(parsed.positionals, [], "npm run doctor");
  const { flags } = parsed;
  const configPath = flags.config ?? DEFAULT_CONFIG;
  const store = storeFromFlags(flags, "npm run doctor", configPath);
  const settings = new Settings(configPath);
  const config = readWranglerConfig(configPath);
  const configured = webhookBaseUrl(settings, configPath, store.mode);
  if (configured) parseBaseUrl(configured.value, `WEBHOOK_BASE_URL (${configured.source})`);
  const urlInput = flags.url ?? (store.mode === "remote" ? configured?.value : undefined);
  if (!urlInput) {
    throw usageError(
      `\`npm run doctor -- --${store.mode}\` needs --url <where the Worker is reached>.`,
      store.mode === "local" ? "--url http://127.0.0.1:8787 (what `npm run dev` prints)" : "--url https://twilio-retell-bridge.<subdomain>.workers.dev (printed by `npm run deploy`), or set WEBHOOK_BASE_URL in wrangler.toml",
    );
  }
  const url = parseBaseUrl(urlInput);
  let testNumber: string | undefined;
  if (flags.number !== undefined) {
    const key = mappingKey(flags.number);
    if (!key || key.startsWith("agent:")) throw usageError(`--number ${JSON.stringify(flags.number)} is not an E.164 phone number.`);
    testNumber = key;
  }
  /** The origin Twilio's Voice URLs should use, and that the Worker checks signatures against. */
  const publicBase = configured?.value ?? url;
  const list = new Checklist();
  out(`Doctor: ${store.mode === "remote" ? "deployed" : "local"} Worker at ${url}${configured ? ` (WEBHOOK_BASE_URL ${configured.value}, from ${configured.source})` : ""}`);

  // ── Secrets ────────────────────────────────────────────────────────────────
  list.section("Secrets");
  const required = config.requiredSecrets.length > 0 ? config.requiredSecrets : ["TWILIO_AUTH_TOKEN", "RETELL_API_KEY"];
  /** The deployed Worker's secret names (remote only, once listed). */
  let remoteSecrets: Set<string> | null = null;
  if (store.mode === "remote") {
    const result = await runWrangler(["secret", "list", "--format", "json", "--config", configPath]);
    if (result.code !== 0) {
      const reason = wranglerFailure(result).join(" ");
      list.fail(`cannot list the deployed Worker's secrets: ${reason}`, /not found|does not exist|10007/i.test(reason) ? "npm run deploy" : "npx wrangler login (or set CLOUDFLARE_API_TOKEN), then run the doctor again");
    } else {
      let names = new Set<string>();
      try {
        names = new Set((JSON.parse(result.stdout.slice(result.stdout.indexOf("["))) as { name: string }[]).map((s) => s.name));
      } catch {
        list.fail("wrangler secret list printed no JSON", "run `npx wrangler secret list` to see why");
      }
      remoteSecrets = names;
      for (const name of required) {
        if (names.has(name)) list.pass(`${name} is set on the deployed Worker`);
        else list.fail(`${name} is not set on the deployed Worker`, `npx wrangler secret put ${name}`);
      }
      for (const [name, why] of Object.entries(OPTIONAL_SECRETS)) if (!names.has(name)) list.skip(`${name} not set (optional: ${why})`);
    }
  } else {
    for (const name of required) {
      const s = settings.get(name);
      if (s) list.pass(`${name} is set (${s.source})`);
      else list.fail(`${name} is not set for the local Worker`, `add ${name}=… to ${settings.devVarsFile} (start from .dev.vars.example), then restart npm run dev`);
    }
  }

  // ── Outbound calls ─────────────────────────────────────────────────────────
  list.section("Outbound calls");
  const outboundVars: Record<string, string | undefined> = {};
  for (const name of ["TWILIO_ACCOUNT_SID", "OUTBOUND_MAX_CONCURRENT", "OUTBOUND_DAILY_LIMIT", "OUTBOUND_ACCOUNT_DAILY_LIMIT", "OUTBOUND_ALLOWED_COUNTRIES"]) {
    outboundVars[name] = (store.mode === "local" ? settings.value(name) : undefined) ?? config.vars[name];
  }
  const where = store.mode === "local" ? `${settings.devVarsFile} or wrangler.toml [vars]` : "wrangler.toml [vars]";
  // The tokens' values are known only locally (.dev.vars or the environment); deployed secrets cannot be read back.
  const tokens = store.mode === "local" ? tokenFindings({ ADMIN_TOKEN: settings.value("ADMIN_TOKEN"), CALLS_TOKEN: settings.value("CALLS_TOKEN") }, settings.devVarsFile) : [];
  for (const finding of [...outboundFindings(outboundVars, where, settings.value("TWILIO_ACCOUNT_SID")), ...tokens]) {
    if (finding.ok === true) list.pass(finding.text);
    else if (finding.ok === false) list.fail(finding.text, finding.fix ?? "");
    else list.skip(finding.text);
  }

  // ── Line objects ───────────────────────────────────────────────────────────
  list.section("Phone lines (Durable Object)");
  const lines = lineObjectProblem(config);
  if (lines) list.fail(`wrangler.toml: ${lines.problem}`, lines.fix);
  else list.pass(`${LINES_BINDING} is bound to ${LINES_CLASS}, a SQLite-backed Durable Object (created by its migration at deploy)`);

  // ── KV ─────────────────────────────────────────────────────────────────────
  list.section("KV mappings");
  let values: Map<string, string> | undefined;
  let webhooks: string | null | undefined;
  const agents = new Map<string, AgentConfig>();
  try {
    const read = await readMappings(store, [WEBHOOKS_KEY]);
    values = read.mappings;
    webhooks = read.also.get(WEBHOOKS_KEY) ?? null;
    list.pass(`${describeStore(store)} is reachable: ${values.size} mapping(s)`);
    for (const [key, raw] of values) {
      const p = parseAgentValue(raw);
      if (p.ok) agents.set(key, p.agent);
      else list.fail(`${key}: stored value is invalid (${p.detail}); callers hear "not in service"`, `npm run agents -- add ${key} <retellAgentId> --${store.mode}`);
    }
    if (values.size === 0) list.fail("no number is mapped to an agent", `npm run agents -- add <number> <retellAgentId> --${store.mode}`);
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    list.fail(`${describeStore(store)} is not reachable: ${[error.message, ...error.details].join(" ")}`, error.fix ?? (store.mode === "remote" ? "npm run deploy (creates the namespace and records its id)" : "check --persist-to"));
  }

  // ── Call events ────────────────────────────────────────────────────────────
  list.section("Call events (docs/events.md)");
  await checkEvents(list, store, settings, remoteSecrets, webhooks);

  // ── Twilio ─────────────────────────────────────────────────────────────────
  list.section("Twilio numbers");
  let routed: IncomingNumber[] = [];
  let client: TwilioClient | undefined;
  try {
    client = new TwilioClient(twilioCredentials(settings));
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    if (store.mode === "remote") list.fail(error.message, error.fix ?? "set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN");
    else list.skip(`not checked: ${error.message}`);
  }
  if (client) {
    try {
      const numbers = await client.listNumbers();
      routed = numbers.filter((n) => bridgeRoute(n.voice_url) !== null);
      list.pass(`${numbers.length} number(s) on account ${client.credentials.accountSid}; ${routed.length} point at a bridge Voice URL`);
      const progress = new Progress("Doctor: numbers", routed.length);
      for (const n of routed) {
        const route = bridgeRoute(n.voice_url);
        const problems: string[] = [];
        if (route && route.origin !== publicBase) problems.push(`Voice URL host is ${route.origin}, not ${publicBase}${configured ? " (WEBHOOK_BASE_URL)" : ""}: signatures will not match`);
        if ((n.voice_method ?? "POST").toUpperCase() !== "POST") problems.push(`VoiceMethod is ${n.voice_method}, the Worker takes POST`);
        if (n.trunk_sid) problems.push(`on SIP trunk ${n.trunk_sid}, so Twilio ignores the Voice URL`);
        if (n.voice_application_sid) problems.push(`TwiML app ${n.voice_application_sid} set, so Twilio ignores the Voice URL`);
        if (n.status_callback !== `${publicBase}${STATUS_PATH}`) problems.push(`StatusCallback is ${n.status_callback ?? "(none)"}, not ${publicBase}${STATUS_PATH}`);
        const key = routeKey(route, n.phone_number);
        const agent = key ? agents.get(key) : undefined;
        if (values && !agent) problems.push(`no valid agent in KV under ${key}`);
        if (problems.length === 0) {
          list.pass(`${n.phone_number} → ${agent?.retellAgentId ?? "?"}: Voice URL, POST and status callback are right`);
          progress.tick("done", n.phone_number);
        } else {
          const onlyAgent = problems.length === 1 && problems[0]?.startsWith("no valid agent");
          list.fail(`${n.phone_number}: ${problems.join("; ")}`, onlyAgent ? `npm run agents -- add ${n.phone_number} <retellAgentId> --${store.mode}` : `npm run numbers -- connect ${n.phone_number} --url ${publicBase}`);
          progress.tick("failed", n.phone_number, problems[0]);
        }
      }
      if (routed.length > 0) progress.printSummary();
      const routedNumbers = new Set(routed.map((n) => n.phone_number));
      for (const key of agents.keys()) {
        if (key.startsWith("+") && !routedNumbers.has(key)) list.skip(`${key} is mapped in KV but no number on this account sends its calls to the Worker${numbers.some((n) => n.phone_number === key) ? ` (npm run numbers -- connect ${key} --url ${publicBase})` : ""}`);
      }
      if (configured) {
        const off = routed.filter((n) => bridgeRoute(n.voice_url)?.origin !== configured.value);
        if (off.length === 0) list.pass(`WEBHOOK_BASE_URL (${configured.value}) matches every bridge Voice URL`);
        else list.fail(`WEBHOOK_BASE_URL (${configured.value}) does not match the Voice URL of ${off.map((n) => n.phone_number).join(", ")}`, `npm run numbers -- connect --all --url ${configured.value} --${store.mode}, or correct WEBHOOK_BASE_URL`);
      } else {
        list.skip("WEBHOOK_BASE_URL is not set: the Worker checks signatures against the URL it sees (right for workers.dev; set it behind a proxy or custom domain)");
      }
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      list.fail(error.message, error.fix ?? "run the doctor again in a minute");
    }
  }

  // ── Retell ─────────────────────────────────────────────────────────────────
  list.section("Retell agents");
  const retellKey = settings.value("RETELL_API_KEY");
  const ids = [...new Set([...agents.values()].map((a) => a.retellAgentId))];
  if (!retellKey) list.skip("not checked: RETELL_API_KEY is not in the environment or .dev.vars");
  else if (ids.length === 0) list.skip("no mapped agents to check");
  else {
    const progress = new Progress("Doctor: agents", ids.length);
    try {
      const results = await checkAgents(retellApi(retellKey, settings.value("RETELL_BASE_URL")), ids, (id, s) => progress.tick(s.ok ? "done" : "failed", id));
      progress.printSummary();
      for (const id of ids) {
        const s = results.get(id);
        const users = [...agents].filter(([, a]) => a.retellAgentId === id).map(([k]) => k);
        if (s?.ok) list.pass(`${id} exists in Retell${s.name ? ` ("${s.name}")` : ""} (${users.join(", ")})`);
        else list.fail(`${id} (${users.join(", ")}): ${s?.detail ?? "not checked"}`, `create ${id} in Retell, or remap: ${users.map((u) => `npm run agents -- add ${u} <retellAgentId> --check --${store.mode}`).join("; ")}`);
      }
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      list.fail(error.message, error.fix ?? "check RETELL_API_KEY");
    }
  }

  // ── Pre-call hooks ─────────────────────────────────────────────────────────
  list.section("Pre-call hooks");
  const hookDefault = (store.mode === "local" ? settings.value("CALL_HOOK_URL") : undefined) ?? config.vars.CALL_HOOK_URL;
  const { targets, invalidDefault } = hookTargets(agents, hookDefault);
  if (invalidDefault) list.fail(`${invalidDefault}: no call asks the default hook`, "set CALL_HOOK_URL in wrangler.toml [vars] to an https:// URL, or to \"\" for none");
  const signingSecret = settings.value("WEBHOOK_SIGNING_SECRET");
  if (targets.length === 0) list.skip("no agent has a pre-call hook (callHook or CALL_HOOK_URL)");
  else if (!signingSecret) list.skip(`${targets.length} hook(s) not called: WEBHOOK_SIGNING_SECRET (the Worker's) is not in the environment or ${settings.devVarsFile} to sign a test request`);
  else {
    try {
      for (const check of await checkHooks(targets, { primary: signingSecret, secondary: settings.value("WEBHOOK_SIGNING_SECRET_SECONDARY") })) {
        if (check.ok) list.pass(check.text);
        else list.fail(check.text, check.fix);
      }
    } catch (error) {
      list.fail(`cannot sign the hooks' test requests: ${(error as Error).message}`, `set WEBHOOK_SIGNING_SECRET to a whsec_ secret of 24–64 bytes (the Worker's) in ${settings.devVarsFile}`);
    }
  }

  // ── Worker ─────────────────────────────────────────────────────────────────
  list.section("Worker");
  let up = false;
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json().catch(() => ({}))) as { status?: string; version?: string };
    up = res.ok && body.status === "ok";
    if (up) list.pass(`GET ${url}/health: ok${body.version ? ` (version ${body.version})` : ""}`);
    else list.fail(`GET ${url}/health answered HTTP ${res.status}: is this the bridge Worker?`, store.mode === "remote" ? "npm run deploy, and check --url" : "check --url against what npm run dev prints");
  } catch (error) {
    list.fail(`GET ${url}/health failed: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`, store.mode === "remote" ? "npm run deploy, and check --url" : "start it with npm run dev, and check --url");
  }
  const token = settings.value("TWILIO_AUTH_TOKEN");
  const target = testNumber ?? routed.map((n) => n.phone_number).find((n) => agents.has(n)) ?? [...agents.keys()].find((k) => k.startsWith("+"));
  if (!up) list.skip("signed dry-run webhook not sent: the Worker is not answering");
  else if (!token) list.fail("cannot sign a test webhook: TWILIO_AUTH_TOKEN is not in the environment or .dev.vars", `set TWILIO_AUTH_TOKEN (the same value as the Worker's) in ${settings.devVarsFile}`);
  else if (!target) list.fail("no mapped number to send a test webhook for", `npm run agents -- add <number> <retellAgentId> --${store.mode}`);
  else {
    const webhook = signedWebhook({
      url: `${url}${VOICE_PATH}`,
      signedUrl: `${publicBase}${VOICE_PATH}`,
      authToken: token,
      params: inboundCallParams({ from: "+15005550006", to: target, accountSid: client?.credentials.accountSid ?? hexId("AC"), dryRun: true }),
    });
    try {
      const answer = await sendWebhook(webhook);
      const sip = sipTarget(answer.text);
      const said = spokenText(answer.text);
      if (answer.status === 200 && sip?.startsWith(`sip:${DRY_RUN_CALL_ID}@`)) {
        list.pass(`signed dry-run webhook for ${target} answered SIP TwiML (${sip}) in ${answer.ms} ms; nothing registered with Retell`);
      } else if (answer.status === 200 && sip) {
        list.fail(`the Worker registered a real Retell call (${sip}) for a dry run: it predates BridgeDryRun`, "npm run deploy (the current code answers dry runs without registering)");
      } else if (answer.status === 403) {
        list.fail(`signed webhook for ${target} was rejected (403): the Worker's TWILIO_AUTH_TOKEN differs from yours, or it checks signatures against a URL other than ${publicBase}${VOICE_PATH}`,
          store.mode === "remote" ? "npx wrangler secret put TWILIO_AUTH_TOKEN (the account's primary auth token); set WEBHOOK_BASE_URL to the origin in Twilio's Voice URL" : "use the same TWILIO_AUTH_TOKEN in .dev.vars as the running Worker, and restart npm run dev");
      } else if (answer.status === 500) {
        list.fail(`signed webhook for ${target} answered 500 (${answer.text.slice(0, 80)}): a secret or setting is missing on the Worker`, "npx wrangler secret put TWILIO_AUTH_TOKEN; check the Worker's log for config.missing_secret");
      } else if (answer.status === 200 && said && /not in service/.test(said)) {
        list.fail(`signed webhook for ${target} answered "not in service": the Worker finds no agent for it`, `npm run agents -- show ${target} --${store.mode} (the Worker reads the ${store.mode} store? allow 60 s after a change)`);
      } else {
        list.fail(`signed webhook for ${target} answered HTTP ${answer.status}: ${answer.text.slice(0, 160)}`, "read the Worker's log line twilio.voice for the reason (npx wrangler tail)");
      }
    } catch (error) {
      list.fail(`signed webhook for ${target} failed: ${(error as Error).message}`, "check --url and that the Worker is running");
    }
  }

  const summary = `Doctor: ${list.passed} ✓, ${list.failed} ✗, ${list.skipped} skipped`;
  out(`\n${summary}`);
  note(`${list.failed === 0 ? "All checks passed." : `${list.failed} check(s) failed; each ✗ has a fix line above.`}`);
  return list.failed > 0 ? EXIT.failed : EXIT.ok;
}

await runMain(() => main(process.argv.slice(2)));
