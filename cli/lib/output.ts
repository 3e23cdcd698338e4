/**
 * What the operator reads: results on stdout, progress and summaries on stderr (so stdout can be piped).
 * Everything the CLI prints goes through here. KV values, Twilio's API and wrangler's output can carry terminal
 * control characters (ESC sequences move the cursor, rewrite lines, set the title or the clipboard; C1 CSI does
 * the same in one byte), so each is printed as a visible escape such as \x1b; only the line break is kept.
 */
export type Outcome = "done" | "skipped" | "failed";

const MARK: Record<Outcome, string> = { done: "✓", skipped: "–", failed: "✗" };

/** C0 controls but the line break, DEL, and C1 controls. */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;
/** DEL and C1: the controls JSON.stringify leaves raw in a string (it escapes C0 itself). */
const JSON_RAW_CONTROL = /[\u007f-\u009f]/g;

const hex = (c: string) => (c.codePointAt(0) as number).toString(16).padStart(2, "0");

/** `text` with every control character but the line break shown as \xNN. */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${hex(c)}`);
}

/** JSON that reads back as `value` and holds no control character a terminal would act on. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(JSON_RAW_CONTROL, (c) => `\\u00${hex(c)}`);
}

export function out(line = ""): void {
  process.stdout.write(printable(line) + "\n");
}

export function note(line = ""): void {
  process.stderr.write(printable(line) + "\n");
}

/** `value` as indented JSON on stdout. */
export function outJson(value: unknown): void {
  out(jsonText(value));
}

/**
 * Progress over many items: one line per item on stderr (`[3/40] ✓ +61… connected`), and a summary line at
 * the end with the count of each outcome.
 */
export class Progress {
  readonly label: string;
  readonly total: number;
  #count = 0;
  readonly counts: Record<Outcome, number> = { done: 0, skipped: 0, failed: 0 };

  constructor(label: string, total: number) {
    this.label = label;
    this.total = total;
  }

  tick(outcome: Outcome, item: string, detail = ""): void {
    this.#count++;
    this.counts[outcome]++;
    const width = String(this.total).length;
    note(`[${String(this.#count).padStart(width)}/${this.total}] ${MARK[outcome]} ${item}${detail ? `  ${detail}` : ""}`);
  }

  summary(): string {
    const { done, skipped, failed } = this.counts;
    return `${this.label}: ${done} done, ${skipped} skipped, ${failed} failed (of ${this.total})`;
  }

  printSummary(): void {
    note(this.summary());
  }
}

/** Aligns rows of cells into columns; a cell stays on its row (a line break in it is shown as \x0a too). */
export function table(rows: string[][]): string[] {
  const cells = rows.map((row) => row.map((cell) => printable(cell).replace(/\n/g, "\\x0a")));
  const widths: number[] = [];
  for (const row of cells) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell + " ".repeat((widths[i] ?? 0) - [...cell].length))).join("  ").trimEnd());
}
