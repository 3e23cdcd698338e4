/**
 * What the operator reads: results on stdout, progress and summaries on stderr (so stdout can be piped).
 */
export type Outcome = "done" | "skipped" | "failed";

const MARK: Record<Outcome, string> = { done: "✓", skipped: "–", failed: "✗" };

export function out(line = ""): void {
  process.stdout.write(line + "\n");
}

export function note(line = ""): void {
  process.stderr.write(line + "\n");
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

/** Aligns rows of cells into columns. */
export function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell + " ".repeat((widths[i] ?? 0) - [...cell].length))).join("  ").trimEnd());
}
