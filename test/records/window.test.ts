/** src/records/window.ts: since/until as the API and CLI read them. */
import { describe, expect, it } from "vitest";
import { parseInstant, parseWindow } from "../../src/records/window.ts";

const NOW = Date.parse("2026-11-25T12:00:00Z");

describe("parseInstant", () => {
  it.each([
    ["30m", "since", NOW - 30 * 60_000],
    ["24h", "since", NOW - 24 * 3_600_000],
    ["7d", "until", NOW - 7 * 86_400_000],
    ["2026-11-20", "since", Date.parse("2026-11-20T00:00:00Z")],
    ["2026-11-20", "until", Date.parse("2026-11-21T00:00:00Z")],
    ["2026-11-20T09:30:00Z", "since", Date.parse("2026-11-20T09:30:00Z")],
    ["2026-11-20T09:30:00.250+10:00", "until", Date.parse("2026-11-19T23:30:00.250Z")],
  ] as const)("reads %s (%s)", (value, bound, expected) => {
    expect(parseInstant(value, bound, NOW)).toBe(expected);
  });

  it.each(["", "7", "7w", "yesterday", "2026-02-30", "2026-11-20T09:30:00", "20/11/2026", "-7d"])("refuses %j", (value) => {
    expect(parseInstant(value, "since", NOW)).toBeNull();
  });
});

describe("parseWindow", () => {
  it("defaults to the given number of days up to now", () => {
    expect(parseWindow({}, NOW, 7)).toEqual({ ok: true, window: { since: NOW - 7 * 86_400_000, until: NOW + 1 } });
  });

  it("has no lower bound without a default", () => {
    expect(parseWindow({}, NOW, null)).toMatchObject({ window: { since: 0 } });
  });

  it("refuses since after until", () => {
    expect(parseWindow({ since: "1d", until: "2d" }, NOW, 7)).toEqual({ ok: false, message: "since must be before until" });
  });

  it("names the bound it cannot read", () => {
    expect(parseWindow({ until: "soon" }, NOW, 7)).toMatchObject({ ok: false, message: expect.stringMatching(/^until: /) });
  });
});
