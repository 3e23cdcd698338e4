/**
 * CSV as RFC 4180 writes it: comma-separated, fields in double quotes may hold commas, quotes ("") and
 * line breaks; CRLF or LF line ends; a UTF-8 byte-order mark is ignored. Every row keeps its line number.
 */
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
    fields.push(field);
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
      fields.push(field);
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
  return /[",\r\n]/.test(value) || /^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function formatCsv(rows: string[][]): string {
  return rows.map((row) => row.map(csvField).join(",")).join("\n") + "\n";
}
