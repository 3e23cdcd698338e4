/**
 * The page's charts as plain SVG built with the DOM: no library, no inline style (colours come from classes in
 * style.css, so light and dark themes and the colour-blind-safe palette live in one place), and each mark carries
 * a <title> with its value. Every chart also has its figures as a table beside it (main.ts), so nothing is only
 * a picture.
 */
import { svg } from "./dom.ts";

/** In viewBox units; the chart scales to its box, so a narrower width keeps the labels readable on a phone. */
const WIDTH = 480;
const HEIGHT = 200;
/** Room for the y axis's labels on the left and the days under the plot. */
const PAD = { left: 48, right: 26, top: 12, bottom: 28 };
const PLOT_W = WIDTH - PAD.left - PAD.right;
const PLOT_H = HEIGHT - PAD.top - PAD.bottom;
/** Day labels under the bars: at most this many, so they never overlap. */
const MAX_X_LABELS = 6;

export interface Series {
  name: string;
  /** A class in style.css: s0..s5 (the palette). */
  cls: string;
  values: (number | null)[];
}

function frame(label: string): SVGSVGElement {
  return svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": label, class: "chart" });
}

/** Gridlines and labels for 0..max; returns the y of a value. */
function yAxis(chart: SVGSVGElement, max: number, format: (v: number) => string): (v: number) => number {
  const top = max > 0 ? max : 1;
  const y = (v: number) => PAD.top + PLOT_H - (v / top) * PLOT_H;
  for (const v of [0, top / 2, top]) {
    chart.append(svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(v), y2: y(v), class: "grid" }));
    chart.append(svg("text", { x: PAD.left - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" }, format(v)));
  }
  return y;
}

function xLabels(chart: SVGSVGElement, days: string[], x: (i: number) => number): void {
  const every = Math.max(1, Math.ceil(days.length / MAX_X_LABELS));
  days.forEach((day, i) => {
    if (i % every === 0) chart.append(svg("text", { x: x(i), y: HEIGHT - 8, class: "axis", "text-anchor": "middle" }, day.slice(5)));
  });
}

/** Bars per day, the series stacked in order from the bottom. */
export function stackedBars(label: string, days: string[], series: Series[]): SVGSVGElement {
  const chart = frame(label);
  const totals = days.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const y = yAxis(chart, Math.max(...totals, 0), (v) => String(Math.round(v)));
  const slot = PLOT_W / Math.max(days.length, 1);
  const x = (i: number) => PAD.left + slot * (i + 0.5);
  const barW = Math.max(2, slot * 0.7);
  days.forEach((day, i) => {
    let base = 0;
    for (const s of series) {
      const value = s.values[i] ?? 0;
      if (value <= 0) continue;
      chart.append(
        svg("rect", { x: x(i) - barW / 2, y: y(base + value), width: barW, height: y(base) - y(base + value), class: `mark ${s.cls}` }, svg("title", {}, `${day}: ${s.name} ${value}`)),
      );
      base += value;
    }
  });
  xLabels(chart, days, x);
  return chart;
}

/** One line per series over the days; a day without a value breaks the line, and a lone point still shows as a dot. */
export function lines(label: string, days: string[], series: Series[], format: (v: number) => string, max?: number): SVGSVGElement {
  const chart = frame(label);
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const y = yAxis(chart, max ?? Math.max(...all, 0), format);
  const step = days.length > 1 ? PLOT_W / (days.length - 1) : 0;
  const x = (i: number) => (days.length > 1 ? PAD.left + step * i : PAD.left + PLOT_W / 2);
  for (const s of series) {
    let path = "";
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null) {
        pen = false;
        return;
      }
      path += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
      chart.append(svg("circle", { cx: x(i), cy: y(v), r: 3.5, class: `mark dot ${s.cls}` }, svg("title", {}, `${days[i]}: ${s.name} ${format(v)}`)));
    });
    if (path) chart.prepend(svg("path", { d: path, class: `line ${s.cls}` }));
  }
  xLabels(chart, days, x);
  return chart;
}

/** Horizontal bars, largest first, each labelled with its name and value. */
export function horizontalBars(label: string, items: { name: string; value: number }[]): SVGSVGElement {
  const rowH = 26;
  const height = Math.max(1, items.length) * rowH + 8;
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, role: "img", "aria-label": label, class: "chart" });
  const max = Math.max(...items.map((i) => i.value), 1);
  const labelW = 170;
  const barMax = WIDTH - labelW - 50;
  items.forEach((item, i) => {
    const top = 4 + i * rowH;
    chart.append(svg("text", { x: labelW - 8, y: top + rowH / 2 + 4, class: "axis", "text-anchor": "end" }, item.name));
    const w = Math.max(2, (item.value / max) * barMax);
    chart.append(svg("rect", { x: labelW, y: top + 4, width: w, height: rowH - 8, class: "mark s3" }, svg("title", {}, `${item.name}: ${item.value}`)));
    chart.append(svg("text", { x: labelW + w + 6, y: top + rowH / 2 + 4, class: "axis" }, String(item.value)));
  });
  return chart;
}
