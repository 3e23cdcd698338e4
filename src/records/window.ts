/**
 * Time windows for the analytics (`since`/`until` on GET /api/calls and /api/stats, `--since` in
 * `npm run calls`). Shared by the Worker and the CLI: plain TypeScript, no Workers types.
 */

/** Without `since`, stats cover the last week: the usual question is "how did this week go". */
export const DEFAULT_STATS_DAYS = 7;

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const RELATIVE = /^(\d{1,5})([mhd])$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
/** ISO 8601 date-time with a zone (Z or ±hh:mm); a time without a zone would depend on the reader's clock. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

export type Bound = "since" | "until";

/**
 * An instant in ms since the epoch, or null when `value` is none of: `30m`, `24h`, `7d` (that long before
 * `now`); `2026-11-20` (that UTC day: its start for `since`, the start of the next day for `until`, so
 * `until=2026-11-20` includes the 20th); an ISO 8601 date-time with a zone.
 */
export function parseInstant(value: string, bound: Bound, now: number): number | null {
  const text = value.trim();
  const relative = RELATIVE.exec(text);
  if (relative) return now - Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS];
  if (DATE_ONLY.test(text)) {
    const start = Date.parse(`${text}T00:00:00Z`);
    if (Number.isNaN(start) || new Date(start).toISOString().slice(0, 10) !== text) return null;
    return bound === "since" ? start : start + UNIT_MS.d;
  }
  if (DATE_TIME.test(text)) {
    const instant = Date.parse(text);
    return Number.isNaN(instant) ? null : instant;
  }
  return null;
}

export interface Window {
  /** Inclusive, ms since the epoch. */
  since: number;
  /** Exclusive, ms since the epoch. */
  until: number;
}

export type WindowResult = { ok: true; window: Window } | { ok: false; message: string };

export const INSTANT_HELP = "use 30m, 24h or 7d, a date (2026-11-20) or an ISO date-time with a zone (2026-11-20T09:00:00Z)";

/** The window from optional `since`/`until` texts; `defaultDays` back from `now` when `since` is absent (null: no lower bound). */
export function parseWindow(input: { since?: string; until?: string }, now: number, defaultDays: number | null): WindowResult {
  let since = defaultDays === null ? 0 : now - defaultDays * UNIT_MS.d;
  let until = now + 1;
  if (input.since !== undefined && input.since !== "") {
    const value = parseInstant(input.since, "since", now);
    if (value === null) return { ok: false, message: `since: ${INSTANT_HELP}` };
    since = value;
  }
  if (input.until !== undefined && input.until !== "") {
    const value = parseInstant(input.until, "until", now);
    if (value === null) return { ok: false, message: `until: ${INSTANT_HELP}` };
    until = value;
  }
  if (since >= until) return { ok: false, message: "since must be before until" };
  return { ok: true, window: { since, until } };
}
