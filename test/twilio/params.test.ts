import { describe, expect, it } from "vitest";
import { identifierProblem, parseForm } from "../../src/twilio/params.ts";

const CALL_SID = "CA" + "0123456789abcdef".repeat(2);
const ACCOUNT_SID = "AC" + "fedcba9876543210".repeat(2);
const form = (params: Record<string, string | string[]>) => {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) for (const v of [value].flat()) body.append(name, v);
  return parseForm(body.toString());
};
const VOICE = { AccountSid: ACCOUNT_SID, ApiVersion: "2010-04-01", CallSid: CALL_SID, CallStatus: "ringing", From: "+14155550100", To: "+61341517921" };

describe("identifierProblem", () => {
  it.each<[string, Record<string, string | string[]>]>([
    ["a voice webhook as Twilio sends it", VOICE],
    ["a dry run", { ...VOICE, BridgeDryRun: "1" }],
    ["SIDs in upper-case hex", { ...VOICE, CallSid: CALL_SID.toUpperCase(), AccountSid: ACCOUNT_SID.toUpperCase() }],
    ["no AccountSid and no ApiVersion", { CallSid: CALL_SID, From: "+14155550100", To: "+61341517921" }],
    ["the same CallSid twice", { ...VOICE, CallSid: [CALL_SID, CALL_SID] }],
  ])("accepts %s", (_name, params) => {
    expect(identifierProblem(form(params))).toBeNull();
  });

  it.each<[string, Record<string, string | string[]>, string, string]>([
    ["no CallSid", { From: "+14155550100" }, "CallSid", "CallSid must be Twilio's call SID, CA and 32 hex digits"],
    ["an empty CallSid", { ...VOICE, CallSid: "" }, "CallSid", "CallSid must be Twilio's call SID, CA and 32 hex digits"],
    ["a short CallSid", { ...VOICE, CallSid: "CA1234567890ABCDE" }, "CallSid", "CallSid must be Twilio's call SID, CA and 32 hex digits"],
    ["a CallSid with CallStatus folded in", { ...VOICE, CallSid: `${CALL_SID}CallStatusringing` }, "CallSid", "CallSid must be Twilio's call SID, CA and 32 hex digits"],
    ["an account SID as CallSid", { ...VOICE, CallSid: ACCOUNT_SID }, "CallSid", "CallSid must be Twilio's call SID, CA and 32 hex digits"],
    ["a second, different CallSid", { ...VOICE, CallSid: [CALL_SID, CALL_SID.replace("0", "1")] }, "CallSid", "CallSid must be Twilio's call SID, CA and 32 hex digits"],
    ["a CallSid with a non-hex digit", { ...VOICE, CallSid: CALL_SID.slice(0, -1) + "g" }, "CallSid", "CallSid must be Twilio's call SID, CA and 32 hex digits"],
    ["an empty AccountSid", { ...VOICE, AccountSid: "" }, "AccountSid", "AccountSid must be Twilio's account SID, AC and 32 hex digits"],
    ["an AccountSid with ApiVersion folded in", { ...VOICE, AccountSid: `${ACCOUNT_SID}ApiVersion2010-04-01` }, "AccountSid", "AccountSid must be Twilio's account SID, AC and 32 hex digits"],
    ["an ApiVersion with the dry-run flag folded in", { ...VOICE, ApiVersion: "2010-04-01BridgeDryRun1" }, "ApiVersion", "ApiVersion must be 2010-04-01"],
    ["another ApiVersion", { ...VOICE, ApiVersion: "2008-08-01" }, "ApiVersion", "ApiVersion must be 2010-04-01"],
    ["a dry-run flag of 0", { ...VOICE, BridgeDryRun: "0" }, "BridgeDryRun", "BridgeDryRun must be 1"],
    ["an empty dry-run flag", { ...VOICE, BridgeDryRun: "" }, "BridgeDryRun", "BridgeDryRun must be 1"],
    ["a dry-run flag with CallSid folded in", { ...VOICE, BridgeDryRun: `1CallSid${CALL_SID}` }, "BridgeDryRun", "BridgeDryRun must be 1"],
    ["the dry-run flag's name cut short", { ...VOICE, BridgeDryRu: "n1" }, "BridgeDryRun", "BridgeDryRun must be a parameter of its own, BridgeDryRun=1"],
    ["the dry-run flag's value folded into its name", { ...VOICE, BridgeDryRun1: "" }, "BridgeDryRun", "BridgeDryRun must be a parameter of its own, BridgeDryRun=1"],
    ["the dry-run flag as another parameter's value", { CallSid: CALL_SID, "ApiVersion2010-04-01": "BridgeDryRun1" }, "BridgeDryRun", "BridgeDryRun must be a parameter of its own, BridgeDryRun=1"],
  ])("refuses %s, naming the parameter", (_name, params, param, message) => {
    expect(identifierProblem(form(params))).toEqual({ param, message });
  });
});
