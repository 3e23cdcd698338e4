/** src/rules/schedule.ts: opening hours in two zones, across both DST transitions of each, without Hono. */
import { describe, expect, it } from "vitest";
import { ROUTE_AGENT_ID } from "../../src/agent-key.ts";
import { describeWallTime, instantOf, isOpen, nextChange, validateSchedule, type Schedule } from "../../src/rules/schedule.ts";

const isAgentId = (id: string) => ROUTE_AGENT_ID.test(id);
const at = (iso: string) => Date.parse(iso);
const day = (date: string) => Date.parse(`${date}T00:00:00Z`) / 86_400_000;

const OFFICE = { mon: ["09:00-17:00"], tue: ["09:00-17:00"], wed: ["09:00-17:00"], thu: ["09:00-17:00"], fri: ["09:00-17:00"] };
const melbourne: Schedule = { timeZone: "Australia/Melbourne", hours: OFFICE };
const newYork: Schedule = { timeZone: "America/New_York", hours: OFFICE };

describe("isOpen across DST", () => {
  // Melbourne: AEDT (+11) ends Sun 2026-04-05 03:00 → AEST (+10); AEST starts over Sun 2026-10-04 02:00 → AEDT.
  // New York: EST (-5) → EDT (-4) on Sun 2026-03-08 02:00; EDT → EST on Sun 2026-11-01 02:00.
  it.each([
    ["Melbourne, Fri before DST ends (AEDT), 09:30", melbourne, "2026-04-02T22:30:00Z", true],
    ["Melbourne, Fri before DST ends (AEDT), 08:30", melbourne, "2026-04-02T21:30:00Z", false],
    ["Melbourne, Mon after DST ends (AEST), 09:30", melbourne, "2026-04-05T23:30:00Z", true],
    ["Melbourne, Mon after DST ends (AEST), 08:30", melbourne, "2026-04-05T22:30:00Z", false],
    ["Melbourne, Fri before DST starts (AEST), 16:59", melbourne, "2026-10-02T06:59:00Z", true],
    ["Melbourne, Fri before DST starts (AEST), 17:00", melbourne, "2026-10-02T07:00:00Z", false],
    ["Melbourne, Mon after DST starts (AEDT), 16:59", melbourne, "2026-10-05T05:59:00Z", true],
    ["Melbourne, Mon after DST starts (AEDT), 17:00", melbourne, "2026-10-05T06:00:00Z", false],
    ["New York, Fri before DST starts (EST), 09:30", newYork, "2026-03-06T14:30:00Z", true],
    ["New York, Fri before DST starts (EST), 08:30", newYork, "2026-03-06T13:30:00Z", false],
    ["New York, Mon after DST starts (EDT), 09:30", newYork, "2026-03-09T13:30:00Z", true],
    ["New York, Mon after DST starts (EDT), 08:30", newYork, "2026-03-09T12:30:00Z", false],
    ["New York, Fri before DST ends (EDT), 16:59", newYork, "2026-10-30T20:59:00Z", true],
    ["New York, Fri before DST ends (EDT), 17:00", newYork, "2026-10-30T21:00:00Z", false],
    ["New York, Mon after DST ends (EST), 16:59", newYork, "2026-11-02T21:59:00Z", true],
    ["New York, Mon after DST ends (EST), 17:00", newYork, "2026-11-02T22:00:00Z", false],
    ["New York, Sunday (no hours)", newYork, "2026-03-08T15:00:00Z", false],
  ])("%s → open %s", (_name, schedule, instant, open) => {
    expect(isOpen(schedule, at(instant))).toBe(open);
  });

  it("ends a range that crosses midnight on a DST night at its wall-clock time", () => {
    // Sat 2026-10-03 22:00 AEST to Sun 04:00 AEDT: five real hours, the clocks skip 02:00-03:00.
    const night: Schedule = { timeZone: "Australia/Melbourne", hours: { sat: ["22:00-04:00"] } };
    expect(isOpen(night, at("2026-10-03T16:30:00Z"))).toBe(true); // Sun 03:30 AEDT
    expect(isOpen(night, at("2026-10-03T17:00:00Z"))).toBe(false); // Sun 04:00 AEDT
  });
});

describe("isOpen called minute by minute through a DST change", () => {
  /** Whether `schedule` is open at `instant` by the wall clock read exactly (describeWallTime: `Sun 2026-03-08 03:00`). */
  const openByWallClock = (schedule: Schedule, instant: number) => {
    const [weekday, , time] = describeWallTime(schedule.timeZone, instant).split(" ") as [string, string, string];
    const range = schedule.hours[weekday.toLowerCase() as keyof Schedule["hours"]]?.[0];
    if (!range) return false;
    const [start, end] = range.split("-") as [string, string];
    return time >= start && time < end;
  };
  const walk = (schedule: Schedule, fromIso: string, hours: number) =>
    Array.from({ length: hours * 60 }, (_, i) => at(fromIso) + i * 60_000 + 30_000).map((instant) => ({ instant, open: isOpen(schedule, instant) }));

  it.each([
    // Clocks jump 02:00 EST → 03:00 EDT at 07:00Z: 01:30–01:59 and 03:00–03:14 are open, 45 minutes.
    ["New York, spring forward", { timeZone: "America/New_York", hours: { sun: ["01:30-03:15"] } }, "2026-03-08T03:17:00Z", 45],
    // 02:00 EDT → 01:00 EST at 06:00Z: 01:00–01:29 happens twice, 60 minutes.
    ["New York, fall back", { timeZone: "America/New_York", hours: { sun: ["01:00-01:30"] } }, "2026-11-01T03:17:00Z", 60],
    // 03:00 AEDT → 02:00 AEST at 16:00Z on Sat: 02:00–02:29 happens twice.
    ["Melbourne, DST ends", { timeZone: "Australia/Melbourne", hours: { sun: ["02:00-02:30"] } }, "2026-04-04T13:17:00Z", 60],
  ] satisfies [string, Schedule, string, number][])("%s: every minute as the wall clock reads it exactly", (_name, schedule, fromIso, openMinutes) => {
    const minutes = walk(schedule, fromIso, 6);
    expect(minutes.filter((m) => m.open)).toHaveLength(openMinutes);
    for (const { instant, open } of minutes) expect({ instant, open }).toEqual({ instant, open: openByWallClock(schedule, instant) });
  });
});

describe("isOpen with ranges that cross midnight", () => {
  const late: Schedule = { timeZone: "America/New_York", hours: { fri: ["22:00-02:00"] } };

  it.each([
    ["Fri 21:59", "2026-11-21T02:59:00Z", false],
    ["Fri 22:00", "2026-11-21T03:00:00Z", true],
    ["Sat 01:59, still Friday's range", "2026-11-21T06:59:00Z", true],
    ["Sat 02:00", "2026-11-21T07:00:00Z", false],
    ["Sat 23:00: Saturday has no range of its own", "2026-11-22T04:00:00Z", false],
  ])("%s → open %s", (_name, instant, open) => {
    expect(isOpen(late, at(instant))).toBe(open);
  });

  it("keeps 24:00 as the end of a day", () => {
    const allDay: Schedule = { timeZone: "UTC", hours: { mon: ["00:00-24:00"] } };
    expect(isOpen(allDay, at("2026-11-23T23:59:00Z"))).toBe(true);
    expect(isOpen(allDay, at("2026-11-24T00:00:00Z"))).toBe(false);
  });
});

describe("isOpen with dated closures and special openings", () => {
  const holidays: Schedule = {
    timeZone: "Australia/Melbourne",
    hours: { ...OFFICE, thu: ["09:00-17:00", "22:00-02:00"], fri: ["09:00-17:00", "22:00-02:00"] },
    closed: ["2026-12-25", "2027-01-01"],
    open: { "2026-12-24": ["09:00-12:00"], "2026-12-27": ["10:00-11:00"] },
  };

  it.each([
    ["a closed date, in its weekday's hours", "2026-12-24T23:00:00Z", false], // Fri 25 Dec 10:00
    ["a closed date's own midnight range, after midnight", "2026-12-25T14:00:00Z", false], // Sat 26 Dec 01:00
    ["a range from the day before, running past midnight into a closed date", "2026-12-31T14:00:00Z", true], // Fri 1 Jan 01:00
    ["that closed date after the range", "2026-12-31T23:00:00Z", false], // Fri 1 Jan 10:00
    ["special hours replace the weekday's midnight range too", "2026-12-24T14:00:00Z", false], // Fri 25 Dec 01:00
    ["special hours, inside", "2026-12-23T23:00:00Z", true], // Thu 24 Dec 10:00
    ["special hours, outside the weekday's hours they replace", "2026-12-24T02:00:00Z", false], // Thu 24 Dec 13:00
    ["special hours on a day with no hours", "2026-12-26T23:30:00Z", true], // Sun 27 Dec 10:30
  ])("%s → open %s", (_name, instant, open) => {
    expect(isOpen(holidays, at(instant))).toBe(open);
  });
});

describe("nextChange", () => {
  it("is the closing time while open", () => {
    expect(nextChange(melbourne, at("2026-11-20T05:00:00Z"))).toEqual({ at: at("2026-11-20T06:00:00Z"), open: false }); // Fri 16:00 → 17:00 AEDT
  });

  it("skips the weekend to Monday's opening, at Monday's offset when DST ends in between", () => {
    // Fri 2026-04-03 18:00 AEDT; Mon 2026-04-06 09:00 is AEST (+10).
    expect(nextChange(melbourne, at("2026-04-03T07:00:00Z"))).toEqual({ at: at("2026-04-05T23:00:00Z"), open: true });
  });

  it("skips closed dates", () => {
    const schedule: Schedule = { ...newYork, closed: ["2026-11-26", "2026-11-27"] };
    // Wed 2026-11-25 17:00 EST → Mon 2026-11-30 09:00 EST.
    expect(nextChange(schedule, at("2026-11-25T22:00:00Z"))).toEqual({ at: at("2026-11-30T14:00:00Z"), open: true });
  });

  it("opens when the clocks jump, for an opening time DST skips", () => {
    const schedule: Schedule = { timeZone: "Australia/Melbourne", hours: { sun: ["02:30-05:00"] } };
    // Sun 2026-10-04 01:00 AEST; 02:30 never happens: the clocks go from 02:00 AEST to 03:00 AEDT (16:00Z).
    expect(nextChange(schedule, at("2026-10-03T15:00:00Z"))).toEqual({ at: at("2026-10-03T16:00:00Z"), open: true });
  });

  it("is null when the line never changes", () => {
    const always: Schedule = { timeZone: "UTC", hours: Object.fromEntries(["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map((d) => [d, ["00:00-24:00"]])) };
    expect(nextChange(always, at("2026-11-20T12:00:00Z"))).toBeNull();
    expect(nextChange({ timeZone: "UTC", hours: {} }, at("2026-11-20T12:00:00Z"))).toBeNull();
  });
});

describe("instantOf and describeWallTime", () => {
  it("gives the first of the two instants a wall-clock time has when DST ends", () => {
    // Sun 2026-04-05 02:30 happens at 15:30Z (AEDT) and again at 16:30Z (AEST).
    expect(instantOf("Australia/Melbourne", day("2026-04-05"), 150)).toBe(at("2026-04-04T15:30:00Z"));
  });

  it("writes an instant as the zone's weekday, date and time", () => {
    expect(describeWallTime("Australia/Melbourne", at("2026-04-05T23:00:00Z"))).toBe("Mon 2026-04-06 09:00");
  });
});

describe("validateSchedule", () => {
  it("accepts a full schedule and normalises it", () => {
    const result = validateSchedule(
      { afterHours: { number: "+61 3 9000 0000" }, open: { "2026-12-24": ["09:00-12:00"] }, closed: ["2026-12-25"], hours: { tue: ["09:00-17:00"], mon: ["09:00-12:30", "13:30-17:00"] }, timeZone: "Australia/Melbourne" },
      isAgentId,
    );
    expect(result).toEqual({
      ok: true,
      schedule: { timeZone: "Australia/Melbourne", hours: { mon: ["09:00-12:30", "13:30-17:00"], tue: ["09:00-17:00"] }, closed: ["2026-12-25"], open: { "2026-12-24": ["09:00-12:00"] }, afterHours: { number: "+61390000000" } },
    });
  });

  it.each([
    [{ greeting: "We are closed. Leave a message.", maxSeconds: 90 }, { greeting: "We are closed. Leave a message.", maxSeconds: 90 }],
    [{ greeting: "Leave a message." }, { greeting: "Leave a message.", maxSeconds: 120 }],
  ])("accepts a voicemail after-hours target %j", (voicemail, expected) => {
    expect(validateSchedule({ timeZone: "UTC", hours: {}, afterHours: { voicemail } }, isAgentId)).toEqual({ ok: true, schedule: { timeZone: "UTC", hours: {}, afterHours: { voicemail: expected } } });
  });

  it.each([
    ["not an object", "mon 9-5", "schedule is not an object"],
    ["no time zone", { hours: {} }, "schedule.timeZone is missing"],
    ["an unknown time zone", { timeZone: "Mars/Olympus_Mons", hours: {} }, 'schedule.timeZone "Mars/Olympus_Mons" is not an IANA time zone'],
    ["an unknown field", { timeZone: "UTC", hours: {}, timezone: "UTC" }, 'schedule has unknown field "timezone"'],
    ["no hours", { timeZone: "UTC" }, "schedule.hours is not an object"],
    ["an unknown day", { timeZone: "UTC", hours: { funday: [] } }, 'schedule.hours has unknown day "funday"'],
    ["a range without minutes", { timeZone: "UTC", hours: { mon: ["9-17"] } }, 'schedule.hours.mon[0] "9-17" is not a range HH:MM-HH:MM'],
    ["an hour past 24", { timeZone: "UTC", hours: { mon: ["09:00-17:00", "25:00-26:00"] } }, 'schedule.hours.mon[1] "25:00-26:00" is not a range'],
    ["an empty range", { timeZone: "UTC", hours: { mon: ["09:00-09:00"] } }, 'schedule.hours.mon[0] "09:00-09:00" is not a range'],
    ["ranges not in an array", { timeZone: "UTC", hours: { mon: "09:00-17:00" } }, "schedule.hours.mon is not an array"],
    ["a date that does not exist", { timeZone: "UTC", hours: {}, closed: ["2026-02-30"] }, 'schedule.closed[0] "2026-02-30" is not a date YYYY-MM-DD'],
    ["a special date that is not a date", { timeZone: "UTC", hours: {}, open: { "24/12/2026": ["09:00-12:00"] } }, 'schedule.open has "24/12/2026", which is not a date'],
    ["a date both closed and open", { timeZone: "UTC", hours: {}, closed: ["2026-12-24"], open: { "2026-12-24": ["09:00-12:00"] } }, "schedule.open.2026-12-24 is also in schedule.closed"],
    ["two after-hours targets", { timeZone: "UTC", hours: {}, afterHours: { say: "Closed.", number: "+61390000000" } }, "schedule.afterHours is not one of"],
    ["an after-hours number that is not one", { timeZone: "UTC", hours: {}, afterHours: { number: "000" } }, "schedule.afterHours.number is not an E.164 phone number"],
    ["an after-hours agent id that cannot be a KV key", { timeZone: "UTC", hours: {}, afterHours: { agent: "a b" } }, 'schedule.afterHours.agent "a b" is not a route agent id'],
    ["an empty after-hours sentence", { timeZone: "UTC", hours: {}, afterHours: { say: " " } }, "schedule.afterHours.say is not a sentence"],
    ["an unknown after-hours target", { timeZone: "UTC", hours: {}, afterHours: { email: "x" } }, 'schedule.afterHours has unknown field "email"'],
    ["a voicemail that is not an object", { timeZone: "UTC", hours: {}, afterHours: { voicemail: "x" } }, "schedule.afterHours.voicemail is not an object"],
    ["a voicemail without a greeting", { timeZone: "UTC", hours: {}, afterHours: { voicemail: { maxSeconds: 60 } } }, "schedule.afterHours.voicemail.greeting is not a non-empty string"],
    ["a voicemail too long", { timeZone: "UTC", hours: {}, afterHours: { voicemail: { greeting: "Hi", maxSeconds: 3_601 } } }, "schedule.afterHours.voicemail.maxSeconds is not a whole number from 5 to 3600"],
    ["a voicemail with an unknown field", { timeZone: "UTC", hours: {}, afterHours: { voicemail: { greeting: "Hi", beep: false } } }, 'schedule.afterHours.voicemail has an unknown field "beep"'],
  ])("refuses %s, naming the field", (_name, value, detail) => {
    const result = validateSchedule(value, isAgentId);
    expect(result.ok).toBe(false);
    expect(result.ok ? "" : result.detail).toContain(detail);
  });
});
