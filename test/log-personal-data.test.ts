/**
 * Personal data in logs: validation details name the field and index, never the entry (a hand-written number
 * reaches every call's log line otherwise), and a transfer's announcement travels in no URL.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { twilioRequest, uniqueAgentId, uniqueNumber, voiceParams, worker } from "./helpers.ts";
import { captureLogs } from "./records.ts";

afterEach(() => vi.restoreAllMocks());

describe("an agent's invalid entry", () => {
  it.each([
    ["a blockedCallers entry written by hand", { blockedCallers: ["0499 876 543"] }, "blockedCallers[0]"],
    ["an allowedCallers entry written by hand", { allowedCallers: ["+61400000001", "0499 876 543"] }, "allowedCallers[1]"],
    ["an after-hours number written by hand", { schedule: { timeZone: "UTC", hours: {}, afterHours: { number: "0499 876 543" } } }, "schedule.afterHours.number"],
  ])("is named by field and index in the call's log line, never quoted: %s", async (_, config, field) => {
    const to = uniqueNumber();
    await env.AGENTS.put(to, JSON.stringify({ retellAgentId: uniqueAgentId("pii"), ...config }));
    const logs = captureLogs();
    await (await worker(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })))).text();
    const line = logs().find((l) => l.event === "twilio.voice");
    expect(String(line?.detail)).toContain(field);
    expect(JSON.stringify(logs())).not.toMatch(/876.?543/);
  });
});
