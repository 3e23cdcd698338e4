/**
 * CSV as RFC 4180 writes it: comma-separated, fields in double quotes may hold commas, quotes ("") and
 * line breaks; CRLF or LF line ends; a UTF-8 byte-order mark is ignored. Every row keeps its line number.
 *
 * Spreadsheets run a cell that starts with =, +, -, @, a tab, CR or NUL as a formula (OWASP "CSV Injection",
 * ASVS 1.2.10), so a `=HYPERLINK(…)` stored as a name would run on the operator's machine. formatCsv writes
 * such a cell with one leading ' (a spreadsheet shows it as text), except a signed number such as the E.164
 * key +61341517921; parseCsv strips that one ' again, so an exported file imports as the values it came from.
 * Spreadsheets in semicolon locales split an unquoted `North;@SUM(1+1)` into two cells, the second a formula: a
 * cell holding a ; or a tab is quoted, and each of its segments is guarded as a cell of its own.
 */

/** The first characters that make a spreadsheet read a cell as a formula. */
const FORMULA_START = /^[=+\-@\t\r\0]/;
/** A signed number is shown as a number, never run: an E.164 number stays as it is. */
const SIGNED_NUMBER = /^[+-]\d+(\.\d+)?$/;

/**
 * Whether formatCsv prefixes a ': the value, after any ' it already starts with, would run as a formula. Counting
 * those ' too gives a value that really starts with '= one more, so parseCsv's strip of one ' is exact.
 */
function guarded(value: string): boolean {
  const text = value.replace(/^'+/, "");
  return FORMULA_START.test(text) && !SIGNED_NUMBER.test(text);
}

/**
 * A cell's segments: spreadsheets set to a semicolon (or tab) separator split an unquoted cell there, and may not
 * honour the comma file's quotes, so each segment is guarded as a cell of its own. The separator stays at the end
 * of the segment before it.
 */
function segments(value: string): string[] {
  return value.split(/(?<=[;\t])/);
}

/** The cell formatCsv writes for `value` (before RFC 4180 quoting): each segment that would run, behind one '. */
function neutralizeCell(value: string): string {
  return segments(value)
    .map((segment) => (guarded(segment) ? `'${segment}` : segment))
    .join("");
}

/** The value a cell written by neutralizeCell holds. */
function restoreCell(cell: string): string {
  return segments(cell)
    .map((segment) => (segment.startsWith("'") && guarded(segment.slice(1)) ? segment.slice(1) : segment))
    .join("");
}

export interface CsvRow {
  /** 1-based line on which the row starts. */
  line: number;
  fields: string[];
}

export class CsvError extends Error {
  override name = "CsvError";
  line: number;
  constructor(line: number, message: string) {
    super(message);
    this.line = line;
  }
}

export function parseCsv(input: string): CsvRow[] {
  const text = input.replace(/^\uFEFF/, "");
  const rows: CsvRow[] = [];
  let fields: string[] = [];
  let field = "";
  let line = 1;
  let rowLine = 1;
  let quoted = false;
  let quoteLine = 0;
  let afterQuote = false;
  const endRow = () => {
    fields.push(restoreCell(field));
    if (!(fields.length === 1 && fields[0] === "")) rows.push({ line: rowLine, fields });
    fields = [];
    field = "";
    afterQuote = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
          afterQuote = true;
        }
      } else {
        if (ch === "\n") line++;
        field += ch;
      }
      continue;
    }
    if (ch === ",") {
      fields.push(restoreCell(field));
      field = "";
      afterQuote = false;
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      endRow();
      line++;
      rowLine = line;
    } else if (ch === '"') {
      if (field !== "" || afterQuote) throw new CsvError(line, 'a double quote inside an unquoted field (quote the whole field and write "" for a quote)');
      quoted = true;
      quoteLine = line;
    } else {
      if (afterQuote) throw new CsvError(line, "text after a closing double quote (a field must end at its closing quote)");
      field += ch;
    }
  }
  if (quoted) throw new CsvError(quoteLine, "a double quote that is never closed");
  if (field !== "" || fields.length > 0 || afterQuote) endRow();
  return rows;
}

function csvField(value: string): string {
  const cell = neutralizeCell(value);
  return /[",\r\n;\t]/.test(cell) || /^\s|\s$/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}

export function formatCsv(rows: string[][]): string {
  return rows.map((row) => row.map(csvField).join(",")).join("\n") + "\n";
}
