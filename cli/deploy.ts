/**
 * `npm run deploy`: from a clean clone to a live Worker with no dashboard. Creates the KV namespaces and D1
 * databases that wrangler.toml names without an id (or finds ones created before), writes their ids into
 * wrangler.toml, applies D1 migrations remotely, checks the secrets, runs `wrangler deploy` and prints the
 * webhook URL. Running it again creates nothing new.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { expectPositionals, parseFlags } from "./lib/args.ts";
import { VOICE_PATH, parseBaseUrl } from "./lib/bridge.ts";
import { outboundFindings, tokenFindings } from "./lib/outbound-vars.ts";
import { DEFAULT_CONFIG, LINES_BINDING, LINES_CLASS, lineObjectProblem, readWranglerConfig, setEntryField, type TableEntry } from "./lib/config.ts";
import { CliError, EXIT, runMain, usageError } from "./lib/errors.ts";
import { note, out } from "./lib/output.ts";
import { parseDevVars } from "./lib/settings.ts";
import { runWrangler, wrangler, wranglerFailure } from "./lib/wrangler.ts";
import { parseSecret } from "../src/standard-webhooks/sign.ts";

const USAGE = `Usage: npm run deploy [-- --secrets-file FILE] [-- --config FILE]

  1. creates each KV namespace and D1 database in wrangler.toml that has no id (or finds the one a previous
     run created) and writes its id into wrangler.toml: commit that change; creates the call events' queues
     when missing
  2. applies D1 migrations to the remote database
  3. checks the Worker's secrets (TWILIO_AUTH_TOKEN, RETELL_API_KEY are required)
  4. runs wrangler deploy and prints the webhook URL for Twilio

  --secrets-file FILE   NAME=value lines (or JSON) uploaded with the deploy; needed on the very first deploy,
                        when the Worker does not exist yet and \`wrangler secret put\` cannot be used
  -c, --config FILE     wrangler.toml (default ./wrangler.toml)

Needs Cloudflare credentials: \`npx wrangler login\` once, or CLOUDFLARE_API_TOKEN (+ CLOUDFLARE_ACCOUNT_ID).
Exit codes: 0 deployed, 1 failed (nothing deployed; resources already created stay recorded), 2 bad usage.`;

const OPTIONAL_SECRETS: Record<string, string> = {
  TWILIO_AUTH_TOKEN_SECONDARY: "the previous auth token, only during a rotation",
  ADMIN_TOKEN: "bearer token for reading call records (GET /api/calls, /api/stats); without it those routes answer 404",
  CALLS_TOKEN: "bearer token for placing calls (POST /api/calls, npm run call), at least 32 characters; without it that route answers 404",
  WEBHOOK_SIGNING_SECRET: "whsec_… signing every webhook sent to your endpoints (docs/events.md); without it nothing is sent",
  WEBHOOK_SIGNING_SECRET_SECONDARY: "the previous signing secret, only during a rotation",
};

/** Secrets whose value, when given in --secrets-file, must be a valid whsec_ secret (the Worker refuses to sign otherwise). */
const SIGNING_SECRETS = ["WEBHOOK_SIGNING_SECRET", "WEBHOOK_SIGNING_SECRET_SECONDARY"];

/**
 * A message's retention, seconds: the most the Workers Free plan allows (wrangler: 60–86400 on the free tier), so
 * creation succeeds on any plan. The consumer sends a delivery waiting longer as a new message (docs/events.md).
 */
const QUEUE_RETENTION_S = 86_400;

/** The queues wrangler.toml names (producers, consumers, dead-letter queues). */
export function queueNames(toml: string): string[] {
  const names = [...toml.matchAll(/^\s*(?:queue|dead_letter_queue)\s*=\s*"([^"]+)"/gm)].map((m) => m[1] as string);
  return [...new Set(names)];
}

/** Queue names in `wrangler queues list`'s table (cells between │). */
function listedQueues(stdout: string): Set<string> {
  return new Set(stdout.split("\n").flatMap((line) => line.split("│").map((cell) => cell.trim())).filter(Boolean));
}

async function ensureQueue(configPath: string, name: string, cache: { queues?: Set<string> }): Promise<void> {
  if (!cache.queues) cache.queues = listedQueues((await wrangler(["queues", "list", "--config", configPath], "Listing queues")).stdout);
  if (cache.queues.has(name)) {
    out(`  ✓ Queue ${name}: found`);
    return;
  }
  const result = await runWrangler(["queues", "create", name, "--message-retention-period-secs", String(QUEUE_RETENTION_S), "--config", configPath]);
  if (result.code === 0) {
    out(`  ✓ Queue ${name}: created (messages kept ${QUEUE_RETENTION_S / 3600} h)`);
    return;
  }
  const reason = wranglerFailure(result);
  if (reason.some((l) => /already (exists|taken)|11009/i.test(l))) {
    out(`  ✓ Queue ${name}: found (created earlier)`);
    return;
  }
  throw new CliError(`Creating queue ${name} failed.`, { details: reason, fix: "npx wrangler login (or set CLOUDFLARE_API_TOKEN), then run npm run deploy again" });
}

/** Wrangler's own name for a resource it would auto-provision: `<worker>-<binding, lower-case, _ → ->`. */
export function resourceName(worker: string, binding: string): string {
  return `${worker}-${binding.toLowerCase().replaceAll("_", "-")}`;
}

function jsonFrom(stdout: string): unknown {
  const start = stdout.search(/[[{]/);
  return JSON.parse(start === -1 ? stdout : stdout.slice(start));
}

async function ensureKv(configPath: string, worker: string, entry: TableEntry, cache: { namespaces?: { id: string; title: string }[] }): Promise<void> {
  const binding = entry.fields.binding as string;
  if (entry.fields.id) {
    out(`  ✓ KV namespace for ${binding}: id ${entry.fields.id} (recorded in wrangler.toml)`);
    return;
  }
  const title = resourceName(worker, binding);
  if (!cache.namespaces) {
    const { stdout } = await wrangler(["kv", "namespace", "list", "--config", configPath], "Listing KV namespaces");
    cache.namespaces = jsonFrom(stdout) as { id: string; title: string }[];
  }
  let id = cache.namespaces.find((n) => n.title === title)?.id;
  let how = "found (created earlier)";
  if (!id) {
    const { stdout } = await wrangler(["kv", "namespace", "create", title, "--config", configPath], `Creating KV namespace ${title}`);
    id = /\bid\s*=\s*"([0-9a-f]{32})"/.exec(stdout)?.[1] ?? /"id"\s*:\s*"([0-9a-f]{32})"/.exec(stdout)?.[1];
    if (!id) throw new CliError(`wrangler created KV namespace ${title} but printed no id I could read.`, { details: stdout.split("\n").slice(-8), fix: `npx wrangler kv namespace list, then add id = "<id>" under binding = "${binding}" in wrangler.toml` });
    how = "created";
  }
  writeFileSync(configPath, setEntryField(readFileSync(configPath, "utf8"), "kv_namespaces", binding, "id", id));
  out(`  ✓ KV namespace ${title} for ${binding}: ${how}, id ${id} written to wrangler.toml`);
}

async function ensureD1(configPath: string, worker: string, entry: TableEntry, cache: { databases?: { uuid: string; name: string }[] }): Promise<void> {
  const binding = entry.fields.binding as string;
  if (entry.fields.database_id) {
    out(`  ✓ D1 database for ${binding}: id ${entry.fields.database_id} (recorded in wrangler.toml)`);
    return;
  }
  const name = entry.fields.database_name ?? resourceName(worker, binding);
  if (!cache.databases) {
    const { stdout } = await wrangler(["d1", "list", "--json", "--config", configPath], "Listing D1 databases");
    cache.databases = jsonFrom(stdout) as { uuid: string; name: string }[];
  }
  let id = cache.databases.find((d) => d.name === name)?.uuid;
  let how = "found (created earlier)";
  if (!id) {
    const { stdout } = await wrangler(["d1", "create", name, "--config", configPath], `Creating D1 database ${name}`);
    id = /database_id\s*=\s*"([0-9a-f-]{36})"/.exec(stdout)?.[1] ?? /"database_id"\s*:\s*"([0-9a-f-]{36})"/.exec(stdout)?.[1];
    if (!id) throw new CliError(`wrangler created D1 database ${name} but printed no id I could read.`, { details: stdout.split("\n").slice(-8), fix: `npx wrangler d1 list, then add database_id = "<uuid>" under binding = "${binding}" in wrangler.toml` });
    how = "created";
  }
  let text = readFileSync(configPath, "utf8");
  if (!entry.fields.database_name) text = setEntryField(text, "d1_databases", binding, "database_name", name);
  writeFileSync(configPath, setEntryField(text, "d1_databases", binding, "database_id", id));
  out(`  ✓ D1 database ${name} for ${binding}: ${how}, id ${id} written to wrangler.toml`);
}

/** What a --secrets-file sets (dotenv lines or a JSON object): name → value. */
function secretsFileValues(file: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw usageError(`Cannot read --secrets-file ${file}.`);
  }
  if (text.trim().startsWith("{")) {
    try {
      return new Map(Object.entries(JSON.parse(text) as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
    } catch {
      throw usageError(`--secrets-file ${file} is neither NAME=value lines nor a JSON object.`);
    }
  }
  return new Map([...parseDevVars(text)].filter(([, v]) => v !== ""));
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, { config: { type: "string", short: "c" }, "secrets-file": { type: "string" } }, "npm run deploy");
  if (parsed.help) {
    out(USAGE);
    return EXIT.ok;
  }
  expectPositionals(parsed.positionals, [], "npm run deploy");
  const configPath = resolve(parsed.flags.config ?? DEFAULT_CONFIG);
  const secretsFile = parsed.flags["secrets-file"] ? resolve(parsed.flags["secrets-file"]) : undefined;
  const fileValues = secretsFile ? secretsFileValues(secretsFile) : new Map<string, string>();
  const fromFile = new Set(fileValues.keys());
  const config = readWranglerConfig(configPath);
  const worker = config.name;
  if (!worker) throw usageError(`${configPath} has no name = "…" for the Worker.`);
  const configuredBase = config.vars.WEBHOOK_BASE_URL?.trim();
  // The Worker refuses every Twilio request while WEBHOOK_BASE_URL is not a bare https origin (src/config.ts): say so before deploying.
  if (configuredBase) parseBaseUrl(configuredBase, "WEBHOOK_BASE_URL (wrangler.toml [vars])");
  out(`Deploying Worker ${worker} (${configPath})`);

  out("\nResources");
  const lines = lineObjectProblem(config);
  if (lines) throw new CliError(`Not deployed: wrangler.toml has ${lines.problem}.`, { fix: lines.fix });
  out(`  ✓ Durable Object ${LINES_BINDING} (${LINES_CLASS}, SQLite-backed): created or kept by wrangler deploy from its migration`);
  const cache = {};
  for (const entry of config.kvNamespaces) if (entry.fields.binding) await ensureKv(configPath, worker, entry, cache);
  for (const entry of config.d1Databases) if (entry.fields.binding) await ensureD1(configPath, worker, entry, cache);
  const queues = {};
  for (const name of queueNames(readFileSync(configPath, "utf8"))) await ensureQueue(configPath, name, queues);

  const current = readWranglerConfig(configPath);
  for (const entry of current.d1Databases) {
    const dir = join(dirname(configPath), entry.fields.migrations_dir ?? "migrations");
    if (!entry.fields.binding || !existsSync(dir)) continue;
    const { stdout } = await wrangler(["d1", "migrations", "apply", entry.fields.binding, "--remote", "--config", configPath], `Applying D1 migrations to ${entry.fields.database_name ?? entry.fields.binding}`);
    const none = /No migrations to apply/i.test(stdout);
    out(`  ✓ D1 migrations (${dir}) applied remotely to ${entry.fields.database_name ?? entry.fields.binding}${none ? ": already up to date" : ""}`);
  }

  out("\nSecrets");
  const list = await runWrangler(["secret", "list", "--format", "json", "--config", configPath]);
  let deployed = true;
  let names = new Set<string>();
  if (list.code === 0) {
    names = new Set((jsonFrom(list.stdout) as { name: string }[]).map((s) => s.name));
  } else {
    const reason = wranglerFailure(list);
    if (!reason.some((l) => /10007|does not exist|not found/i.test(l))) {
      throw new CliError("Cannot read the Worker's secrets: wrangler secret list failed.", { details: reason, fix: "npx wrangler login (or set CLOUDFLARE_API_TOKEN), then run npm run deploy again" });
    }
    deployed = false;
    out("  (the Worker does not exist yet: this is its first deploy)");
  }
  const required = current.requiredSecrets.length > 0 ? current.requiredSecrets : ["TWILIO_AUTH_TOKEN", "RETELL_API_KEY"];
  const missing: string[] = [];
  for (const name of required) {
    if (names.has(name)) out(`  ✓ ${name} is set`);
    else if (fromFile.has(name)) out(`  ✓ ${name} will be set from ${secretsFile}`);
    else {
      missing.push(name);
      out(`  ✗ ${name} is not set (required)`);
    }
  }
  for (const [name, why] of Object.entries(OPTIONAL_SECRETS)) {
    if (names.has(name) || fromFile.has(name)) out(`  ✓ ${name} is set${names.has(name) ? "" : ` from ${secretsFile}`}`);
    else out(`  – ${name} is not set (optional: ${why}); to set it: npx wrangler secret put ${name}`);
  }
  for (const name of SIGNING_SECRETS) {
    const value = fileValues.get(name);
    const check = value === undefined ? null : parseSecret(value.trim());
    if (check && !check.ok) throw new CliError(`Not deployed: ${name} in ${secretsFile} ${check.problem}.`, { fix: `generate one: node -p "'whsec_' + require('crypto').randomBytes(32).toString('base64')"` });
  }
  if (missing.length > 0) {
    throw new CliError(`Not deployed: required secret${missing.length > 1 ? "s" : ""} ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} not set.`, {
      fix: deployed
        ? missing.map((m) => `npx wrangler secret put ${m}`).join("; ") + "; then npm run deploy"
        : `first deploy: put ${missing.map((m) => `${m}=…`).join(" and ")} in a file outside the repo (one NAME=value a line) and run npm run deploy -- --secrets-file <that file>`,
    });
  }

  const badTokens = tokenFindings({ ADMIN_TOKEN: fileValues.get("ADMIN_TOKEN"), CALLS_TOKEN: fileValues.get("CALLS_TOKEN") }, secretsFile ?? "").filter((f) => f.ok === false);
  for (const finding of badTokens) out(`  ✗ ${finding.text}`);
  if (badTokens.length > 0) throw new CliError("Not deployed: a token in the secrets file breaks the token rule.", { details: badTokens.map((f) => f.text), ...(badTokens[0]?.fix && { fix: badTokens[0].fix }) });

  out("\nOutbound calls");
  const wrong = outboundFindings(current.vars, "wrangler.toml [vars]").filter((finding) => {
    out(`  ${finding.ok === true ? "✓" : finding.ok === false ? "✗" : "–"} ${finding.text}`);
    return finding.ok === false;
  });
  if (wrong.length > 0) throw new CliError("Not deployed: an outbound setting in wrangler.toml is wrong.", { details: wrong.map((f) => f.text), ...(wrong[0]?.fix && { fix: wrong[0].fix }) });

  out("\nDeploy");
  const { stdout } = await wrangler(["deploy", "--config", configPath, ...(secretsFile ? ["--secrets-file", secretsFile] : [])], "wrangler deploy");
  const urls = [...stdout.matchAll(/https:\/\/[^\s)"']+/g)].map((m) => m[0].replace(/\/+$/, "")).filter((u) => !/developers\.cloudflare\.com|dash\.cloudflare\.com/.test(u));
  const url = urls.find((u) => u.endsWith(".workers.dev")) ?? urls[0];
  const version = /Current Version ID:\s*(\S+)/.exec(stdout)?.[1];
  out(`  ✓ wrangler deploy finished${version ? ` (version ${version})` : ""}`);
  if (!url) {
    note("  ! wrangler printed no URL (no workers.dev subdomain or route?): find it with `npx wrangler deployments list`.");
    return EXIT.ok;
  }
  const base = current.vars.WEBHOOK_BASE_URL?.trim().replace(/\/+$/, "");
  const publicBase = base || url;
  out(`\nLive at ${url}`);
  out(`Webhook URL for Twilio (Voice, HTTP POST): ${publicBase}${VOICE_PATH}`);
  if (base && base !== url) out(`  (WEBHOOK_BASE_URL in wrangler.toml is ${base}: Twilio must call that origin, which must route to this Worker)`);
  out("\nNext:");
  out(`  npm run agents -- add <number> <retellAgentId> --remote --check`);
  out(`  npm run numbers -- connect --all --url ${publicBase} --remote`);
  out(`  npm run doctor -- --remote --url ${url}`);
  if (config.kvNamespaces.some((e) => !e.fields.id) || config.d1Databases.some((e) => !e.fields.database_id)) {
    out("\nwrangler.toml now records the new resource ids: commit it.");
  }
  return EXIT.ok;
}

await runMain(() => main(process.argv.slice(2)));
