/**
 * Mappings as the operator writes them (flags, JSON, CSV) and as KV stores them. Validation is the Worker's
 * own (src/agents/schema.ts, src/phone.ts); this module only adds where a problem is (file, line, field).
 */
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { AGENT_KEY_PREFIX, ROUTE_AGENT_ID } from "../../src/agent-key.ts";
import { AGENT_FIELDS, parseAgentValue, serializeAgentConfig, validateAgentConfig, type AgentConfig } from "../../src/agents/schema.ts";
import { dialedNumbers, loopingNumbers, ownNumbers, type DialedNumber } from "../../src/agents/loop-guard.ts";
import { normalizeE164 } from "../../src/phone.ts";
import { CsvError, formatCsv, parseCsv } from "./csv.ts";
import { CliError, usageError } from "./errors.ts";
import { describeStore, getValues, listKeys, type Store } from "./store.ts";

export interface Mapping {
  /** The KV key: an E.164 number, or `agent:<id>` for the per-agent route. */
  key: string;
  agent: AgentConfig;
}

export interface Row extends Mapping {
  line: number;
}

export interface Problem {
  line: number;
  field: string;
  message: string;
}

/** The KV key for what the operator typed: a phone number in any common layout, or `agent:<route id>`. */
export function mappingKey(input: string): string | null {
  const text = input.trim();
  if (text.startsWith(AGENT_KEY_PREFIX)) {
    const id = text.slice(AGENT_KEY_PREFIX.length);
    return ROUTE_AGENT_ID.test(id) ? AGENT_KEY_PREFIX + id : null;
  }
  return normalizeE164(text);
}

export const KEY_HELP = "an E.164 phone number such as +61341517921 (spaces, dashes, dots and brackets are fine), or agent:<route id>";

/** The field the Worker's validator complained about, read from its detail message. */
function fieldOf(detail: string): string {
  return new RegExp(`^(${AGENT_FIELDS.join("|")})\\b`).exec(detail)?.[1]
    ?? /unknown field "([^"]+)"/.exec(detail)?.[1]
    ?? "retellAgentId";
}

/** Validates one row: its number and agent object. Problems name the field. */
export function checkRow(line: number, number: unknown, agent: Record<string, unknown>, numberField = "number"): Row | Problem[] {
  const problems: Problem[] = [];
  const key = typeof number === "string" ? mappingKey(number) : null;
  if (number === undefined || number === "") problems.push({ line, field: numberField, message: "is missing" });
  else if (!key) problems.push({ line, field: numberField, message: `${JSON.stringify(number)} is not ${KEY_HELP}` });
  const result = validateAgentConfig(agent);
  if (!result.ok) {
    // The Worker's validator stops at the first problem; checking each field on its own reports them all.
    const { retellAgentId, ...rest } = agent;
    const single = [{ retellAgentId }, ...Object.entries(rest).map(([field, value]) => ({ retellAgentId: "agent_placeholder", [field]: value }))];
    for (const candidate of single) {
      const one = validateAgentConfig(candidate);
      if (one.ok) continue;
      const field = fieldOf(one.detail);
      const value = agent[field];
      const shown = value === undefined ? "" : ` (got ${JSON.stringify(value)})`;
      problems.push({ line, field, message: one.detail.replace(new RegExp(`^${field} `), "") + shown });
    }
  }
  if (problems.length > 0 || !key || !result.ok) return problems;
  return { line, key, agent: result.agent };
}

/** Duplicates after normalization: the second and later rows for a key are problems. */
export function duplicateProblems(rows: Row[]): Problem[] {
  const seen = new Map<string, number>();
  const problems: Problem[] = [];
  for (const row of rows) {
    const first = seen.get(row.key);
    if (first !== undefined) problems.push({ line: row.line, field: "number", message: `${row.key} is already mapped on line ${first} of this file` });
    else seen.set(row.key, row.line);
  }
  return problems;
}

/** Start line of each element of the top-level JSON array (JSON.parse gives no positions). */
function arrayElementLines(text: string): number[] {
  const lines: number[] = [];
  let depth = 0;
  let line = 1;
  let inString = false;
  let expectValue = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "\n") line++;
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (/\s/.test(ch ?? "")) continue;
    if (depth === 1 && expectValue && ch !== "]") {
      lines.push(line);
      expectValue = false;
    }
    if (ch === '"') inString = true;
    else if (ch === "[" || ch === "{") {
      depth++;
      if (depth === 1) expectValue = true;
    } else if (ch === "]" || ch === "}") depth--;
    else if (ch === "," && depth === 1) expectValue = true;
  }
  return lines;
}

function jsonErrorLine(text: string, message: string): number {
  const lineCol = /line (\d+)/.exec(message);
  if (lineCol) return Number(lineCol[1]);
  const pos = /position (\d+)/.exec(message);
  return pos ? text.slice(0, Number(pos[1])).split("\n").length : 1;
}

/** Fields a CSV row has no column for: a mapping with any of them exports to JSON only. */
export const JSON_ONLY_FIELDS = AGENT_FIELDS.filter((field) => !["retellAgentId", "retellAgentVersion", "name", "fallbackNumber", "dynamicVariables"].includes(field));

/**
 * JSON import: an array of `{ "number": "+61…", "retellAgentId": "agent_…", …AgentConfig }` (what `export` writes),
 * or an object `{ "+61…": "agent_…" | { "retellAgentId": …, … } }`.
 */
export function parseJsonMappings(text: string): { rows: Row[]; problems: Problem[] } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    return { rows: [], problems: [{ line: jsonErrorLine(text, message), field: "(file)", message: `is not valid JSON: ${message}` }] };
  }
  const rows: Row[] = [];
  const problems: Problem[] = [];
  const add = (result: Row | Problem[]) => (Array.isArray(result) ? problems.push(...result) : rows.push(result));
  if (Array.isArray(data)) {
    const lines = arrayElementLines(text);
    data.forEach((item, index) => {
      const line = lines[index] ?? 1;
      if (typeof item !== "object" || item === null || Array.isArray(item)) {
        problems.push({ line, field: `[${index}]`, message: "is not an object with number and retellAgentId" });
        return;
      }
      const { number, ...agent } = item as Record<string, unknown>;
      add(checkRow(line, number, agent));
    });
  } else if (typeof data === "object" && data !== null) {
    const textLines = text.split("\n");
    for (const [number, value] of Object.entries(data)) {
      const at = textLines.findIndex((l) => l.includes(JSON.stringify(number)));
      const line = at === -1 ? 1 : at + 1;
      const agent = typeof value === "string" ? { retellAgentId: value } : value;
      if (typeof agent !== "object" || agent === null || Array.isArray(agent)) {
        problems.push({ line, field: "retellAgentId", message: `the value for ${number} is neither an agent id nor an object` });
        continue;
      }
      add(checkRow(line, number, agent as Record<string, unknown>));
    }
  } else {
    problems.push({ line: 1, field: "(file)", message: "must hold a JSON array of mappings or an object keyed by number" });
  }
  return { rows, problems };
}

export const CSV_COLUMNS = ["number", "retellAgentId", "name", "fallbackNumber", "retellAgentVersion"] as const;
export const CSV_VAR_PREFIX = "var.";

/** CSV import: header `number,retellAgentId,name,fallbackNumber,retellAgentVersion` (any order, only the first two required) plus `var.<name>` columns. */
export function parseCsvMappings(text: string): { rows: Row[]; problems: Problem[] } {
  let records;
  try {
    records = parseCsv(text);
  } catch (error) {
    if (error instanceof CsvError) return { rows: [], problems: [{ line: error.line, field: "(file)", message: `is not valid CSV: ${error.message}` }] };
    throw error;
  }
  const [header, ...body] = records;
  if (!header) return { rows: [], problems: [{ line: 1, field: "(file)", message: "is empty: expected a header row starting number,retellAgentId" }] };
  const problems: Problem[] = [];
  const columns = header.fields.map((c) => c.trim());
  columns.forEach((column, index) => {
    const known = (CSV_COLUMNS as readonly string[]).includes(column) || (column.startsWith(CSV_VAR_PREFIX) && column.length > CSV_VAR_PREFIX.length);
    if (!known) problems.push({ line: header.line, field: column || `column ${index + 1}`, message: `is not a known column (use ${CSV_COLUMNS.join(", ")} or var.<name>)` });
    if (columns.indexOf(column) !== index) problems.push({ line: header.line, field: column, message: "appears twice in the header" });
  });
  for (const required of ["number", "retellAgentId"]) {
    if (!columns.includes(required)) problems.push({ line: header.line, field: required, message: "column is missing from the header" });
  }
  if (problems.length > 0) return { rows: [], problems };
  const rows: Row[] = [];
  for (const record of body) {
    if (record.fields.length !== columns.length) {
      problems.push({ line: record.line, field: "(row)", message: `has ${record.fields.length} fields, the header has ${columns.length}` });
      continue;
    }
    const cell = (name: string) => {
      const value = record.fields[columns.indexOf(name)]?.trim();
      return value === "" ? undefined : value;
    };
    const agent: Record<string, unknown> = { retellAgentId: cell("retellAgentId") };
    for (const name of ["name", "fallbackNumber"]) if (cell(name) !== undefined) agent[name] = cell(name);
    const version = cell("retellAgentVersion");
    if (version !== undefined) agent.retellAgentVersion = /^\d+$/.test(version) ? Number(version) : version;
    const vars: Record<string, string> = {};
    for (const column of columns) {
      const value = cell(column);
      if (column.startsWith(CSV_VAR_PREFIX) && value !== undefined) vars[column.slice(CSV_VAR_PREFIX.length)] = value;
    }
    if (Object.keys(vars).length > 0) agent.dynamicVariables = vars;
    const result = checkRow(record.line, cell("number"), agent);
    if (Array.isArray(result)) problems.push(...result);
    else rows.push(result);
  }
  return { rows, problems };
}

/** Reads and validates an import file. Returns its rows only when every row is valid and no number repeats. */
export function readMappingFile(file: string): Row[] {
  const format = extname(file).toLowerCase();
  if (format !== ".json" && format !== ".csv") throw usageError(`${file}: unknown file type "${format || "(none)"}".`, "name the file *.json or *.csv");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw usageError(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}.`);
  }
  const { rows, problems } = format === ".json" ? parseJsonMappings(text) : parseCsvMappings(text);
  problems.push(...duplicateProblems(rows));
  if (problems.length > 0) {
    problems.sort((a, b) => a.line - b.line);
    throw usageError(
      `${file}: ${problems.length} problem${problems.length === 1 ? "" : "s"}; nothing was written.`,
      "correct the file and run the import again (it writes all rows or none)",
      problems.map((p) => `${file}:${p.line}: ${p.field}: ${p.message}`),
    );
  }
  if (rows.length === 0) throw usageError(`${file} holds no mappings; nothing was written.`);
  return rows;
}

export function storedValue(agent: AgentConfig): string {
  return serializeAgentConfig(agent);
}

/** An export row: the number first, then the agent's fields in the schema's order. */
export function exportObject(mapping: Mapping): Record<string, unknown> {
  const out: Record<string, unknown> = { number: mapping.key };
  for (const field of AGENT_FIELDS) {
    const value = mapping.agent[field as keyof AgentConfig];
    if (value !== undefined) out[field] = value;
  }
  return out;
}

export function exportCsv(mappings: Mapping[]): string {
  const varNames = [...new Set(mappings.flatMap((m) => Object.keys(m.agent.dynamicVariables ?? {})))].sort();
  const header = [...CSV_COLUMNS, ...varNames.map((v) => CSV_VAR_PREFIX + v)];
  const rows = mappings.map((m) => [
    m.key,
    m.agent.retellAgentId,
    m.agent.name ?? "",
    m.agent.fallbackNumber ?? "",
    m.agent.retellAgentVersion === undefined ? "" : String(m.agent.retellAgentVersion),
    ...varNames.map((v) => m.agent.dynamicVariables?.[v] ?? ""),
  ]);
  return formatCsv([header, ...rows]);
}

/** Stored values parsed; those the Worker would reject are returned apart, with why. */
export function parseStored(values: Map<string, string>): { mappings: Mapping[]; invalid: { key: string; detail: string }[] } {
  const mappings: Mapping[] = [];
  const invalid: { key: string; detail: string }[] = [];
  for (const [key, raw] of [...values].sort(([a], [b]) => a.localeCompare(b))) {
    const parsed = parseAgentValue(raw);
    if (parsed.ok) mappings.push({ key, agent: parsed.agent });
    else invalid.push({ key, detail: parsed.detail });
  }
  return { mappings, invalid };
}

/**
 * The valid mapping stored under `key`, for a command that changes part of it (`agents hours`, `rules … --agent`).
 * None, or one the Worker would reject, is an error (exit 1): nothing is written over a value nobody can read.
 * `also`: other keys the command needs, read in the same `kv bulk get`.
 */
export async function readMapping(store: Store, key: string, also: string[] = []): Promise<{ raw: string; agent: AgentConfig; also: Map<string, string | null> }> {
  const values = await getValues(store, [...new Set([key, ...also])]);
  const raw = values.get(key) ?? null;
  if (raw === null) throw new CliError(`${key} has no mapping in the ${describeStore(store)}; nothing was written.`, { fix: `npm run agents -- add ${key} <retellAgentId> --${store.mode}` });
  const parsed = parseAgentValue(raw);
  if (!parsed.ok) throw new CliError(`${key}: the stored value is invalid (${parsed.detail}); nothing was written.`, { fix: `rewrite it with npm run agents -- add ${key} … --${store.mode}` });
  return { raw, agent: parsed.agent, also: new Map(also.map((k) => [k, values.get(k) ?? null])) };
}

/**
 * The numbers these mappings would dial (fallback, transfers, after-hours number) that are the bridge's own: a key
 * of the store, or one of these mappings' own numbers (src/agents/loop-guard.ts). The store's keys are listed only
 * when some mapping dials a number at all.
 */
export async function loopsIn<M extends Mapping>(store: Store, mappings: M[]): Promise<{ mapping: M; looping: DialedNumber }[]> {
  if (!mappings.some((m) => dialedNumbers(m.agent).length > 0)) return [];
  const own = ownNumbers([...(await listKeys(store)), ...mappings.map((m) => m.key)]);
  return mappings.flatMap((mapping) => loopingNumbers(mapping.agent, own).map((looping) => ({ mapping, looping })));
}
