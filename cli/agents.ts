/**
 * `npm run agents -- <command>`: number → Retell agent mappings in Workers KV, written through wrangler in
 * exactly the format the Worker reads (src/agents/schema.ts). See docs/operations.md.
 */
import { writeFileSync } from "node:fs";
import { extname } from "node:path";
import { parseAgentValue, type AgentConfig } from "../src/agents/schema.ts";
import { expectPositionals, parseFlags, subcommand } from "./lib/args.ts";
import { DEFAULT_CONFIG } from "./lib/config.ts";
import { CliError, EXIT, runMain, usageError } from "./lib/errors.ts";
import { KEY_HELP, checkRow, exportCsv, exportObject, mappingKey, parseStored, readMappingFile, storedValue, type Problem, type Row } from "./lib/mappings.ts";
import { Progress, jsonText, note, out, outJson, table } from "./lib/output.ts";
import { checkAgents, retellApi, type RetellApi } from "./lib/retell.ts";
import { Settings } from "./lib/settings.ts";
import { STORE_FLAGS, describeStore, deleteKey, getValues, putMany, putValue, readAll, storeFromFlags, type Store } from "./lib/store.ts";

const USAGE = `Usage: npm run agents -- <command> (--local | --remote) [options]

Number → Retell agent mappings in the Worker's KV namespace (binding AGENTS).

Commands:
  add <number> <retellAgentId> [--name N] [--fallback <number>] [--version V] [--var key=value ...] [--check]
  remove <number>
  list [--json]
  show <number>
  import <file.json|file.csv> [--check] [--dry-run]
  export [file.json|file.csv]

Store (every command needs one):
  --local               the local store that \`npm run dev\` uses (.wrangler/state)
  --persist-to DIR      with --local: another local persistence folder
  --remote              the deployed namespace on Cloudflare
  -c, --config FILE     wrangler.toml to use (default ./wrangler.toml)

  --check               ask Retell (RETELL_API_KEY) that each agent exists before writing

<number> is ${KEY_HELP}.
Exit codes: 0 done, 1 failed, 2 bad usage or input (nothing written).`;

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = { add, remove, list, show, import: importFile, export: exportFile };

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
};

async function add(argv: string[]): Promise<number> {
  const parsed = parse(argv, "add", {
    name: { type: "string" },
    fallback: { type: "string" },
    version: { type: "string" },
    var: { type: "string", multiple: true },
    check: { type: "boolean" },
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
  const result = checkRow(0, number, agent);
  if (Array.isArray(result)) problems.push(...result.map((p: Problem) => `${FLAG_FOR_FIELD[p.field] ?? p.field}: ${p.message}`));
  if (problems.length > 0 || Array.isArray(result)) {
    throw usageError(`Invalid mapping; nothing was written.`, "npm run agents -- add <number> <retellAgentId> [--name N] [--fallback <number>] [--version V] [--var key=value]", problems);
  }
  const { store, settings } = openStore(flags, "add");
  if (flags.check) {
    const status = (await checkAgents(retellForCheck(settings), [result.agent.retellAgentId])).get(result.agent.retellAgentId);
    if (status && !status.ok) throw new CliError(`--check: ${status.detail}; nothing was written.`, { exitCode: status.reason === "missing" ? EXIT.usage : EXIT.failed });
    note(`✓ Retell has agent ${result.agent.retellAgentId}${status?.ok && status.name ? ` ("${status.name}")` : ""}`);
  }
  const value = storedValue(result.agent);
  const previous = (await getValues(store, [result.key])).get(result.key) ?? null;
  if (previous === value) {
    out(`– ${result.key} already maps to ${describeAgent(result.agent)} in the ${describeStore(store)}; nothing to write.`);
    return EXIT.ok;
  }
  await putValue(store, result.key, value);
  out(`✓ ${previous === null ? "Added" : "Updated"} ${result.key} → ${describeAgent(result.agent)}${previous === null ? "" : ` (was ${describeStored(previous)})`} in the ${describeStore(store)}.`);
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
    const withMetadata = mappings.filter((m) => m.agent.metadata);
    if (withMetadata.length > 0) throw usageError(`CSV cannot hold metadata (set on ${withMetadata.map((m) => m.key).join(", ")}); nothing was exported.`, "export to a .json file instead");
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
