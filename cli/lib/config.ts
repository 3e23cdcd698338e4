/**
 * Reads and edits wrangler.toml: only the parts the CLI needs (name, [vars], [[kv_namespaces]],
 * [[d1_databases]], [secrets] required). Edits insert single lines, so comments and layout survive.
 */
import { readFileSync } from "node:fs";
import { CliError } from "./errors.ts";

export const AGENTS_BINDING = "AGENTS";
export const DEFAULT_CONFIG = "wrangler.toml";

export interface TableEntry {
  /** Fields with string values, as written. */
  fields: Record<string, string>;
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
  const config: WranglerConfig = { path, text, name: undefined, vars: {}, kvNamespaces: [], d1Databases: [], requiredSecrets: [] };
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
        entry = { fields: {}, headerLine: i, endLine: i + 1 };
        if (table === "kv_namespaces") config.kvNamespaces.push(entry);
        else if (table === "d1_databases") config.d1Databases.push(entry);
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
