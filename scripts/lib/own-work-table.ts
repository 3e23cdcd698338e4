/**
 * The per-step table of the voice webhook's own work (measured by own-work.ts, in a process of its own), as
 * `npm run bench` and `node scripts/lib/own-work.ts` print it. Knows nothing of the Worker's modules.
 */

export interface StepFigure {
  step: string;
  /** What it covers, in the Worker's terms (module: function). */
  covers: string;
  p50Us: number;
  p90Us: number;
}

/** The steps' p50s added up: the Worker's own CPU per call beyond the platform's, as far as its functions go. */
export function ownWorkTotalUs(figures: StepFigure[]): number {
  return figures.reduce((n, s) => n + s.p50Us, 0);
}

export function printOwnWork(figures: StepFigure[], how: string): void {
  console.log(`\nThe voice webhook's own work per step: a micro-benchmark of the Worker's own functions (${how}); µs per call:\n`);
  console.log("| step | µs p50 | µs p90 | what runs |");
  console.log("| --- | ---: | ---: | --- |");
  for (const s of figures) console.log(`| ${s.step} | ${s.p50Us.toFixed(1)} | ${s.p90Us.toFixed(1)} | ${s.covers} |`);
  console.log(`| **all steps** | **${ownWorkTotalUs(figures).toFixed(1)}** | | one call with every feature on |`);
}
