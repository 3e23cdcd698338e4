/**
 * `npm run numbers -- <command>`: the account's Twilio numbers, through Twilio's REST API (no Console).
 */
import { parseAgentValue } from "../src/agents/schema.ts";
import { normalizeE164 } from "../src/phone.ts";
import { expectPositionals, parseFlags, subcommand } from "./lib/args.ts";
import { STATUS_PATH, VOICE_PATH, bridgeRoute, parseBaseUrl, routeKey, webhookBaseUrl } from "./lib/bridge.ts";
import { DEFAULT_CONFIG } from "./lib/config.ts";
import { CliError, EXIT, runMain, usageError } from "./lib/errors.ts";
import { Progress, note, out, outJson, table } from "./lib/output.ts";
import { Settings } from "./lib/settings.ts";
import { STORE_FLAGS, describeStore, readAll, storeFromFlags, type Store } from "./lib/store.ts";
import { TwilioClient, twilioCredentials, type IncomingNumber, type NumberUpdate } from "./lib/twilio.ts";

const USAGE = `Usage: npm run numbers -- <command> [options]

The Twilio account's incoming numbers (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN from the environment or .dev.vars).

Commands:
  list [--url <base URL>] [--local | --remote] [--json]
      every number with its Voice URL, method and status callback; whether it points at this Worker
      (at --url, else WEBHOOK_BASE_URL) and, with --local/--remote, whether that KV store maps it to an agent
  connect <number> --url <base URL> [--dry-run] [--local | --remote]
  connect --all --url <base URL> (--local | --remote) [--dry-run]
      sets VoiceUrl <url>${VOICE_PATH} (POST) and StatusCallback <url>${STATUS_PATH} (POST);
      --all connects every number that has an agent in the given KV store; prints before → after

Options:
  --url URL          the Worker's public base URL (scheme and host), as printed by \`npm run deploy\`
  --dry-run          show the change without making it
  --local | --remote (--persist-to DIR, -c/--config FILE)  the KV store to check mappings in

Exit codes: 0 done, 1 failed (Twilio error, a number not connected), 2 bad usage.`;

const FLAGS = {
  ...STORE_FLAGS,
  url: { type: "string" },
  json: { type: "boolean" },
  all: { type: "boolean" },
  "dry-run": { type: "boolean" },
} as const;

interface Context {
  client: TwilioClient;
  settings: Settings;
  configPath: string;
  store: Store | undefined;
}

async function main(argv: string[]): Promise<number> {
  const picked = subcommand(argv, ["list", "connect"] as const, "npm run numbers", USAGE);
  if (typeof picked === "number") return picked;
  const { command, rest } = picked;
  const parsed = parseFlags(rest, FLAGS, `npm run numbers -- ${command}`);
  if (parsed.help) {
    out(USAGE);
    return EXIT.ok;
  }
  const { flags } = parsed;
  const configPath = flags.config ?? DEFAULT_CONFIG;
  const store = flags.local || flags.remote ? storeFromFlags(flags, `npm run numbers -- ${command}`, configPath) : undefined;
  if (!store && flags["persist-to"]) throw usageError("--persist-to only applies with --local.");
  if (command === "list") {
    if (flags.all || flags["dry-run"]) throw usageError(`\`npm run numbers -- list\` takes no ${flags.all ? "--all" : "--dry-run"}.`);
    expectPositionals(parsed.positionals, [], "npm run numbers -- list");
  }
  const base = flags.url === undefined ? undefined : parseBaseUrl(flags.url);
  const settings = new Settings(configPath);
  const context: Context = { client: new TwilioClient(twilioCredentials(settings)), settings, configPath, store };
  if (command === "list") return list(context, base, flags.json === true);
  if (!base) throw usageError("`npm run numbers -- connect` needs --url <the Worker's public base URL>.", "npm run deploy prints it, e.g. --url https://twilio-retell-bridge.<subdomain>.workers.dev");
  if (flags.all && parsed.positionals.length > 0) throw usageError("Give a number or --all, not both.");
  if (!flags.all) expectPositionals(parsed.positionals, ["number"], "npm run numbers -- connect");
  if (flags.all && !store) {
    throw usageError("`connect --all` needs --local or --remote: it connects the numbers that KV store maps to an agent, and never guesses the store.");
  }
  return connect(context, base, flags.all ? null : (parsed.positionals[0] as string), flags["dry-run"] === true);
}

async function mappings(store: Store | undefined): Promise<Map<string, string> | undefined> {
  if (!store) return undefined;
  note(`Store: ${describeStore(store)}`);
  return readAll(store);
}

/** "agent_x" when the store maps the number to a valid agent; else why not. */
function agentFor(values: Map<string, string> | undefined, number: IncomingNumber): { ok: boolean; text: string } {
  if (!values) return { ok: false, text: "?" };
  const key = routeKey(bridgeRoute(number.voice_url), number.phone_number);
  const raw = key ? values.get(key) : undefined;
  if (raw === undefined) return { ok: false, text: "✗ none" };
  const parsed = parseAgentValue(raw);
  return parsed.ok ? { ok: true, text: `✓ ${parsed.agent.retellAgentId}` } : { ok: false, text: `✗ invalid (${parsed.detail})` };
}

async function list(context: Context, flagBase: string | undefined, json: boolean): Promise<number> {
  const configured = webhookBaseUrl(context.settings, context.configPath, context.store?.mode ?? "remote");
  const base = flagBase ?? configured?.value;
  const numbers = await context.client.listNumbers();
  const values = await mappings(context.store);
  const rows = numbers.map((n) => {
    const route = bridgeRoute(n.voice_url);
    const worker = route ? (base ? (route.origin === base ? "✓" : `✗ other host (${route.origin})`) : "✓ (path)") : "–";
    const agent = agentFor(values, n);
    return { number: n, worker, agent };
  });
  if (json) {
    outJson(rows.map(({ number: n, worker, agent }) => ({
      phoneNumber: n.phone_number, sid: n.sid, voiceUrl: n.voice_url, voiceMethod: n.voice_method, statusCallback: n.status_callback,
      statusCallbackMethod: n.status_callback_method, pointsAtWorker: worker.startsWith("✓"), agent: values ? (agent.ok ? agent.text.slice(2) : null) : undefined,
    })));
  } else if (numbers.length === 0) {
    out(`No incoming numbers on account ${context.client.credentials.accountSid}.`);
  } else {
    const header = ["NUMBER", "VOICE URL", "METHOD", "STATUS CALLBACK", "WORKER", "AGENT IN KV"];
    const body = rows.map(({ number: n, worker, agent }) => [
      n.phone_number,
      n.trunk_sid ? `(SIP trunk ${n.trunk_sid}: Voice URL ignored)` : n.voice_application_sid ? `(TwiML app ${n.voice_application_sid}: Voice URL ignored)` : n.voice_url ?? "(none)",
      n.voice_method ?? "",
      n.status_callback ? `${n.status_callback} (${n.status_callback_method ?? "POST"})` : "(none)",
      worker,
      agent.text,
    ]);
    for (const line of table([header, ...body])) out(line);
  }
  note(`${numbers.length} number(s) on account ${context.client.credentials.accountSid}${base ? `; Worker at ${base}${flagBase ? "" : ` (WEBHOOK_BASE_URL from ${configured?.source})`}` : "; no --url or WEBHOOK_BASE_URL, so WORKER only checks the path"}.`);
  if (!values) note("AGENT IN KV shows ? : add --local or --remote to check the mappings.");
  return EXIT.ok;
}

/** The fields to write so `number` calls the Worker at `base`; the per-agent route is kept when already used. */
export function desiredUpdate(number: IncomingNumber, base: string): NumberUpdate {
  const route = bridgeRoute(number.voice_url);
  const voiceUrl = `${base}${VOICE_PATH}${route?.agentId ? `/${encodeURIComponent(route.agentId)}` : ""}`;
  const update: NumberUpdate = { VoiceUrl: voiceUrl, VoiceMethod: "POST", StatusCallback: `${base}${STATUS_PATH}`, StatusCallbackMethod: "POST" };
  // Twilio calls a number's TwiML app instead of its Voice URL: clear it (an empty value removes it).
  if (number.voice_application_sid) update.VoiceApplicationSid = "";
  return update;
}

const CURRENT: Record<keyof NumberUpdate, keyof IncomingNumber> = {
  VoiceUrl: "voice_url",
  VoiceMethod: "voice_method",
  StatusCallback: "status_callback",
  StatusCallbackMethod: "status_callback_method",
  VoiceApplicationSid: "voice_application_sid",
};

function changes(number: IncomingNumber, update: NumberUpdate): string[] {
  const lines: string[] = [];
  for (const [field, value] of Object.entries(update) as [keyof NumberUpdate, string][]) {
    const current = number[CURRENT[field]] ?? "";
    if (current !== value) lines.push(`${field}: ${current === "" ? "(none)" : current} → ${value === "" ? "(removed)" : value}`);
  }
  return lines;
}

async function connect(context: Context, base: string, target: string | null, dryRun: boolean): Promise<number> {
  const { client } = context;
  const numbers = await client.listNumbers();
  let targets: IncomingNumber[];
  const values = await mappings(context.store);
  if (target !== null) {
    const e164 = normalizeE164(target);
    if (!e164) throw usageError(`<number> ${JSON.stringify(target)} is not an E.164 phone number such as +61341517921.`);
    const found = numbers.find((n) => n.phone_number === e164);
    if (!found) throw new CliError(`${e164} is not an incoming number on Twilio account ${client.credentials.accountSid}.`, { fix: "npm run numbers -- list shows the account's numbers" });
    targets = [found];
  } else {
    targets = numbers;
  }
  const configured = webhookBaseUrl(context.settings, context.configPath, context.store?.mode ?? "remote");
  if (configured && configured.value !== base) {
    note(`! WEBHOOK_BASE_URL (${configured.source}) is ${configured.value}, not ${base}: the Worker checks Twilio's signature against WEBHOOK_BASE_URL, so calls to ${base} would be rejected (403).`);
  }
  const progress = new Progress(dryRun ? "Connect (dry run)" : "Connect", targets.length);
  for (const number of targets) {
    const label = number.phone_number;
    if (number.trunk_sid) {
      progress.tick("failed", label, `is on Elastic SIP trunk ${number.trunk_sid}, which makes Twilio ignore its Voice URL: remove it from the trunk first`);
      continue;
    }
    const agent = agentFor(values, number);
    if (values && !agent.ok) {
      if (target === null) {
        progress.tick("skipped", label, `no agent in KV (${agent.text.replace(/^✗ /, "")}); map one with npm run agents -- add ${label} <retellAgentId>`);
        continue;
      }
      note(`! ${label} has no valid agent in the ${describeStore(context.store as Store)}: callers will hear "not in service" until you add one.`);
    }
    const update = desiredUpdate(number, base);
    const diff = changes(number, update);
    if (diff.length === 0) {
      progress.tick("skipped", label, "already connected");
      continue;
    }
    if (dryRun) {
      progress.tick("done", label, "would change:");
      for (const line of diff) out(`    ${label}  ${line}`);
      continue;
    }
    try {
      const after = await client.updateNumber(number.sid, update, label);
      progress.tick("done", label, "connected:");
      for (const line of diff) out(`    ${label}  ${line}`);
      const missed = changes(after, update);
      if (missed.length > 0) note(`  ! Twilio did not apply: ${missed.join("; ")}`);
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      progress.tick("failed", label, error.message);
      if (/rejected the credentials/.test(error.message)) {
        progress.printSummary();
        throw error;
      }
    }
  }
  progress.printSummary();
  if (dryRun) out("Dry run: nothing was changed on Twilio.");
  return progress.counts.failed > 0 ? EXIT.failed : EXIT.ok;
}

await runMain(() => main(process.argv.slice(2)));
