/**
 * The CSV of `npm run call -- --csv`: a `to` column plus one column per dynamic variable (the column's name is
 * the variable's). Every row goes through the Worker's own request check (src/outbound/request.ts) before any
 * call is placed, so a file with a problem anywhere places nothing. The results file is written beside it.
 */
import { readFileSync } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import { readOutboundRequest, variableProblem } from "../../src/outbound/request.ts";
import { CsvError, formatCsv, parseCsv } from "./csv.ts";
import { usageError } from "./errors.ts";

export interface CallRow {
  /** The line the row starts on. */
  line: number;
  /** The callee as written, and normalised. */
  to: string;
  dynamicVariables: Record<string, string>;
}

export interface Problem {
  line: number;
  column: string;
  message: string;
}

/** The POST /api/calls body for a row's callee and variables (the rest comes from the command's flags). */
export type RequestFor = (to: string, vars: Record<string, string>) => Record<string, unknown>;

export function parseCallList(text: string, requestFor: RequestFor): { rows: CallRow[]; problems: Problem[] } {
  let records;
  try {
    records = parseCsv(text);
  } catch (error) {
    if (error instanceof CsvError) return { rows: [], problems: [{ line: error.line, column: "(file)", message: `is not valid CSV: ${error.message}` }] };
    throw error;
  }
  const [header, ...lines] = records;
  if (!header) return { rows: [], problems: [{ line: 1, column: "(file)", message: "is empty: expected a header row with a to column" }] };
  const columns = header.fields.map((c) => c.trim());
  const problems: Problem[] = [];
  columns.forEach((column, index) => {
    if (columns.indexOf(column) !== index) problems.push({ line: header.line, column, message: "appears twice in the header" });
    else if (column !== "to") {
      if (variableProblem(column, "")) problems.push({ line: header.line, column: column || `column ${index + 1}`, message: "is not a variable name: letters, digits and _ (not starting with a digit), at most 64" });
    }
  });
  if (!columns.includes("to")) problems.push({ line: header.line, column: "to", message: "column is missing from the header" });
  if (problems.length > 0) return { rows: [], problems };

  const rows: CallRow[] = [];
  const seen = new Map<string, number>();
  for (const record of lines) {
    if (record.fields.length !== columns.length) {
      problems.push({ line: record.line, column: "(row)", message: `has ${record.fields.length} fields, the header has ${columns.length}` });
      continue;
    }
    const vars: Record<string, string> = {};
    columns.forEach((column, i) => {
      const value = (record.fields[i] as string).trim();
      if (column !== "to" && value !== "") vars[column] = value;
    });
    const to = (record.fields[columns.indexOf("to")] as string).trim();
    const read = readOutboundRequest(requestFor(to, vars));
    if (!read.ok) {
      const column = read.field === "dynamicVariables" ? (/dynamicVariables\.(\w+)/.exec(read.message)?.[1] ?? "(variables)") : read.field;
      problems.push({ line: record.line, column, message: read.message });
      continue;
    }
    const first = seen.get(read.request.to);
    if (first !== undefined) {
      problems.push({ line: record.line, column: "to", message: `${read.request.to} is already on line ${first}: each number is called once` });
      continue;
    }
    seen.set(read.request.to, record.line);
    rows.push({ line: record.line, to: read.request.to, dynamicVariables: vars });
  }
  if (rows.length === 0 && problems.length === 0) problems.push({ line: header.line, column: "(file)", message: "has no rows to call" });
  return { rows, problems };
}

/** Reads and checks the whole file; throws a usage error listing every problem (file:line: column: message). */
export function readCallList(file: string, requestFor: RequestFor): CallRow[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw usageError(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}.`);
  }
  const { rows, problems } = parseCallList(text, requestFor);
  if (problems.length > 0) {
    throw usageError(
      `${file}: ${problems.length} problem${problems.length === 1 ? "" : "s"}; no call was placed.`,
      "correct the file and run it again (it is checked whole before any call is placed)",
      problems.map((p) => `${file}:${p.line}: ${p.column}: ${p.message}`),
    );
  }
  return rows;
}

/** `calls.csv` → `calls.results.csv`, in the same folder. */
export function resultsPath(file: string): string {
  const ext = extname(file);
  return join(dirname(file), `${basename(file, ext)}.results${ext || ".csv"}`);
}

export interface CallResult {
  line: number;
  to: string;
  callSid: string;
  /** Twilio's last status, or `not_placed`. */
  status: string;
  outcome: string;
  answeredBy: string;
  error: string;
}

export const RESULT_COLUMNS: (keyof CallResult)[] = ["line", "to", "callSid", "status", "outcome", "answeredBy", "error"];

export function formatResults(results: CallResult[]): string {
  return formatCsv([RESULT_COLUMNS, ...results.map((r) => RESULT_COLUMNS.map((c) => String(r[c])))]);
}
