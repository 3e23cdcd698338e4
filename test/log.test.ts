import { afterEach, describe, expect, it, vi } from "vitest";
import { log, type LogLevel } from "../src/log.ts";

afterEach(() => vi.restoreAllMocks());

/** Every line written to the console while `run` runs, per console method. */
function capture(run: () => void): Record<"log" | "warn" | "error", Record<string, unknown>[]> {
  const lines = { log: [] as Record<string, unknown>[], warn: [] as Record<string, unknown>[], error: [] as Record<string, unknown>[] };
  for (const method of ["log", "warn", "error"] as const) {
    vi.spyOn(console, method).mockImplementation((line: string) => void lines[method].push(JSON.parse(line) as Record<string, unknown>));
  }
  run();
  return lines;
}

describe("log", () => {
  it.each<[LogLevel, "log" | "warn" | "error"]>([
    ["info", "log"],
    ["warn", "warn"],
    ["error", "error"],
  ])("writes a %s line as one JSON object to console.%s, level and event first", (level, method) => {
    const lines = capture(() => log(level, "twilio.voice", { callSid: "CA1" }));
    expect(lines[method]).toEqual([{ level, event: "twilio.voice", callSid: "CA1" }]);
    expect(Object.keys(lines[method][0] ?? {})).toEqual(["level", "event", "callSid"]);
  });

  it("keeps the code's event name when a field is named event", () => {
    const lines = capture(() => log("info", "retell.event", { event: "twilio.signature_rejected", callId: "call_1" }));
    expect(lines.log).toEqual([{ level: "info", event: "retell.event", callId: "call_1" }]);
  });

  it("keeps the code's level, and its console method, when a field is named level", () => {
    const lines = capture(() => log("info", "retell.event", { level: "error" }));
    expect(lines).toEqual({ log: [{ level: "info", event: "retell.event" }], warn: [], error: [] });
  });
});
