/**
 * `npm run agents -- <command>`: number → Retell agent mappings in Workers KV, written through wrangler in
 * exactly the format the Worker reads (src/agents/schema.ts). See docs/operations.md.
 */
import { writeFileSync } from "node:fs";
import { extname } from "node:path";
import { loopMessage } from "../src/agents/loop-guard.ts";
import { ROUTE_AGENT_ID } from "../src/agent-key.ts";
import { parseAgentValue, validateAgentConfig, type AgentConfig } from "../src/agents/schema.ts";
import { hookTimeoutMs } from "../src/hook/settings.ts";
import { DEFAULT_TRANSFER_TIMEOUT_S } from "../src/transfers/destinations.ts";
import { DEFAULT_VOICEMAIL_SECONDS } from "../src/voicemail/settings.ts";
import { DEFAULT_MAX_HOLD_S } from "../src/hold/settings.ts";
import { WEEK_ORDER, describeWallTime, isOpen, nextChange, validateSchedule, type AfterHoursTarget, type Schedule } from "../src/rules/schedule.ts";
import { expectPositionals, parseFlags, subcommand } from "./lib/args.ts";
import { DEFAULT_CONFIG } from "./lib/config.ts";
import { CliError, EXIT, runMain, usageError } from "./lib/errors.ts";
import { JSON_ONLY_FIELDS, KEY_HELP, checkRow, exportCsv, exportObject, loopsIn, mappingKey, parseStored, readMapping, readMappingFile, storedValue, type Problem, type Row } from "./lib/mappings.ts";
import { Progress, jsonText, note, out, outJson, table } from "./lib/output.ts";
import { checkAgents, retellApi, type RetellApi } from "./lib/retell.ts";
import { Settings } from "./lib/settings.ts";
import { STORE_FLAGS, describeStore, deleteKey, getValues, putMany, putValue, readAll, storeFromFlags, type Store } from "./lib/store.ts";

const USAGE = `Usage: npm run agents -- <command> (--local | --remote) [options]

Number → Retell agent mappings in the Worker's KV namespace (binding AGENTS).

Commands:
  add <number> <retellAgentId> [--name N] [--fallback <number>] [--version V] [--var key=value ...] [--check]
        [--hook <url>|none] [--hook-timeout <ms>]
  remove <number>
  list [--json]
  show <number>                 (says whether the number is open now, and when that changes)
  hours <number> --tz <zone> [--mon 09:00-17:00 ...] [--closed <date> ...] [--open <date>=<ranges> ...]
        [--after-hours agent:<id>|number:<e164>|say:<text>|voicemail:<greeting>]
  hours <number> --clear
  import <file.json|file.csv> [--check] [--dry-run]
  export [file.json|file.csv]

Store (every command needs one):
  --local               the local store that \`npm run dev\` uses (.wrangler/state)
  --persist-to DIR      with --local: another local persistence folder
  --remote              the deployed namespace on Cloudflare
  -c, --config FILE     wrangler.toml to use (default ./wrangler.toml)

  --check               ask Retell (RETELL_API_KEY) that each agent exists before writing
  --hook URL            the operator's server asked before each call (docs/pre-call-hook.md; https, or http to
                        127.0.0.1/localhost); --hook none turns the CALL_HOOK_URL default off for this number
  --hook-timeout MS     how long the hook may take (default 2500, at most 5000)

Opening hours (hours): days not given are closed; a day takes ranges HH:MM-HH:MM (repeat the flag or separate
them with commas; 22:00-02:00 runs past midnight); --closed YYYY-MM-DD closes a date; --open
YYYY-MM-DD=09:00-12:00 gives a date its own hours; --after-hours says where calls go when closed (default: a
short closed message). hours replaces the number's whole schedule; --clear removes it (open at all hours).

<number> is ${KEY_HELP}.
Exit codes: 0 done, 1 failed, 2 bad usage or input (nothing written).`;

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = { add, remove, list, show, hours, import: importFile, export: exportFile };

async function main(argv: string[]): Promise<number> {
  const picked = subcommand(argv, Object.keys(SUBCOMMANDS), "npm run agents", USAGE);
  if (typeof picked === "number") return picked;
  return (SUBCOMMANDS[picked.command] as (argv: string[]) => Promise<number>)(picked.rest);
}

function parse<S extends Parameters<typeof parseFlags>[1]>(argv: string[], command: string, spec: S) {
  const parsed = parseFlags(argv, { ...STORE_FLAGS, ...spec }, `npm run agents -- ${command}`);
  if (parsed.help) {
    out(USAGE);
    return null;
  }
  return parsed;
}

function openStore(flags: { local?: boolean; remote?: boolean; "persist-to"?: string; config?: string }, command: string): { store: Store; settings: Settings } {
  const configPath = flags.config ?? DEFAULT_CONFIG;
  const store = storeFromFlags(flags, `npm run agents -- ${command}`, configPath);
  note(`Store: ${describeStore(store)}`);
  return { store, settings: new Settings(configPath) };
}

function retellForCheck(settings: Settings): RetellApi {
  const key = settings.value("RETELL_API_KEY");
  if (!key) throw usageError("--check needs RETELL_API_KEY; nothing was written.", `set RETELL_API_KEY in the environment or in ${settings.devVarsFile}, or leave out --check`);
  return retellApi(key, settings.value("RETELL_BASE_URL"));
}

/** The agent fields the routing-rule commands own. */
const RULE_FIELDS = ["schedule", "blockedCallers", "allowedCallers"] as const;

function pick<T extends object, K extends keyof T>(value: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const picked: Partial<Pick<T, K>> = {};
  for (const key of keys) if (value[key] !== undefined) picked[key] = value[key];
  return picked;
}

function describeAgent(agent: AgentConfig): string {
  const parts = [agent.retellAgentId];
  if (agent.retellAgentVersion !== undefined) parts.push(`v${agent.retellAgentVersion}`);
  if (agent.name) parts.push(`"${agent.name}"`);
  if (agent.fallbackNumber) parts.push(`fallback ${agent.fallbackNumber}`);
  const vars = Object.entries(agent.dynamicVariables ?? {});
  if (vars.length) parts.push(vars.map(([k, v]) => `${k}=${v}`).join(" "));
  return parts.join("  ");
}

function describeStored(raw: string): string {
  const parsed = parseAgentValue(raw);
  return parsed.ok ? describeAgent(parsed.agent) : `invalid value (${parsed.detail})`;
}

function keyArgument(input: string, what = "<number>"): string {
  const key = mappingKey(input);
  if (!key) throw usageError(`${what} ${JSON.stringify(input)} is not ${KEY_HELP}; nothing was written.`);
  return key;
}

const FLAG_FOR_FIELD: Record<string, string> = {
  number: "<number>",
  retellAgentId: "<retellAgentId>",
  retellAgentVersion: "--version",
  name: "--name",
  fallbackNumber: "--fallback",
  dynamicVariables: "--var",
  callHook: "--hook",
};

async function add(argv: string[]): Promise<number> {
  const parsed = parse(argv, "add", {
    name: { type: "string" },
    fallback: { type: "string" },
    version: { type: "string" },
    var: { type: "string", multiple: true },
    check: { type: "boolean" },
    hook: { type: "string" },
    "hook-timeout": { type: "string" },
  });
  if (!parsed) return EXIT.ok;
  const { flags } = parsed;
  const [number, agentId] = expectPositionals(parsed.positionals, ["number", "retellAgentId"], "npm run agents -- add") as [string, string];
  const problems: string[] = [];
  const agent: Record<string, unknown> = { retellAgentId: agentId };
  if (flags.name !== undefined) agent.name = flags.name;
  if (flags.fallback !== undefined) agent.fallbackNumber = flags.fallback;
  if (flags.version !== undefined) agent.retellAgentVersion = /^\d+$/.test(flags.version) ? Number(flags.version) : flags.version;
  if (flags.var) {
    const vars: Record<string, string> = {};
    for (const pair of flags.var) {
      const eq = pair.indexOf("=");
      const name = eq === -1 ? "" : pair.slice(0, eq);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) problems.push(`--var: ${JSON.stringify(pair)} is not key=value with a key of letters, digits and _`);
      else if (name in vars) problems.push(`--var: ${name} is given twice`);
      else vars[name] = pair.slice(eq + 1);
    }
    agent.dynamicVariables = vars;
  }
  if (flags["hook-timeout"] !== undefined && (flags.hook === undefined || flags.hook === "none")) problems.push("--hook-timeout: needs --hook <url>");
  if (flags.hook === "none") agent.callHook = null;
  else if (flags.hook !== undefined) {
    const timeout = flags["hook-timeout"];
    agent.callHook = { url: flags.hook, ...(timeout !== undefined && { timeoutMs: /^\d+$/.test(timeout) ? Number(timeout) : timeout }) };
  }
  const result = checkRow(0, number, agent);
  if (Array.isArray(result)) problems.push(...result.map((p: Problem) => `${FLAG_FOR_FIELD[p.field] ?? p.field}: ${p.message}`));
  if (problems.length > 0 || Array.isArray(result)) {
    throw usageError(`Invalid mapping; nothing was written.`, "npm run agents -- add <number> <retellAgentId> [--name N] [--fallback <number>] [--version V] [--var key=value]", problems);
  }
  const { store, settings } = openStore(flags, "add");
  const loops = await loopsIn(store, [result]);
  if (loops.length > 0) throw usageError("The mapping would loop calls through the bridge; nothing was written.", undefined, loops.map(({ looping }) => `${FLAG_FOR_FIELD[looping.field] ?? looping.field}: ${loopMessage(looping)}`));
  if (flags.check) {
    const status = (await checkAgents(retellForCheck(settings), [result.agent.retellAgentId])).get(result.agent.retellAgentId);
    if (status && !status.ok) throw new CliError(`--check: ${status.detail}; nothing was written.`, { exitCode: status.reason === "missing" ? EXIT.usage : EXIT.failed });
    note(`✓ Retell has agent ${result.agent.retellAgentId}${status?.ok && status.name ? ` ("${status.name}")` : ""}`);
  }
  const previous = (await getValues(store, [result.key])).get(result.key) ?? null;
  // The routing rules are set by `hours` and `npm run rules`: an update of the agent keeps them.
  const kept = previous === null ? undefined : parseAgentValue(previous);
  const stored: AgentConfig = { ...result.agent, ...(kept?.ok && pick(kept.agent, RULE_FIELDS)) };
  const value = storedValue(stored);
  if (previous === value) {
    out(`– ${result.key} already maps to ${describeAgent(result.agent)} in the ${describeStore(store)}; nothing to write.`);
    return EXIT.ok;
  }
  await putValue(store, result.key, value);
  out(`✓ ${previous === null ? "Added" : "Updated"} ${result.key} → ${describeAgent(result.agent)}${previous === null ? "" : ` (was ${describeStored(previous)})`} in the ${describeStore(store)}.`);
  const keptFields = RULE_FIELDS.filter((f) => stored[f] !== undefined);
  if (keptFields.length > 0) note(`  Kept its ${keptFields.join(", ")} (change them with npm run agents -- hours and npm run rules).`);
  if (store.mode === "remote") note("  Deployed Workers may serve the previous mapping for up to 60 s (KV caching).");
  return EXIT.ok;
}

async function remove(argv: string[]): Promise<number> {
  const parsed = parse(argv, "remove", {});
  if (!parsed) return EXIT.ok;
  const [input] = expectPositionals(parsed.positionals, ["number"], "npm run agents -- remove") as [string];
  const key = keyArgument(input);
  const { store } = openStore(parsed.flags, "remove");
  const previous = (await getValues(store, [key])).get(key) ?? null;
  if (previous === null) throw new CliError(`${key} has no mapping in the ${describeStore(store)}; nothing was removed.`, { fix: "npm run agents -- list shows what is there" });
  await deleteKey(store, key);
  out(`✓ Removed ${key} (was ${describeStored(previous)}) from the ${describeStore(store)}.`);
  note(`  Calls to ${key} now hear "not in service" (after up to 60 s of KV caching on a deployed Worker).`);
  return EXIT.ok;
}

async function list(argv: string[]): Promise<number> {
  const parsed = parse(argv, "list", { json: { type: "boolean" } });
  if (!parsed) return EXIT.ok;
  expectPositionals(parsed.positionals, [], "npm run agents -- list");
  const { store } = openStore(parsed.flags, "list");
  const { mappings, invalid } = parseStored(await readAll(store));
  if (parsed.flags.json) {
    outJson({ mappings: mappings.map(exportObject), invalid });
  } else if (mappings.length + invalid.length === 0) {
    out("No mappings.");
  } else {
    const rows = [["NUMBER", "AGENT", "VERSION", "NAME", "FALLBACK", "VARIABLES"]];
    for (const { key, agent } of mappings) {
      rows.push([key, agent.retellAgentId, agent.retellAgentVersion === undefined ? "" : String(agent.retellAgentVersion), agent.name ?? "", agent.fallbackNumber ?? "",
        Object.entries(agent.dynamicVariables ?? {}).map(([k, v]) => `${k}=${v}`).join(" ")]);
    }
    for (const { key, detail } of invalid) rows.push([key, `✗ invalid: ${detail}`]);
    for (const line of table(rows)) out(line);
  }
  note(`${mappings.length} mapping(s)${invalid.length ? `, ${invalid.length} invalid (the Worker answers "not in service" for those)` : ""} in the ${describeStore(store)}.`);
  return EXIT.ok;
}

async function show(argv: string[]): Promise<number> {
  const parsed = parse(argv, "show", {});
  if (!parsed) return EXIT.ok;
  const [input] = expectPositionals(parsed.positionals, ["number"], "npm run agents -- show") as [string];
  const key = keyArgument(input);
  const { store } = openStore(parsed.flags, "show");
  const raw = (await getValues(store, [key])).get(key) ?? null;
  if (raw === null) throw new CliError(`${key} has no mapping in the ${describeStore(store)}.`, { fix: `npm run agents -- add ${key} <retellAgentId> --${store.mode}` });
  const parsedValue = parseAgentValue(raw);
  out(`${key}`);
  out(`  stored value:  ${raw}`);
  if (!parsedValue.ok) {
    out(`  ✗ invalid: ${parsedValue.detail}; callers hear "not in service".`);
    return EXIT.failed;
  }
  const { agent } = parsedValue;
  out(`  agent:         ${agent.retellAgentId}${agent.retellAgentVersion === undefined ? " (latest version)" : ` version ${agent.retellAgentVersion}`}`);
  if (agent.name) out(`  name:          ${agent.name}`);
  out(`  fallback:      ${agent.fallbackNumber ?? "(none: callers hear an apology when Retell cannot take the call)"}`);
  for (const [k, v] of Object.entries(agent.dynamicVariables ?? {})) out(`  var ${k}: ${v}`);
  if (agent.metadata) out(`  metadata:      ${JSON.stringify(agent.metadata)}`);
  if (agent.callHook !== undefined) {
    out(`  call hook:     ${agent.callHook === null ? "none (the CALL_HOOK_URL default is off for this number)" : `${agent.callHook.url} (${hookTimeoutMs(agent.callHook)} ms)`}`);
  }
  if (agent.blockedCallers) out(`  blocked:       ${agent.blockedCallers.join(", ")}`);
  if (agent.allowedCallers) out(`  allowed only:  ${agent.allowedCallers.join(", ")}`);
  if (agent.transfers) {
    const ring = `rings ${agent.transferTimeoutSeconds ?? DEFAULT_TRANSFER_TIMEOUT_S} s, caller id ${agent.transferCallerId ?? "the number dialed"}`;
    out(`  transfers:     ${Object.entries(agent.transfers).map(([name, target]) => `${name} → ${target}`).join(", ")} (${ring})`);
  }
  if (agent.blockUnverified) out(`  unverified:    rejects callers whose SHAKEN/STIR check ${agent.blockUnverified === "failed" ? "failed" : "failed or gave only C attestation"}`);
  if (agent.maxCallSeconds !== undefined) out(`  AI leg limit:  ${agent.maxCallSeconds} s`);
  if (agent.announce) out(`  notice:        ${"url" in agent.announce ? `play ${agent.announce.url}` : `say "${agent.announce.text}"`} before the agent`);
  if (agent.maxConcurrentCalls !== undefined) {
    out(`  capacity:      ${agent.maxConcurrentCalls} calls at once; others hold up to ${agent.maxHoldSeconds ?? DEFAULT_MAX_HOLD_S} s`);
  }
  if (agent.voicemail) out(`  voicemail:     say "${agent.voicemail.greeting}", record up to ${agent.voicemail.maxSeconds} s`);
  if (!agent.schedule) {
    out("  hours:         none: open at all hours");
    return EXIT.ok;
  }
  for (const line of describeSchedule(agent.schedule)) out(`  ${line}`);
  out(`  now:           ${openNow(agent.schedule, Date.now())}`);
  return EXIT.ok;
}

function describeTarget(target: AfterHoursTarget | undefined): string {
  if (!target) return "the closed message, then hang up";
  if ("agent" in target) return `the agent stored under agent:${target.agent}`;
  if ("number" in target) return `dial ${target.number}`;
  if ("voicemail" in target) return `say "${target.voicemail.greeting}", then record a message of up to ${target.voicemail.maxSeconds} s`;
  return `say "${target.say}", then hang up`;
}

function describeSchedule(schedule: Schedule): string[] {
  const lines = [`hours:         ${schedule.timeZone}`];
  for (const day of WEEK_ORDER) lines.push(`  ${day}:         ${schedule.hours[day]?.join(", ") || "closed"}`);
  if (schedule.closed?.length) lines.push(`closed:        ${schedule.closed.join(", ")}`);
  for (const [date, ranges] of Object.entries(schedule.open ?? {})) lines.push(`open:          ${date} ${ranges.join(", ")}`);
  lines.push(`after hours:   ${describeTarget(schedule.afterHours)}`);
  return lines;
}

/** `open (Fri 2026-11-20 10:42 in Australia/Melbourne) until Fri 2026-11-20 17:00`, or when it opens. */
function openNow(schedule: Schedule, now: number): string {
  const open = isOpen(schedule, now);
  const change = nextChange(schedule, now);
  const state = `${open ? "open" : "closed"} (${describeWallTime(schedule.timeZone, now)} in ${schedule.timeZone})`;
  if (!change) return `${state}, ${open ? "at all hours" : "with no opening in the next two years"}`;
  return `${state}; ${open ? "closes" : "opens"} ${describeWallTime(schedule.timeZone, change.at)}`;
}

const DAY_FLAGS = Object.fromEntries(WEEK_ORDER.map((day) => [day, { type: "string", multiple: true }])) as Record<(typeof WEEK_ORDER)[number], { type: "string"; multiple: true }>;

/**
 * `agent:night_desk`, `number:+61390000000`, `say:We open at nine.`, `voicemail:Leave a message.` → the schedule's
 * afterHours target (a voicemail records for DEFAULT_VOICEMAIL_SECONDS; JSON import sets another length).
 */
function parseTarget(text: string): AfterHoursTarget | null {
  const colon = text.indexOf(":");
  const [kind, value] = [text.slice(0, colon), text.slice(colon + 1)];
  if (colon === -1) return null;
  if (kind === "agent") return { agent: value };
  if (kind === "number") return { number: value };
  if (kind === "say") return { say: value };
  if (kind === "voicemail") return { voicemail: { greeting: value, maxSeconds: DEFAULT_VOICEMAIL_SECONDS } };
  return null;
}

/** The flag an operator wrote for the schedule field a validation detail names. */
function flagOf(detail: string): string {
  const field = /^schedule\.(timeZone|hours\.(\w+)|closed|open|afterHours)/.exec(detail);
  if (!field) return "hours";
  if (field[2]) return `--${field[2]}`;
  return { timeZone: "--tz", closed: "--closed", open: "--open", afterHours: "--after-hours" }[field[1] as string] ?? "hours";
}

async function hours(argv: string[]): Promise<number> {
  const parsed = parse(argv, "hours", { tz: { type: "string" }, ...DAY_FLAGS, closed: { type: "string", multiple: true }, open: { type: "string", multiple: true }, "after-hours": { type: "string" }, clear: { type: "boolean" } });
  if (!parsed) return EXIT.ok;
  const { flags } = parsed;
  const [input] = expectPositionals(parsed.positionals, ["number"], "npm run agents -- hours") as [string];
  const key = keyArgument(input);
  const usage = "npm run agents -- hours <number> --tz <zone> [--mon 09:00-17:00 ...] [--closed <date>] [--open <date>=<ranges>] [--after-hours agent:<id>|number:<e164>|say:<text>|voicemail:<greeting>], or --clear";
  const given = ["tz", ...WEEK_ORDER, "closed", "open", "after-hours"].filter((f) => flags[f as keyof typeof flags] !== undefined);
  let schedule: Schedule | undefined;
  if (flags.clear) {
    if (given.length > 0) throw usageError(`--clear takes no other schedule flag (got --${given.join(", --")}); nothing was written.`, usage);
  } else {
    const problems: string[] = [];
    if (flags.tz === undefined) problems.push("--tz: is missing (an IANA time zone such as Australia/Melbourne)");
    const split = (values: string[] | undefined) => (values ?? []).flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);
    const days: Record<string, string[]> = {};
    for (const day of WEEK_ORDER) if (flags[day] !== undefined) days[day] = split(flags[day]);
    const open: Record<string, string[]> = {};
    for (const entry of flags.open ?? []) {
      const eq = entry.indexOf("=");
      if (eq === -1) problems.push(`--open: ${JSON.stringify(entry)} is not <date>=<ranges> (2026-12-24=09:00-12:00)`);
      else open[entry.slice(0, eq).trim()] = split([entry.slice(eq + 1)]);
    }
    const target = flags["after-hours"] === undefined ? undefined : parseTarget(flags["after-hours"]);
    if (target === null) problems.push(`--after-hours: ${JSON.stringify(flags["after-hours"])} is not agent:<id>, number:<e164>, say:<text> or voicemail:<greeting>`);
    if (target && "number" in target && mappingKey(target.number) === key) problems.push(`--after-hours: ${target.number} is this number itself: calls would loop`);
    if (problems.length === 0) {
      const candidate = { timeZone: flags.tz, hours: days, ...(flags.closed && { closed: split(flags.closed) }), ...(flags.open && { open }), ...(target && { afterHours: target }) };
      const checked = validateSchedule(candidate, (id) => ROUTE_AGENT_ID.test(id));
      if (checked.ok) schedule = checked.schedule;
      else problems.push(`${flagOf(checked.detail)}: ${checked.detail}`);
    }
    if (problems.length > 0) throw usageError("Invalid opening hours; nothing was written.", usage, problems);
  }
  const { store } = openStore(flags, "hours");
  // The after-hours agent is read with the mapping: whether it exists is only a note, and one wrangler start fewer.
  const afterHoursKey = schedule?.afterHours && "agent" in schedule.afterHours ? `agent:${schedule.afterHours.agent}` : undefined;
  const { raw, agent, also } = await readMapping(store, key, afterHoursKey ? [afterHoursKey] : []);
  const loops = schedule ? await loopsIn(store, [{ key, agent: { retellAgentId: agent.retellAgentId, schedule } }]) : [];
  if (loops.length > 0) throw usageError("The opening hours would loop calls through the bridge; nothing was written.", undefined, loops.map(({ looping }) => `--after-hours: ${loopMessage(looping)}`));
  const { schedule: _previous, ...rest } = agent;
  const updated = validateAgentConfig({ ...rest, ...(schedule && { schedule }) });
  if (!updated.ok) throw new CliError(`${key}: ${updated.detail}; nothing was written.`);
  const value = storedValue(updated.agent);
  if (value === raw) {
    out(`– ${key} already has ${schedule ? "these opening hours" : "no opening hours"} in the ${describeStore(store)}; nothing to write.`);
    return EXIT.ok;
  }
  await putValue(store, key, value);
  if (!schedule) {
    out(`✓ Removed the opening hours of ${key} in the ${describeStore(store)}: it is open at all hours.`);
  } else {
    out(`✓ Set the opening hours of ${key} in the ${describeStore(store)}:`);
    for (const line of describeSchedule(schedule)) out(`  ${line}`);
    out(`  now:           ${openNow(schedule, Date.now())}`);
    if (afterHoursKey && (also.get(afterHoursKey) ?? null) === null) {
      note(`  ! ${afterHoursKey} has no mapping yet: after-hours callers hear "not in service" until you add it (npm run agents -- add ${afterHoursKey} <retellAgentId> --${store.mode}).`);
    }
  }
  if (store.mode === "remote") note("  Deployed Workers may serve the previous hours for up to 60 s (KV caching).");
  return EXIT.ok;
}

async function importFile(argv: string[]): Promise<number> {
  const parsed = parse(argv, "import", { check: { type: "boolean" }, "dry-run": { type: "boolean" } });
  if (!parsed) return EXIT.ok;
  const [file] = expectPositionals(parsed.positionals, ["file.json|file.csv"], "npm run agents -- import") as [string];
  const { flags } = parsed;
  const configPath = flags.config ?? DEFAULT_CONFIG;
  storeFromFlags(flags, "npm run agents -- import", configPath);
  const rows: Row[] = readMappingFile(file);
  note(`✓ ${file}: ${rows.length} valid row(s), no duplicate numbers.`);
  const { store, settings } = openStore(flags, "import");
  const loops = await loopsIn(store, rows);
  if (loops.length > 0) {
    throw usageError(`${file}: ${loops.length} number(s) would loop calls through the bridge; nothing was written.`, "dial numbers that are not this bridge's own (fallback, transfers, after-hours)", loops.map(({ mapping, looping }) => `${file}:${mapping.line}: ${looping.field}: ${loopMessage(looping)}`));
  }
  if (flags.check) {
    const api = retellForCheck(settings);
    const ids = [...new Set(rows.map((r) => r.agent.retellAgentId))];
    const progress = new Progress("Retell check", ids.length);
    const results = await checkAgents(api, ids, (id, status) => progress.tick(status.ok ? "done" : "failed", id, status.ok ? "exists" : status.detail));
    const bad = rows.filter((r) => results.get(r.agent.retellAgentId)?.ok === false);
    if (bad.length > 0) {
      const detail = (r: Row) => {
        const s = results.get(r.agent.retellAgentId);
        return s && !s.ok ? s.detail : "";
      };
      throw new CliError(`--check: ${bad.length} row(s) name agents Retell cannot confirm; nothing was written.`, {
        exitCode: bad.every((r) => { const s = results.get(r.agent.retellAgentId); return s && !s.ok && s.reason === "missing"; }) ? EXIT.usage : EXIT.failed,
        details: bad.map((r) => `${file}:${r.line}: retellAgentId: ${detail(r)}`),
      });
    }
  }
  const existing = await getValues(store, rows.map((r) => r.key));
  const progress = new Progress(flags["dry-run"] ? "Import (dry run)" : "Import", rows.length);
  const writes = rows.map((r) => ({ row: r, value: storedValue(r.agent), previous: existing.get(r.key) ?? null })).filter((w) => w.value !== w.previous);
  if (!flags["dry-run"] && writes.length > 0) {
    note(`Writing ${writes.length} mapping(s) with one \`wrangler kv bulk put\`…`);
    try {
      await putMany(store, writes.map((w) => ({ key: w.row.key, value: w.value })));
    } catch (error) {
      for (const w of writes) progress.tick("failed", w.row.key);
      progress.printSummary();
      throw error;
    }
  }
  const writing = new Set(writes.map((w) => w.row));
  for (const r of rows) {
    const previous = existing.get(r.key) ?? null;
    if (!writing.has(r)) progress.tick("skipped", r.key, "unchanged");
    else progress.tick("done", r.key, `${flags["dry-run"] ? "would be " : ""}${previous === null ? "added" : `updated (was ${describeStored(previous)})`} → ${describeAgent(r.agent)}`);
  }
  progress.printSummary();
  out(`${flags["dry-run"] ? "Dry run: would write" : "✓ Wrote"} ${writes.length} mapping(s) (${rows.length - writes.length} unchanged) ${flags["dry-run"] ? "to" : "in"} the ${describeStore(store)}.`);
  return EXIT.ok;
}

async function exportFile(argv: string[]): Promise<number> {
  const parsed = parse(argv, "export", {});
  if (!parsed) return EXIT.ok;
  const [file] = expectPositionals(parsed.positionals, ["file.json|file.csv"], "npm run agents -- export", 1);
  const format = file ? extname(file).toLowerCase() : ".json";
  if (format !== ".json" && format !== ".csv") throw usageError(`${file}: unknown file type "${format || "(none)"}".`, "name the file *.json or *.csv");
  const { store } = openStore(parsed.flags, "export");
  const { mappings, invalid } = parseStored(await readAll(store));
  for (const { key, detail } of invalid) note(`✗ ${key} left out: its stored value is invalid (${detail})`);
  if (format === ".csv") {
    const jsonOnly = mappings.filter((m) => JSON_ONLY_FIELDS.some((f) => m.agent[f] !== undefined));
    if (jsonOnly.length > 0) throw usageError(`CSV cannot hold ${JSON_ONLY_FIELDS.join(", ")} (set on ${jsonOnly.map((m) => m.key).join(", ")}); nothing was exported.`, "export to a .json file instead");
  }
  if (file) {
    writeFileSync(file, format === ".csv" ? exportCsv(mappings) : jsonText(mappings.map(exportObject)) + "\n");
    note(`✓ Exported ${mappings.length} mapping(s) to ${file}.`);
  } else {
    outJson(mappings.map(exportObject));
  }
  return invalid.length > 0 ? EXIT.failed : EXIT.ok;
}

await runMain(() => main(process.argv.slice(2)));
