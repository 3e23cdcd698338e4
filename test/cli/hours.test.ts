/**
 * `npm run agents -- hours` and what `show` says about opening hours: the real local store for the format the
 * Worker reads, a recording fake wrangler for the command's logic and its refusals.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAgentValue } from "../../src/agents/schema.ts";
import { cleanEnv, fakeWrangler, openLocalKv, removeTempDirs, runCli, tempDir } from "./helpers.ts";

afterAll(removeTempDirs);

const MAPPED = "+61341517921";
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function fakeStore(kv: Record<string, string> = {}) {
  const fake = fakeWrangler({ kv });
  return { env: cleanEnv(fake.env), kv: () => fake.state().kv as Record<string, string>, calls: fake.calls };
}

const storedSchedule = (kv: Record<string, string>, key = MAPPED) => {
  const parsed = parseAgentValue(kv[key] as string);
  return parsed.ok ? parsed.agent.schedule : parsed.detail;
};

describe("hours against the real local store", () => {
  const dir = tempDir("hours-real");
  let store: Awaited<ReturnType<typeof openLocalKv>>;
  beforeAll(async () => {
    store = await openLocalKv(dir);
  });
  afterAll(() => store.dispose());

  it("writes the schedule into the mapping, as the Worker reads it, keeping its other fields", async () => {
    await store.seed({ [MAPPED]: '{"retellAgentId":"agent_front","fallbackNumber":"+61400000000"}' });
    const result = await runCli("agents", ["hours", MAPPED, "--tz", "Australia/Melbourne", "--mon", "09:00-12:30,13:30-17:00", "--closed", "2026-12-25", "--after-hours", "say:We open at nine.", "--local", "--persist-to", dir]);
    expect(result.code, result.output).toBe(0);
    const { [MAPPED]: raw } = await store.read([MAPPED]);
    expect(parseAgentValue(raw as string)).toEqual({
      ok: true,
      agent: {
        retellAgentId: "agent_front",
        fallbackNumber: "+61400000000",
        schedule: { timeZone: "Australia/Melbourne", hours: { mon: ["09:00-12:30", "13:30-17:00"] }, closed: ["2026-12-25"], afterHours: { say: "We open at nine." } },
      },
    });
  });
});

describe.concurrent("hours command logic (fake wrangler store)", () => {
  it("takes each day's ranges from repeated flags or commas, dated closures and special hours", async () => {
    const store = fakeStore({ [MAPPED]: "agent_front" });
    const result = await runCli("agents", ["hours", MAPPED, "--tz", "America/New_York", "--mon", "09:00-12:00", "--mon", "13:00-17:00", "--fri", "22:00-02:00", "--closed", "2026-11-26,2026-11-27", "--open", "2026-12-24=09:00-12:00", "--local"], store.env);
    expect(result.code, result.output).toBe(0);
    expect(storedSchedule(store.kv())).toEqual({
      timeZone: "America/New_York",
      hours: { mon: ["09:00-12:00", "13:00-17:00"], fri: ["22:00-02:00"] },
      closed: ["2026-11-26", "2026-11-27"],
      open: { "2026-12-24": ["09:00-12:00"] },
    });
    expect(result.stdout).toMatch(/fri:\s+22:00-02:00/);
    expect(result.stdout).toMatch(/now:\s+(open|closed) \(\w{3} \d{4}-\d{2}-\d{2} \d{2}:\d{2} in America\/New_York\)/);
  });

  it.each([
    ["another agent", "agent:night_desk", { agent: "night_desk" }],
    ["a number", "number:+61 3 9000 0000", { number: "+61390000000" }],
    ["a sentence", "say:We are closed: call back at 9.", { say: "We are closed: call back at 9." }],
    ["a voicemail box", "voicemail:We are closed: leave a message.", { voicemail: { greeting: "We are closed: leave a message.", maxSeconds: 120 } }],
  ])("sends after-hours calls to %s", async (_name, flag, target) => {
    const store = fakeStore({ [MAPPED]: "agent_front", "agent:night_desk": "agent_night" });
    const result = await runCli("agents", ["hours", MAPPED, "--tz", "UTC", "--after-hours", flag, "--local"], store.env);
    expect(result.code, result.output).toBe(0);
    expect(storedSchedule(store.kv())).toEqual({ timeZone: "UTC", hours: {}, afterHours: target });
  });

  it("warns when the after-hours agent has no mapping yet", async () => {
    const store = fakeStore({ [MAPPED]: "agent_front" });
    const result = await runCli("agents", ["hours", MAPPED, "--tz", "UTC", "--after-hours", "agent:nobody", "--local"], store.env);
    expect(result.code, result.output).toBe(0);
    expect(result.stderr).toContain('agent:nobody has no mapping yet: after-hours callers hear "not in service"');
  });

  it("--clear removes the schedule, leaving the rest", async () => {
    const store = fakeStore({ [MAPPED]: '{"retellAgentId":"agent_front","name":"Desk","schedule":{"timeZone":"UTC","hours":{}}}' });
    const result = await runCli("agents", ["hours", MAPPED, "--clear", "--local"], store.env);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toContain("open at all hours");
    expect(store.kv()[MAPPED]).toBe('{"retellAgentId":"agent_front","name":"Desk"}');
  });

  it("of a number with no mapping exits 1 and writes nothing", async () => {
    const store = fakeStore();
    const result = await runCli("agents", ["hours", MAPPED, "--tz", "UTC", "--local"], store.env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${MAPPED} has no mapping`);
    expect(store.calls().map((c) => c.slice(0, 3).join(" "))).toEqual(["kv bulk get"]);
  });

  it("add keeps the opening hours and caller rules of the mapping it updates", async () => {
    const value = '{"retellAgentId":"agent_old1","schedule":{"timeZone":"UTC","hours":{}},"blockedCallers":["anonymous"]}';
    const store = fakeStore({ [MAPPED]: value });
    const result = await runCli("agents", ["add", MAPPED, "agent_new2", "--local"], store.env);
    expect(result.code, result.output).toBe(0);
    expect(result.stderr).toContain("Kept its schedule, blockedCallers");
    expect(JSON.parse(store.kv()[MAPPED] as string)).toEqual({ retellAgentId: "agent_new2", schedule: { timeZone: "UTC", hours: {} }, blockedCallers: ["anonymous"] });
  });

  it("export to JSON and import carry opening hours and caller lists unchanged", async () => {
    const value = '{"retellAgentId":"agent_front","schedule":{"timeZone":"UTC","hours":{"mon":["09:00-17:00"]},"afterHours":{"agent":"night"}},"blockedCallers":["+1900*"],"allowedCallers":["anonymous"]}';
    const source = fakeStore({ [MAPPED]: value });
    const file = `${tempDir("json")}/backup.json`;
    expect((await runCli("agents", ["export", file, "--local"], source.env)).code).toBe(0);
    const target = fakeStore();
    const imported = await runCli("agents", ["import", file, "--local"], target.env);
    expect(imported.code, imported.output).toBe(0);
    expect(target.kv()[MAPPED]).toBe(value);
  });

  it("export to CSV refuses a mapping with opening hours, which only JSON can hold", async () => {
    const store = fakeStore({ [MAPPED]: '{"retellAgentId":"agent_front","schedule":{"timeZone":"UTC","hours":{}}}' });
    const result = await runCli("agents", ["export", `${tempDir("csv")}/out.csv`, "--local"], store.env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`CSV cannot hold metadata, schedule, blockedCallers, allowedCallers, transfers, transferTimeoutSeconds, transferCallerId, callHook, blockUnverified, maxCallSeconds, announce, maxConcurrentCalls, holdMessage, holdMusicUrl, maxHoldSeconds, voicemail (set on ${MAPPED})`);
  });
});

describe.concurrent("show: open now, and when that changes", () => {
  it("says a number open at every hour never closes", async () => {
    const schedule = { timeZone: "UTC", hours: Object.fromEntries(DAYS.map((d) => [d, ["00:00-24:00"]])) };
    const store = fakeStore({ [MAPPED]: JSON.stringify({ retellAgentId: "agent_front", schedule }) });
    const result = await runCli("agents", ["show", MAPPED, "--local"], store.env);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toMatch(/now:\s+open \(.* in UTC\), at all hours/);
  });

  it("says a number closed today opens when its next open day starts", async () => {
    // Open all day every day, but closed yesterday, today and tomorrow (UTC): it opens the day after at 00:00.
    // "Today" is the day the command ran on: a run that UTC midnight overtook runs again.
    let today: number;
    let result: Awaited<ReturnType<typeof runCli>>;
    const day = (offset: number) => new Date((today + offset) * 86_400_000).toISOString().slice(0, 10);
    do {
      today = Math.floor(Date.now() / 86_400_000);
      const schedule = { timeZone: "UTC", hours: Object.fromEntries(DAYS.map((d) => [d, ["00:00-24:00"]])), closed: [day(-1), day(0), day(1)] };
      const store = fakeStore({ [MAPPED]: JSON.stringify({ retellAgentId: "agent_front", schedule, allowedCallers: ["+61412345678"] }) });
      result = await runCli("agents", ["show", MAPPED, "--local"], store.env);
    } while (Math.floor(Date.now() / 86_400_000) !== today);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`now:\\s+closed \\(.* in UTC\\); opens \\w{3} ${day(2)} 00:00`));
    expect(result.stdout).toMatch(/allowed only:\s+\+61412345678/);
    expect(result.stdout).toMatch(/after hours:\s+the closed message, then hang up/);
  });

  it("says a number without hours is open at all hours", async () => {
    const store = fakeStore({ [MAPPED]: "agent_front" });
    const result = await runCli("agents", ["show", MAPPED, "--local"], store.env);
    expect(result.stdout).toMatch(/hours:\s+none: open at all hours/);
  });
});

describe.concurrent("hours: bad input is a clear error and nothing is read or written", () => {
  it.each([
    ["an unknown time zone", ["--tz", "Mars/Olympus_Mons"], '--tz: schedule.timeZone "Mars/Olympus_Mons" is not an IANA time zone'],
    ["no time zone", ["--mon", "09:00-17:00"], "--tz: is missing"],
    ["a range without minutes", ["--tz", "UTC", "--mon", "9-17"], '--mon: schedule.hours.mon[0] "9-17" is not a range HH:MM-HH:MM'],
    ["a date that does not exist", ["--tz", "UTC", "--closed", "2026-02-30"], '--closed: schedule.closed[0] "2026-02-30" is not a date'],
    ["special hours without a date", ["--tz", "UTC", "--open", "09:00-12:00"], '--open: "09:00-12:00" is not <date>=<ranges>'],
    ["an after-hours target of an unknown kind", ["--tz", "UTC", "--after-hours", "email:x"], '--after-hours: "email:x" is not agent:<id>, number:<e164>, say:<text> or voicemail:<greeting>'],
    ["an after-hours number that is this number", ["--tz", "UTC", "--after-hours", `number:${MAPPED}`], "is this number itself: calls would loop"],
    ["an after-hours agent id that cannot be a route id", ["--tz", "UTC", "--after-hours", "agent:night desk"], '--after-hours: schedule.afterHours.agent "night desk" is not a route agent id'],
    ["--clear with schedule flags", ["--clear", "--tz", "UTC"], "--clear takes no other schedule flag"],
    ["an unknown flag", ["--tz", "UTC", "--monday", "09:00-17:00"], "Unknown flag --monday"],
  ])("rejects %s (exit 2)", async (_name, flags, message) => {
    const fake = fakeWrangler();
    const result = await runCli("agents", ["hours", MAPPED, ...flags, "--local"], cleanEnv(fake.env));
    expect(result.code, result.output).toBe(2);
    expect(result.stderr).toContain(message);
    expect(fake.calls()).toEqual([]);
  });
});
