/** How figures read on the page. Times are shown in the browser's time zone, as an operator reads a clock. */
const NUMBER = new Intl.NumberFormat("en-US");
const TIME = new Intl.DateTimeFormat("en-US", { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
const DATE_TIME = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });

export const NONE = "—";

export const count = (n: number) => NUMBER.format(n);
export const percent = (ratio: number | null) => (ratio === null ? NONE : `${(ratio * 100).toFixed(1)}%`);
export const ms = (value: number | null) => (value === null ? NONE : `${NUMBER.format(value)} ms`);
export const seconds = (value: number | null) => (value === null ? NONE : `${NUMBER.format(value)} s`);
export const pair = (a: string, b: string) => `${a} / ${b}`;
export const timeOfDay = (at: number) => TIME.format(at);
export const dateTime = (at: number) => DATE_TIME.format(at);
/** A failure reason as a person reads it: `retell_timeout` → `retell timeout`. */
export const reason = (key: string) => key.replaceAll("_", " ");
