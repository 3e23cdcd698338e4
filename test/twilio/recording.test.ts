/** src/twilio/recording.ts: reading Twilio's recording callback, and which recording a record keeps. */
import { describe, expect, it } from "vitest";
import { parseForm } from "../../src/twilio/params.ts";
import { laterRecording, readRecording, type VoicemailRecording } from "../../src/twilio/recording.ts";

const SID = "RE" + "1".repeat(32);
const OTHER = "RE" + "2".repeat(32);
const URL_OF = (sid: string) => `https://api.twilio.com/2010-04-01/Accounts/AC${"0".repeat(32)}/Recordings/${sid}`;

function form(fields: Record<string, string>) {
  return parseForm(new URLSearchParams({ RecordingSid: SID, RecordingUrl: URL_OF(SID), RecordingStatus: "completed", RecordingDuration: "12", ...fields }).toString());
}

const rec = (recordingSid: string, status: string): VoicemailRecording => ({ recordingSid, url: URL_OF(recordingSid), durationS: 1, status, reportedAt: 0 });

describe("readRecording", () => {
  it("reads the SID, URL, duration and status", () => {
    expect(readRecording(form({}), 5)).toEqual({ recordingSid: SID, url: URL_OF(SID), durationS: 12, status: "completed", reportedAt: 5 });
  });

  it.each([
    ["a SID that is not a recording's", { RecordingSid: "CA" + "1".repeat(32) }],
    ["a URL off Twilio's API host", { RecordingUrl: "https://api.twilio.com.attacker.example/r.mp3" }],
    ["a plain-http URL", { RecordingUrl: URL_OF(SID).replace("https:", "http:") }],
    ["a status with markup", { RecordingStatus: "<completed>" }],
  ])("refuses %s", (_name, fields) => {
    expect(readRecording(form(fields), 0)).toBeNull();
  });

  it("keeps no duration when Twilio sends none or -1", () => {
    expect(readRecording(form({ RecordingDuration: "-1" }), 0)?.durationS).toBeNull();
  });
});

describe("laterRecording", () => {
  it.each([
    ["the first callback", null, rec(SID, "in-progress"), rec(SID, "in-progress")],
    ["completed after in-progress", rec(SID, "in-progress"), rec(SID, "completed"), rec(SID, "completed")],
    ["in-progress after completed (out of order)", rec(SID, "completed"), rec(SID, "in-progress"), rec(SID, "completed")],
    ["a repeat of completed", rec(SID, "completed"), { ...rec(SID, "completed"), reportedAt: 9 }, rec(SID, "completed")],
    ["another recording after a completed one", rec(SID, "completed"), rec(OTHER, "completed"), rec(SID, "completed")],
    ["another, completed recording after one still in progress", rec(SID, "in-progress"), rec(OTHER, "completed"), rec(OTHER, "completed")],
  ])("%s", (_name, stored, next, expected) => {
    expect(laterRecording(stored, next)).toEqual(expected);
  });
});
