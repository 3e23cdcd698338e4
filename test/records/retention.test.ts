/** Retention: the scheduled handler (the daily cron) deletes records older than RETENTION_DAYS and logs how many. */
import { env } from "cloudflare:workers";
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import entry from "../../src/index.ts";
import type { Bindings } from "../../src/env.ts";
import { DEFAULT_RETENTION_DAYS, retentionDays } from "../../src/records/retention.ts";
import { insertCall, readCall } from "../records.ts";

const DAY = 86_400_000;
const NOW = Date.parse("2026-11-25T03:17:00Z");

/** Inserts one record per age (days before NOW) and returns their CallSids. */
async function recordsAged(label: string, ages: number[]): Promise<string[]> {
  const sids = ages.map((age, i) => `CA${label}${String(i).padStart(32 - label.length, "0")}`);
  for (const [i, age] of ages.entries()) await insertCall({ call_sid: sids[i] as string, created_at: NOW - age * DAY });
  return sids;
}

async function runCron(overrides: Partial<Bindings> = {}): Promise<void> {
  const ctx = createExecutionContext();
  await entry.scheduled(createScheduledController({ scheduledTime: NOW, cron: "17 3 * * *" }), { ...(env as Bindings), ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
}

function retentionLine(spy: { mock: { calls: unknown[][] } }): Record<string, unknown> | undefined {
  return spy.mock.calls.map((c) => JSON.parse(String(c[0])) as Record<string, unknown>).find((l) => l.event === "calls.retention");
}

afterEach(() => vi.restoreAllMocks());

describe("the retention cron", () => {
  it("deletes records older than RETENTION_DAYS, keeps the rest, and logs how many it deleted", async () => {
    const [old1, old2, recent, today] = await recordsAged("a", [400, 91, 89, 0]);
    const info = vi.spyOn(console, "log");
    await runCron();
    expect(await readCall(old1 as string)).toBeNull();
    expect(await readCall(old2 as string)).toBeNull();
    expect(await readCall(recent as string)).not.toBeNull();
    expect(await readCall(today as string)).not.toBeNull();
    expect(retentionLine(info)).toMatchObject({ level: "info", deleted: 2, retentionDays: 90, cutoff: new Date(NOW - 90 * DAY).toISOString() });
  });

  it("uses RETENTION_DAYS when it is set", async () => {
    const [older, newer] = await recordsAged("b", [31, 29]);
    await runCron({ RETENTION_DAYS: "30" });
    expect(await readCall(older as string)).toBeNull();
    expect(await readCall(newer as string)).not.toBeNull();
  });

  it("logs 0 when there is nothing to delete", async () => {
    const info = vi.spyOn(console, "log");
    await runCron({ RETENTION_DAYS: "100000" });
    expect(retentionLine(info)).toMatchObject({ deleted: 0 });
  });
});

describe("retentionDays", () => {
  it.each([
    ["90", 90],
    [" 7 ", 7],
    ["1", 1],
    ["", DEFAULT_RETENTION_DAYS],
    [undefined, DEFAULT_RETENTION_DAYS],
    ["0", DEFAULT_RETENTION_DAYS],
    ["-5", DEFAULT_RETENTION_DAYS],
    ["30d", DEFAULT_RETENTION_DAYS],
    ["1.5", DEFAULT_RETENTION_DAYS],
  ])("reads %j as %i days", (value, days) => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    expect(retentionDays({ RETENTION_DAYS: value as string })).toBe(days);
  });
});
