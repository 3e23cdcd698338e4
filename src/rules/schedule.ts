/**
 * Opening hours (an agent's `schedule`; docs/storage.md): validation, whether a line is open at an instant, and
 * when that next changes. Times are wall-clock times in the schedule's IANA zone, read with the platform's `Intl`
 * time-zone data, so DST transitions need no rule of their own: 09:00 is 09:00 local on both sides of one.
 *
 * A range `HH:MM-HH:MM` whose end is not after its start crosses midnight (`22:00-02:00`) and belongs to the day
 * it starts on; a `closed` or `open` date governs the ranges that start on that date. `24:00` ends a day.
 * Shared by the Worker and the CLI: plain TypeScript.
 */
import { normalizeE164 } from "../phone.ts";
import { validateVoicemail } from "../voicemail/settings.ts";
import type { Voicemail } from "../line/voice-outcome.ts";

export const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
export type Weekday = (typeof WEEKDAYS)[number];
/** The order days are written in, for storage and output. */
export const WEEK_ORDER: readonly Weekday[] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

export type AfterHoursTarget = { agent: string } | { number: string } | { say: string } | { voicemail: Voicemail };

export interface Schedule {
  timeZone: string;
  /** Ranges per weekday; a day left out is closed. */
  hours: Partial<Record<Weekday, string[]>>;
  /** Dates (YYYY-MM-DD) closed all day, whatever `hours` says. */
  closed?: string[];
  /** Dates with hours of their own instead of the weekday's. */
  open?: Record<string, string[]>;
  afterHours?: AfterHoursTarget;
}

export type ScheduleResult = { ok: true; schedule: Schedule } | { ok: false; detail: string };

/** Twilio's `<Say>` reads at most 4,096 characters (twilio.com/docs/voice/twiml/say); a sentence needs far fewer. */
const MAX_SAY_LENGTH = 1_000;
const MINUTES_PER_DAY = 1_440;
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** How far `nextChange` looks past the last dated exception: a week repeats after that. */
const WEEK_DAYS = 7;
/** The most `nextChange` looks ahead at all, so a schedule dated years ahead cannot make it scan for long. */
const MAX_LOOKAHEAD_DAYS = 731;

const RANGE = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const KNOWN_FIELDS = new Set(["timeZone", "hours", "closed", "open", "afterHours"]);

/** A range in minutes since local midnight; `end <= start` crosses midnight into the next day. */
interface Range {
  start: number;
  end: number;
}

/** `"09:00-17:30"` → minutes, or null. Starts run 00:00–23:59, ends 00:00–24:00; a range cannot be empty. */
export function parseRange(text: string): Range | null {
  const match = RANGE.exec(text);
  if (!match) return null;
  const [sh, sm, eh, em] = match.slice(1).map(Number) as [number, number, number, number];
  if (sh > 23 || sm > 59 || em > 59 || eh > 24 || (eh === 24 && em !== 0)) return null;
  const start = sh * 60 + sm;
  const end = eh * 60 + em;
  return start === end ? null : { start, end };
}

function crossesMidnight(range: Range): boolean {
  return range.end <= range.start;
}

/** Days since the epoch of a real calendar date `YYYY-MM-DD`, or null. */
function dayNumber(date: string): number | null {
  const match = DATE.exec(date);
  if (!match) return null;
  const [y, m, d] = match.slice(1).map(Number) as [number, number, number];
  const ms = Date.UTC(y, m - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== m - 1 || back.getUTCDate() !== d) return null;
  return ms / DAY_MS;
}

function dateOf(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

function weekdayOf(day: number): Weekday {
  return WEEKDAYS[new Date(day * DAY_MS).getUTCDay()] as Weekday;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
/** Bounds the formatter cache: zone names are case-insensitive, so stored values could name many spellings. */
const MAX_FORMATTERS = 64;

/** One formatter per zone, kept: building one is far dearer than using it. Throws RangeError for an unknown zone. */
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    if (formatters.size >= MAX_FORMATTERS) formatters.delete(formatters.keys().next().value as string);
    f = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isTimeZone(value: string): boolean {
  try {
    formatter(value);
    return true;
  } catch {
    return false;
  }
}

/** The wall clock in `timeZone` at `instant`: the local day (days since the epoch) and minute of that day. */
export interface WallTime {
  day: number;
  minute: number;
}

export function wallTime(timeZone: string, instant: number): WallTime {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(instant)) {
    if (part.type !== "literal") parts[part.type] = Number(part.value);
  }
  const day = Date.UTC(parts.year as number, (parts.month as number) - 1, parts.day as number) / DAY_MS;
  return { day, minute: (parts.hour as number) * 60 + (parts.minute as number) };
}

function wallMinutes(wall: WallTime): number {
  return wall.day * MINUTES_PER_DAY + wall.minute;
}

function validateRanges(value: unknown, field: string): { ok: true; ranges: string[] } | { ok: false; detail: string } {
  if (!Array.isArray(value)) return { ok: false, detail: `${field} is not an array of ranges HH:MM-HH:MM` };
  for (const [index, entry] of value.entries()) {
    if (typeof entry !== "string" || parseRange(entry) === null) {
      return { ok: false, detail: `${field}[${index}] ${JSON.stringify(entry)} is not a range HH:MM-HH:MM (00:00 to 24:00, start and end differ)` };
    }
  }
  return { ok: true, ranges: value as string[] };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function validateTarget(value: unknown, isAgentId: (id: string) => boolean): { ok: true; target: AfterHoursTarget } | { ok: false; detail: string } {
  const field = "schedule.afterHours";
  const fail = (detail: string) => ({ ok: false as const, detail: `${field}${detail}` });
  if (!isPlainObject(value) || Object.keys(value).length !== 1) return fail(' is not one of {"agent": id}, {"number": E.164}, {"say": text} or {"voicemail": {"greeting": text, "maxSeconds": n}}');
  const [[kind, target]] = Object.entries(value) as [[string, unknown]];
  if (kind === "agent") {
    return typeof target === "string" && isAgentId(target) ? { ok: true, target: { agent: target } } : fail(`.agent ${JSON.stringify(target)} is not a route agent id`);
  }
  if (kind === "number") {
    const number = typeof target === "string" ? normalizeE164(target) : null;
    return number ? { ok: true, target: { number } } : fail(".number is not an E.164 phone number");
  }
  if (kind === "say") {
    if (typeof target !== "string" || target.trim() === "") return fail(".say is not a sentence");
    if (target.length > MAX_SAY_LENGTH) return fail(`.say is longer than ${MAX_SAY_LENGTH} characters`);
    return { ok: true, target: { say: target } };
  }
  if (kind === "voicemail") {
    const checked = validateVoicemail(target, `${field}.voicemail`);
    return checked.ok ? { ok: true, target: { voicemail: checked.voicemail } } : { ok: false, detail: checked.detail };
  }
  return fail(` has unknown field "${kind}" (agent, number, say or voicemail)`);
}

/**
 * Validates a stored schedule; `isAgentId` says whether an after-hours agent id can be a KV key (`agent:<id>`).
 * The result is normalised (days and fields in a fixed order, the after-hours number in E.164).
 */
export function validateSchedule(value: unknown, isAgentId: (id: string) => boolean): ScheduleResult {
  const fail = (detail: string): ScheduleResult => ({ ok: false, detail });
  if (!isPlainObject(value)) return fail("schedule is not an object");
  for (const field of Object.keys(value)) {
    if (!KNOWN_FIELDS.has(field)) return fail(`schedule has unknown field "${field}"`);
  }
  const { timeZone, hours, closed, open, afterHours } = value;
  if (typeof timeZone !== "string" || timeZone === "") return fail("schedule.timeZone is missing");
  if (!isTimeZone(timeZone)) return fail(`schedule.timeZone ${JSON.stringify(timeZone)} is not an IANA time zone (such as Australia/Melbourne)`);
  if (!isPlainObject(hours)) return fail("schedule.hours is not an object of weekdays (mon … sun)");
  const schedule: Schedule = { timeZone, hours: {} };
  for (const day of Object.keys(hours)) {
    if (!(WEEK_ORDER as readonly string[]).includes(day)) return fail(`schedule.hours has unknown day "${day}" (mon, tue, wed, thu, fri, sat, sun)`);
  }
  for (const day of WEEK_ORDER) {
    if (hours[day] === undefined) continue;
    const ranges = validateRanges(hours[day], `schedule.hours.${day}`);
    if (!ranges.ok) return ranges;
    schedule.hours[day] = ranges.ranges;
  }
  if (closed !== undefined) {
    if (!Array.isArray(closed)) return fail("schedule.closed is not an array of dates YYYY-MM-DD");
    for (const [index, date] of closed.entries()) {
      if (typeof date !== "string" || dayNumber(date) === null) return fail(`schedule.closed[${index}] ${JSON.stringify(date)} is not a date YYYY-MM-DD`);
    }
    schedule.closed = closed as string[];
  }
  if (open !== undefined) {
    if (!isPlainObject(open)) return fail("schedule.open is not an object of dates YYYY-MM-DD");
    schedule.open = {};
    for (const [date, ranges] of Object.entries(open)) {
      if (dayNumber(date) === null) return fail(`schedule.open has ${JSON.stringify(date)}, which is not a date YYYY-MM-DD`);
      if (schedule.closed?.includes(date)) return fail(`schedule.open.${date} is also in schedule.closed`);
      const checked = validateRanges(ranges, `schedule.open.${date}`);
      if (!checked.ok) return checked;
      schedule.open[date] = checked.ranges;
    }
  }
  if (afterHours !== undefined) {
    const target = validateTarget(afterHours, isAgentId);
    if (!target.ok) return target;
    schedule.afterHours = target.target;
  }
  return { ok: true, schedule };
}

/** The ranges that start on a local day: its special hours, none when it is closed, else its weekday's. */
function rangesOn(schedule: Schedule, day: number): Range[] {
  const date = dateOf(day);
  const texts = schedule.open?.[date] ?? (schedule.closed?.includes(date) ? [] : (schedule.hours[weekdayOf(day)] ?? []));
  return texts.map(parseRange).filter((r): r is Range => r !== null);
}

function openAtWall(schedule: Schedule, wall: WallTime): boolean {
  const { day, minute } = wall;
  if (rangesOn(schedule, day).some((r) => minute >= r.start && (crossesMidnight(r) || minute < r.end))) return true;
  return rangesOn(schedule, day - 1).some((r) => crossesMidnight(r) && minute < r.end);
}

/** Whether the line is open at `instant` (ms since the epoch). */
export function isOpen(schedule: Schedule, instant: number): boolean {
  return openAtWall(schedule, wallTime(schedule.timeZone, instant));
}

/**
 * The first instant whose wall clock in `timeZone` reads `day` at `minute`; in a DST gap, where that reading
 * never happens, the instant the clocks jump (the first reading after it). Offsets are taken a day either side,
 * where no transition is near.
 */
export function instantOf(timeZone: string, day: number, minute: number): number {
  const wanted = day * MINUTES_PER_DAY + minute;
  const asUtc = wanted * MINUTE_MS;
  const offsetAt = (instant: number) => wallMinutes(wallTime(timeZone, instant)) - Math.floor(instant / MINUTE_MS);
  const guesses = [...new Set([asUtc - offsetAt(asUtc - DAY_MS) * MINUTE_MS, asUtc - offsetAt(asUtc + DAY_MS) * MINUTE_MS])].sort((a, b) => a - b);
  const exact = guesses.find((g) => wallMinutes(wallTime(timeZone, g)) === wanted);
  if (exact !== undefined) return exact;
  // A gap: the earlier guess reads before `wanted`, the later one after it. Halve the minutes between them.
  let [before, after] = [guesses[0] as number, guesses[guesses.length - 1] as number];
  while (after - before > MINUTE_MS) {
    const middle = before + Math.floor((after - before) / MINUTE_MS / 2) * MINUTE_MS;
    if (wallMinutes(wallTime(timeZone, middle)) < wanted) before = middle;
    else after = middle;
  }
  return after;
}

export interface ScheduleChange {
  /** The instant the line opens or closes (ms since the epoch). */
  at: number;
  /** Whether it is open from then on. */
  open: boolean;
}

/** When the line next opens or closes after `now`; null when it never changes within the look-ahead. */
export function nextChange(schedule: Schedule, now: number): ScheduleChange | null {
  const today = wallTime(schedule.timeZone, now).day;
  const dated = [...(schedule.closed ?? []), ...Object.keys(schedule.open ?? {})].map((d) => dayNumber(d) ?? today);
  const lastDay = Math.min(today + MAX_LOOKAHEAD_DAYS, Math.max(today, ...dated) + WEEK_DAYS + 1);
  const openNow = isOpen(schedule, now);
  const candidates: number[] = [];
  for (let day = today - 1; day <= lastDay; day++) {
    for (const range of rangesOn(schedule, day)) {
      candidates.push(instantOf(schedule.timeZone, day, range.start));
      candidates.push(instantOf(schedule.timeZone, crossesMidnight(range) ? day + 1 : day, range.end));
    }
  }
  for (const at of [...new Set(candidates)].filter((c) => c > now).sort((a, b) => a - b)) {
    const open = isOpen(schedule, at);
    if (open !== openNow) return { at, open };
  }
  return null;
}

/** `Mon 2026-11-23 17:00`: an instant as the schedule's wall clock reads it, for the CLI. */
export function describeWallTime(timeZone: string, instant: number): string {
  const { day, minute } = wallTime(timeZone, instant);
  const name = weekdayOf(day);
  const hh = String(Math.floor(minute / 60)).padStart(2, "0");
  const mm = String(minute % 60).padStart(2, "0");
  return `${name[0]?.toUpperCase()}${name.slice(1)} ${dateOf(day)} ${hh}:${mm}`;
}
