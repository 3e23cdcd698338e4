/**
 * Reads and edits wrangler.toml: only the parts the CLI needs (name, [vars], [[kv_namespaces]],
 * [[d1_databases]], [[durable_objects.bindings]], [[migrations]], [secrets] required). Edits insert single lines, so comments and layout survive.
 */
import { readFileSync } from "node:fs";
import { CliError } from "./errors.ts";

export const AGENTS_BINDING = "AGENTS";
/** The phone lines' Durable Object (src/line/object.ts): binding and class, as the Worker expects them. */
export const LINES_BINDING = "LINES";
export const LINES_CLASS = "PhoneLine";
export const DEFAULT_CONFIG = "wrangler.toml";

export interface TableEntry {
  /** Fields with string values, as written. */
  fields: Record<string, string>;
  /** Fields with array-of-string values. */
  lists: Record<string, string[]>;
  /** 0-based line of the `[[table]]` header. */
  headerLine: number;
  /** 0-based line after the entry's last field (after its header when it has none). */
  endLine: number;
}

export interface WranglerConfig {
  path: string;
  text: string;
  name: string | undefined;
  vars: Record<string, string>;
  kvNamespaces: TableEntry[];
  d1Databases: TableEntry[];
  durableObjects: TableEntry[];
  migrations: TableEntry[];
  requiredSecrets: string[];
}

type Value = string | string[] | number | boolean;

function parseValue(raw: string): Value | undefined {
  const text = raw.trim();
  if (text.startsWith('"')) {
    const m = /^"((?:[^"\\]|\\.)*)"/.exec(text);
    return m ? JSON.parse(`"${m[1]}"`) as string : undefined;
  }
  if (text.startsWith("'")) {
    const m = /^'([^']*)'/.exec(text);
    return m ? m[1] : undefined;
  }
  if (text.startsWith("[")) {
    const items: string[] = [];
    for (const m of text.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'/g)) items.push(m[1] !== undefined ? JSON.parse(`"${m[1]}"`) as string : (m[2] as string));
    return items;
  }
  if (text === "true" || text === "false") return text === "true";
  const n = Number(text.replace(/\s+#.*$/, ""));
  return Number.isFinite(n) ? n : undefined;
}

export function parseWranglerToml(text: string, path = DEFAULT_CONFIG): WranglerConfig {
  const lines = text.split("\n");
  const config: WranglerConfig = { path, text, name: undefined, vars: {}, kvNamespaces: [], d1Databases: [], durableObjects: [], migrations: [], requiredSecrets: [] };
  let table = "";
  let entry: TableEntry | undefined;
  const close = () => {
    entry = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === "" || line.startsWith("#")) continue;
    const header = /^(\[\[?)\s*([A-Za-z0-9_.-]+)\s*\]\]?/.exec(line);
    if (header) {
      close();
      table = header[2] as string;
      if (header[1] === "[[") {
        entry = { fields: {}, lists: {}, headerLine: i, endLine: i + 1 };
        if (table === "kv_namespaces") config.kvNamespaces.push(entry);
        else if (table === "d1_databases") config.d1Databases.push(entry);
        else if (table === "durable_objects.bindings") config.durableObjects.push(entry);
        else if (table === "migrations") config.migrations.push(entry);
        else entry = undefined;
      }
      continue;
    }
    const kv = /^([A-Za-z0-9_-]+)\s*=\s*(.*)$/.exec(line);
    if (!kv) continue;
    let raw = kv[2] as string;
    // A multi-line array: read on to its closing bracket.
    if (raw.startsWith("[") && !raw.includes("]")) {
      while (i + 1 < lines.length && !raw.includes("]")) raw += " " + (lines[++i] as string).trim();
    }
    const key = kv[1] as string;
    const value = parseValue(raw);
    if (value === undefined) continue;
    if (table === "" && key === "name" && typeof value === "string") config.name = value;
    else if (table === "vars" && typeof value === "string") config.vars[key] = value;
    else if (table === "secrets" && key === "required" && Array.isArray(value)) config.requiredSecrets = value;
    else if (entry && typeof value === "string") {
      entry.fields[key] = value;
      entry.endLine = i + 1;
    } else if (entry && Array.isArray(value)) {
      entry.lists[key] = value;
      entry.endLine = i + 1;
    }
  }
  close();
  return config;
}

export function readWranglerConfig(path: string): WranglerConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new CliError(`Cannot read the Wrangler configuration ${path}.`, { fix: "run the command from the project folder, or pass --config <path to wrangler.toml>" });
  }
  return parseWranglerToml(text, path);
}

/** Adds `field = "value"` to the entry of `table` whose `binding` is `binding` (after its last field). */
export function setEntryField(text: string, table: "kv_namespaces" | "d1_databases", binding: string, field: string, value: string): string {
  const config = parseWranglerToml(text);
  const entries = table === "kv_namespaces" ? config.kvNamespaces : config.d1Databases;
  const entry = entries.find((e) => e.fields.binding === binding);
  if (!entry) throw new CliError(`wrangler.toml has no [[${table}]] entry with binding = "${binding}".`);
  if (entry.fields[field] !== undefined) throw new CliError(`wrangler.toml already sets ${field} for binding ${binding}.`);
  const lines = text.split("\n");
  lines.splice(entry.endLine, 0, `${field} = ${JSON.stringify(value)}`);
  return lines.join("\n");
}

export function agentsNamespace(config: WranglerConfig): TableEntry | undefined {
  return config.kvNamespaces.find((e) => e.fields.binding === AGENTS_BINDING);
}

/**
 * What is wrong with the phone lines' Durable Object in wrangler.toml, or null. It must be bound as LINES to
 * PhoneLine and created by a `new_sqlite_classes` migration: only SQLite-backed objects exist on the Workers Free
 * plan, and a class deployed as key-value-backed can never become SQLite-backed.
 */
export function lineObjectProblem(config: WranglerConfig): { problem: string; fix: string } | null {
  const binding = config.durableObjects.find((e) => e.fields.name === LINES_BINDING);
  const fix = `keep wrangler.toml's [[durable_objects.bindings]] name = "${LINES_BINDING}", class_name = "${LINES_CLASS}" and its [[migrations]] new_sqlite_classes = ["${LINES_CLASS}"] as the repository has them`;
  if (!binding) return { problem: `no Durable Object binding ${LINES_BINDING}`, fix };
  if (binding.fields.class_name !== LINES_CLASS) return { problem: `${LINES_BINDING} is bound to class ${binding.fields.class_name ?? "(none)"}, not ${LINES_CLASS}`, fix };
  if (binding.fields.script_name) return { problem: `${LINES_BINDING} points at another Worker (${binding.fields.script_name})`, fix };
  if (config.migrations.some((m) => m.lists.new_classes?.includes(LINES_CLASS))) return { problem: `${LINES_CLASS} is created key-value-backed (new_classes), which the Free plan does not offer`, fix };
  if (!config.migrations.some((m) => m.lists.new_sqlite_classes?.includes(LINES_CLASS))) return { problem: `no migration creates ${LINES_CLASS} (new_sqlite_classes)`, fix };
  return null;
}
