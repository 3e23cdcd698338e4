/**
 * Configuration and platform faults on the voice webhook: each answers with the documented TwiML or status
 * and one log line that names the fault, never an unhandled exception.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import entry from "../../src/index.ts";
import type { Bindings } from "../../src/env.ts";
import { APOLOGY_MESSAGE, NOT_IN_SERVICE_MESSAGE } from "../../src/calls/outcome.ts";
import { twilioRequest, uniqueAgentId, uniqueNumber, voiceParams } from "../helpers.ts";

type LogLine = Record<string, unknown>;

/** Calls the Worker entry with some bindings replaced; returns the answer and every JSON log line. */
async function call(overrides: Partial<Bindings>, to = uniqueNumber()): Promise<{ status: number; text: string; logs: LogLine[] }> {
  const spies = (["log", "warn", "error"] as const).map((level) => vi.spyOn(console, level));
  const ctx = createExecutionContext();
  const response = await entry.fetch(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })), { ...(env as Bindings), ...overrides }, ctx);
  const text = await response.text();
  await waitOnExecutionContext(ctx);
  const logs = spies.flatMap((spy) => spy.mock.calls).flatMap((args) => {
    try {
      return [JSON.parse(String(args[0])) as LogLine];
    } catch {
      return [];
    }
  });
  return { status: response.status, text, logs };
}

const voiceLine = (logs: LogLine[]) => logs.find((l) => l.event === "twilio.voice");

afterEach(() => vi.restoreAllMocks());

describe("KV", () => {
  it("throwing: the caller hears the apology and the log says agent_lookup_failed with KV's error", async () => {
    const AGENTS = { get: () => Promise.reject(new Error("KV GET failed: 500 Internal Server Error")) } as unknown as KVNamespace;
    const { status, text, logs } = await call({ AGENTS });
    expect(status).toBe(200);
    expect(text).toContain(`<Say>${APOLOGY_MESSAGE}</Say><Hangup/>`);
    expect(voiceLine(logs)).toMatchObject({ outcome: "agent_lookup_failed", detail: "KV GET failed: 500 Internal Server Error" });
  });

  it("never answering: the caller still hears the apology, after the lookup's time limit", async () => {
    const AGENTS = { get: () => new Promise(() => {}) } as unknown as KVNamespace;
    const { status, text, logs } = await call({ AGENTS });
    expect(status).toBe(200);
    expect(text).toContain(APOLOGY_MESSAGE);
    expect(voiceLine(logs)).toMatchObject({ outcome: "agent_lookup_failed", detail: expect.stringContaining("timed out") });
  });

  it("holding a malformed value: the number is not in service and the log names the field", async () => {
    const to = uniqueNumber();
    await env.AGENTS.put(to, JSON.stringify({ retellAgentId: "agent_x", fallbackNumber: "front desk" }));
    const { text, logs } = await call({}, to);
    expect(text).toContain(NOT_IN_SERVICE_MESSAGE);
    expect(voiceLine(logs)).toMatchObject({ outcome: "agent_config_invalid", detail: "fallbackNumber is not an E.164 phone number" });
  });
});

describe("Retell", () => {
  it("unreachable (RETELL_BASE_URL pointing nowhere): the fallback number is dialed and the log says retell_unreachable", async () => {
    const to = uniqueNumber();
    await env.AGENTS.put(to, JSON.stringify({ retellAgentId: uniqueAgentId(), fallbackNumber: "+61390000000" }));
    const { status, text, logs } = await call({ RETELL_BASE_URL: "http://127.0.0.1:9" }, to);
    expect(status).toBe(200);
    expect(text).toContain("<Number>+61390000000</Number>");
    expect(voiceLine(logs)).toMatchObject({ outcome: "fallback_dialed", reason: "retell_unreachable", retellAttempts: 3 });
  });

  it("RETELL_API_KEY missing: the apology, no request to Retell, and a log line naming the secret", async () => {
    const to = uniqueNumber();
    await env.AGENTS.put(to, uniqueAgentId());
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    const { text, logs } = await call({ RETELL_API_KEY: "" }, to);
    expect(text).toContain(APOLOGY_MESSAGE);
    expect(fetchSpy).not.toHaveBeenCalled();
    expect(voiceLine(logs)).toMatchObject({ outcome: "retell_failed", reason: "retell_not_configured" });
    expect(logs).toContainEqual(expect.objectContaining({ event: "config.missing_secret", secret: "RETELL_API_KEY" }));
  });
});

describe("secrets and vars", () => {
  it("TWILIO_AUTH_TOKEN missing: 500 and a log line naming the secret", async () => {
    const { status, logs } = await call({ TWILIO_AUTH_TOKEN: "" });
    expect(status).toBe(500);
    expect(logs).toContainEqual(expect.objectContaining({ event: "config.missing_secret", secret: "TWILIO_AUTH_TOKEN" }));
  });

  it("RETELL_TIMEOUT_MS unusable: the default budget applies and the call connects", async () => {
    const to = uniqueNumber();
    await env.AGENTS.put(to, uniqueAgentId());
    const { text, logs } = await call({ RETELL_TIMEOUT_MS: "soon" }, to);
    expect(text).toMatch(/<Sip>sip:call_/);
    expect(voiceLine(logs)).toMatchObject({ outcome: "connected" });
  });
});
