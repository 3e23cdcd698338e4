/**
 * `npm run rules -- <command>`: blocked and allowed callers in Workers KV, in exactly the format the Worker reads:
 * the global blocklist `rules:blocked` (src/rules/blocklist.ts) and an agent's `blockedCallers` /
 * `allowedCallers` (src/agents/schema.ts). See docs/operations.md.
 */
import { AGENT_KEY_PREFIX, ROUTE_AGENT_ID } from "../src/agent-key.ts";
import { serializeAgentConfig, validateAgentConfig, type AgentConfig } from "../src/agents/schema.ts";
import { BLOCKLIST_KEY, parseBlocklist } from "../src/rules/blocklist.ts";
import { PATTERN_HELP, normalizePattern } from "../src/rules/callers.ts";
import { expectPositionals, parseFlags, subcommand } from "./lib/args.ts";
import { DEFAULT_CONFIG } from "./lib/config.ts";
import { CliError, EXIT, runMain, usageError } from "./lib/errors.ts";
import { KEY_HELP, mappingKey, parseStored, readMapping } from "./lib/mappings.ts";
import { note, out, table } from "./lib/output.ts";
import { STORE_FLAGS, deleteKey, describeStore, getValues, putValue, readMappings, storeFromFlags, type Store, type StoreFlagValues } from "./lib/store.ts";

const USAGE = `Usage: npm run rules -- <command> (--local | --remote) [options]

Blocked and allowed callers, checked by the Worker before anything is registered with Retell.

Commands:
  block <pattern>... [--agent <number>]      turn these callers away (<Reject>): everywhere, or on one agent
  unblock <pattern>... [--agent <number>]
  allow <pattern>... --agent <number>        only these callers reach the agent; the others go where
                                             after-hours calls go (npm run agents -- hours)
  disallow <pattern>... --agent <number>     (removing the last one lets every caller through again)
  list [--json]                              the global blocklist and every agent's caller rules

<pattern> is ${PATTERN_HELP}.
--agent <number> is the mapping's key: ${KEY_HELP} (a bare route id means agent:<id>).

Store (every command needs one):
  --local               the local store that \`npm run dev\` uses (.wrangler/state)
  --persist-to DIR      with --local: another local persistence folder
  --remote              the deployed namespace on Cloudflare
  -c, --config FILE     wrangler.toml to use (default ./wrangler.toml)

Exit codes: 0 done, 1 failed, 2 bad usage or input (nothing written).`;

type ListField = "blockedCallers" | "allowedCallers";
type Change = { add: boolean; field: ListField };

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  block: (argv) => change(argv, "block", { add: true, field: "blockedCallers" }),
  unblock: (argv) => change(argv, "unblock", { add: false, field: "blockedCallers" }),
  allow: (argv) => change(argv, "allow", { add: true, field: "allowedCallers" }),
  disallow: (argv) => change(argv, "disallow", { add: false, field: "allowedCallers" }),
  list,
};

async function main(argv: string[]): Promise<number> {
  const picked = subcommand(argv, Object.keys(SUBCOMMANDS), "npm run rules", USAGE);
  if (typeof picked === "number") return picked;
  return (SUBCOMMANDS[picked.command] as (argv: string[]) => Promise<number>)(picked.rest);
}

function openStore(flags: StoreFlagValues, command: string): Store {
  const store = storeFromFlags(flags, `npm run rules -- ${command}`, flags.config ?? DEFAULT_CONFIG);
  note(`Store: ${describeStore(store)}`);
  return store;
}

/** The KV key `--agent` names: a number or `agent:<id>` as `npm run agents` takes them, or a bare route id. */
function agentKeyOf(input: string): string | null {
  return mappingKey(input) ?? (ROUTE_AGENT_ID.test(input.trim()) ? AGENT_KEY_PREFIX + input.trim() : null);
}

/** The patterns to add or remove, normalised and without repeats; every invalid one is reported. */
function patternsOf(inputs: string[], command: string): string[] {
  const patterns: string[] = [];
  const problems: string[] = [];
  for (const input of inputs) {
    const pattern = normalizePattern(input);
    if (pattern === null) problems.push(`${JSON.stringify(input)} is not ${PATTERN_HELP}`);
    else if (!patterns.includes(pattern)) patterns.push(pattern);
  }
  if (problems.length > 0) throw usageError(`Invalid caller pattern${problems.length > 1 ? "s" : ""}; nothing was written.`, `npm run rules -- ${command} <pattern>... (${PATTERN_HELP})`, problems);
  return patterns;
}

/** The list after the change; an error naming the patterns an unblock or disallow cannot find. */
function changed(list: readonly string[], patterns: string[], add: boolean, where: string): string[] {
  if (add) return [...list, ...patterns.filter((p) => !list.includes(p))];
  const missing = patterns.filter((p) => !list.includes(p));
  if (missing.length > 0) throw new CliError(`${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} not on ${where}; nothing was written.`, { fix: "npm run rules -- list shows what is there" });
  return list.filter((p) => !patterns.includes(p));
}

async function change(argv: string[], command: string, { add, field }: Change): Promise<number> {
  const parsed = parseFlags(argv, { ...STORE_FLAGS, agent: { type: "string" } }, `npm run rules -- ${command}`);
  if (parsed.help) {
    out(USAGE);
    return EXIT.ok;
  }
  const { flags } = parsed;
  if (parsed.positionals.length === 0) throw usageError(`\`npm run rules -- ${command}\` needs at least one <pattern>.`, `npm run rules -- ${command} <pattern>... (${PATTERN_HELP})`);
  const patterns = patternsOf(parsed.positionals, command);
  const key = flags.agent === undefined ? null : agentKeyOf(flags.agent);
  if (flags.agent !== undefined && key === null) throw usageError(`--agent ${JSON.stringify(flags.agent)} is not ${KEY_HELP}; nothing was written.`);
  if (field === "allowedCallers" && key === null) throw usageError(`\`npm run rules -- ${command}\` needs --agent: allowed callers belong to one agent.`);
  const store = openStore(flags, command);
  return key === null ? changeGlobal(store, patterns, add) : changeAgent(store, key, patterns, { add, field });
}

async function changeGlobal(store: Store, patterns: string[], add: boolean): Promise<number> {
  const raw = (await getValues(store, [BLOCKLIST_KEY])).get(BLOCKLIST_KEY) ?? null;
  const current = parseBlocklist(raw);
  if (!current.ok) {
    throw new CliError(`${current.detail}: the stored global blocklist is malformed (the Worker ignores it); nothing was written.`, {
      fix: `look at it with npx wrangler kv key get --binding AGENTS ${BLOCKLIST_KEY} --${store.mode}; delete it with npx wrangler kv key delete --binding AGENTS ${BLOCKLIST_KEY} --${store.mode}, then block again`,
    });
  }
  const next = changed(current.patterns, patterns, add, `the global blocklist (${BLOCKLIST_KEY})`);
  if (next.length === current.patterns.length && add) {
    out(`– ${patterns.join(", ")} already blocked for every number in the ${describeStore(store)}; nothing to write.`);
    return EXIT.ok;
  }
  if (next.length === 0) await deleteKey(store, BLOCKLIST_KEY);
  else await putValue(store, BLOCKLIST_KEY, JSON.stringify(next));
  out(`✓ ${add ? "Blocked" : "Unblocked"} ${patterns.join(", ")} for every number in the ${describeStore(store)}; the global blocklist has ${next.length} pattern(s).`);
  if (store.mode === "remote") note("  Deployed Workers may use the previous list for up to 60 s (KV caching).");
  return EXIT.ok;
}

async function changeAgent(store: Store, key: string, patterns: string[], { add, field }: Change): Promise<number> {
  const { raw, agent } = await readMapping(store, key);
  const next = changed(agent[field] ?? [], patterns, add, `${key}'s ${field}`);
  const { [field]: _previous, ...rest } = agent;
  const updated = validateAgentConfig({ ...rest, ...(next.length > 0 && { [field]: next }) });
  if (!updated.ok) throw new CliError(`${key}: ${updated.detail}; nothing was written.`);
  const value = serializeAgentConfig(updated.agent);
  if (value === raw) {
    out(`– ${key}'s ${field} already hold ${patterns.join(", ")} in the ${describeStore(store)}; nothing to write.`);
    return EXIT.ok;
  }
  await putValue(store, key, value);
  const verb = field === "blockedCallers" ? (add ? "Blocked" : "Unblocked") : add ? "Allowed only" : "No longer allowed only";
  out(`✓ ${verb} ${patterns.join(", ")} on ${key} in the ${describeStore(store)}; ${field}: ${next.join(", ") || "none"}.`);
  if (field === "allowedCallers" && next.length === 0) note(`  ${key} takes every caller again.`);
  if (store.mode === "remote") note("  Deployed Workers may use the previous rules for up to 60 s (KV caching).");
  return EXIT.ok;
}

function rulesOf(agent: AgentConfig): { blockedCallers?: string[]; allowedCallers?: string[]; timeZone?: string } {
  return {
    ...(agent.blockedCallers && { blockedCallers: agent.blockedCallers }),
    ...(agent.allowedCallers && { allowedCallers: agent.allowedCallers }),
    ...(agent.schedule && { timeZone: agent.schedule.timeZone }),
  };
}

async function list(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, { ...STORE_FLAGS, json: { type: "boolean" } }, "npm run rules -- list");
  if (parsed.help) {
    out(USAGE);
    return EXIT.ok;
  }
  expectPositionals(parsed.positionals, [], "npm run rules -- list");
  const store = openStore(parsed.flags, "list");
  const { mappings: values, also } = await readMappings(store, [BLOCKLIST_KEY]);
  const blocklist = parseBlocklist(also.get(BLOCKLIST_KEY) ?? null);
  const agents = parseStored(values).mappings.map((m) => ({ key: m.key, ...rulesOf(m.agent) })).filter((a) => Object.keys(a).length > 1);
  if (parsed.flags.json) {
    out(JSON.stringify({ blocked: blocklist.ok ? blocklist.patterns : null, ...(!blocklist.ok && { blockedInvalid: blocklist.detail }), agents }, null, 2));
  } else {
    out(`Global blocklist (${BLOCKLIST_KEY}): ${blocklist.ok ? blocklist.patterns.join(", ") || "empty" : `✗ invalid: ${blocklist.detail} (the Worker ignores it)`}`);
    if (agents.length === 0) out("No agent has caller rules or opening hours.");
    else for (const line of table([["NUMBER", "BLOCKED", "ALLOWED ONLY", "HOURS"], ...agents.map((a) => [a.key, a.blockedCallers?.join(", ") ?? "", a.allowedCallers?.join(", ") ?? "", a.timeZone ?? ""])])) out(line);
  }
  note(`${agents.length} agent(s) with rules in the ${describeStore(store)}.`);
  return blocklist.ok ? EXIT.ok : EXIT.failed;
}

await runMain(() => main(process.argv.slice(2)));
