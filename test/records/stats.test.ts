/** src/records/stats.ts through D1: the figures of a known data set, worked out by hand (test/stats-data.ts). */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { callStats } from "../../src/records/store.ts";
import { statsQuery } from "../../src/records/stats.ts";
import { parseWindow } from "../../src/records/window.ts";
import { insertCall } from "../records.ts";
import { EXPECTED_OUTBOUND_STATS, EXPECTED_STATS, STATS_ROWS, STATS_SINCE, STATS_UNTIL } from "../stats-data.ts";

const window = parseWindow({ since: STATS_SINCE, until: STATS_UNTIL }, Date.now(), 7);
if (!window.ok) throw new Error(window.message);
const { since, until } = window.window;

beforeAll(async () => {
  for (const row of STATS_ROWS) await insertCall(row);
});

describe("callStats on the known data set", () => {
  it("gives every agent's figures per day and for the whole window", async () => {
    expect(await callStats(env.DB, { since, until })).toEqual(EXPECTED_STATS);
  });

  it.each([
    ["the Retell agent id", "agent_alpha", ["agent_alpha"]],
    ["the KV key it was routed by", "+61 3 4151 0001", ["agent_alpha"]],
    ["a number with no agent", "+61399990000", ["+61399990000"]],
    ["an agent with no calls", "agent_nobody", []],
  ])("filters by %s", async (_name, agent, expected) => {
    const stats = await callStats(env.DB, { since, until, agent });
    expect(stats.map((s) => s.agent)).toEqual(expected);
  });

  it("gives only outbound calls with direction outbound, counted by who answered", async () => {
    expect(await callStats(env.DB, { since, until, direction: "outbound" })).toEqual([EXPECTED_OUTBOUND_STATS]);
  });

  it("gives every other call with direction inbound", async () => {
    const inbound = await callStats(env.DB, { since, until, direction: "inbound" });
    expect(inbound).toEqual(EXPECTED_STATS.filter((s) => s.agent !== EXPECTED_OUTBOUND_STATS.agent));
  });

  it("leaves out calls before the window", async () => {
    const [alpha] = await callStats(env.DB, { since, until, agent: "agent_alpha" });
    expect(alpha?.total.calls).toBe(7);
  });

  it("counts calls = connected + every failure", async () => {
    for (const { total } of await callStats(env.DB, { since, until })) {
      expect(total.connected + Object.values(total.failures).reduce((a, b) => a + b, 0)).toBe(total.calls);
    }
  });

  it("is one query, with its parameters bound rather than written into the SQL", () => {
    const query = statsQuery({ since, until, agent: "x' OR 1=1 --" });
    expect(query.params).toContain("x' OR 1=1 --");
    expect(query.sql).not.toContain("1=1");
  });
});
