/** GET /api/calls and GET /api/stats: bearer-token protected, off without ADMIN_TOKEN. */
import { beforeAll, describe, expect, it } from "vitest";
import { CALL_COLUMNS, MAX_LIST_LIMIT, type CallPage, type CallRecord } from "../../src/records/list.ts";
import { ALL_AGENTS, type AgentStats, type Figures } from "../../src/records/stats.ts";
import { worker } from "../helpers.ts";
import { TEST_ADMIN_TOKEN } from "../admin-token.ts";
import { adminRequest, insertCall, withBindings } from "../records.ts";
import { EXPECTED_OUTBOUND_STATS, EXPECTED_STATS, STATS_ROWS, STATS_SINCE, STATS_UNTIL } from "../stats-data.ts";

const T0 = Date.parse("2026-11-21T08:00:00Z");
/** Twelve calls for agent_list, a minute apart, newest last; every third one busy, every fourth from another caller. */
const LIST_ROWS = Array.from({ length: 12 }, (_, i) => ({
  call_sid: `CA${"l".repeat(2)}${String(i).padStart(30, "0")}`,
  created_at: T0 + i * 60_000,
  agent_key: "+61341519999",
  retell_agent_id: "agent_list",
  from_number: i % 4 === 0 ? "+14155550777" : "+14155550100",
  to_number: "+61341519999",
  outcome: i % 3 === 0 ? "fallback_dialed" : "connected",
  twilio_status: i % 3 === 0 ? "busy" : "completed",
  call_successful: i % 2,
}));

beforeAll(async () => {
  for (const row of [...STATS_ROWS, ...LIST_ROWS]) await insertCall(row);
});

async function getJson<T>(pathAndQuery: string): Promise<{ status: number; body: T }> {
  const res = await worker(adminRequest(pathAndQuery));
  return { status: res.status, body: (await res.json()) as T };
}

describe("without ADMIN_TOKEN configured", () => {
  it.each(["/api/calls", "/api/stats"])("%s answers 404 with a JSON body saying the routes are off", async (path) => {
    const res = await withBindings(adminRequest(path), { ADMIN_TOKEN: "" });
    expect(res.status).toBe(404);
    expect(JSON.parse(res.text)).toEqual({ error: "admin_disabled", message: expect.stringContaining("admin routes are off") });
  });
});

describe("with ADMIN_TOKEN configured", () => {
  it.each([
    ["no Authorization header", null],
    ["the wrong token", "not-the-admin-token"],
    ["the token with a character more", `${TEST_ADMIN_TOKEN}x`],
    ["the token with a character less", TEST_ADMIN_TOKEN.slice(0, -1)],
    ["an empty token", ""],
  ])("refuses %s with 401", async (_name, token) => {
    const res = await worker(adminRequest("/api/calls", token));
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "unauthorized", message: "Unauthorized" });
  });

  it.each([
    ["Basic credentials", `Basic ${btoa("admin:" + TEST_ADMIN_TOKEN)}`],
    ["the token without a scheme", TEST_ADMIN_TOKEN],
    ["the token with no space after the scheme", `Bearer${TEST_ADMIN_TOKEN}`],
    ["another scheme", `Token ${TEST_ADMIN_TOKEN}`],
    ["a token with characters no bearer token has", "Bearer a b c"],
    ["the scheme alone", "Bearer"],
  ])("refuses %s with the same 401 and challenge", async (_name, header) => {
    const res = await worker(new Request("https://bridge.example.com/api/stats", { headers: { Authorization: header } }));
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toBe('Bearer realm="admin"');
    expect(await res.json()).toEqual({ error: "unauthorized", message: "Unauthorized" });
  });

  it("answers with the token", async () => {
    expect((await worker(adminRequest("/api/calls"))).status).toBe(200);
  });

  it.each(["bearer", "BEARER", "BeArEr"])("answers with the token after the scheme written %s", async (scheme) => {
    const res = await worker(new Request("https://bridge.example.com/api/stats", { headers: { Authorization: `${scheme} ${TEST_ADMIN_TOKEN}` } }));
    expect(res.status).toBe(200);
  });
});

describe("with an ADMIN_TOKEN outside the bearer-token alphabet", () => {
  /** Tokens an operator may well set: `!`, `#`, a space, and all of them with other punctuation. */
  const TOKENS = ["admin!token", "admin#token", "admin token", 'p@ss w#rd!"(),;<>?[]{}'];
  const request = (token: string) => new Request("https://bridge.example.com/api/stats", { headers: { Authorization: `Bearer ${token}` } });

  it.each(TOKENS)("answers with the token %j", async (token) => {
    expect((await withBindings(request(token), { ADMIN_TOKEN: token })).status).toBe(200);
  });

  it.each(TOKENS)("refuses another token when the token is %j", async (token) => {
    expect((await withBindings(request(`${token}x`), { ADMIN_TOKEN: token })).status).toBe(401);
    expect((await withBindings(request(token.replace(/[!# ]/, "_")), { ADMIN_TOKEN: token })).status).toBe(401);
  });
});

describe("with an ADMIN_TOKEN that could never match", () => {
  it.each([" admin_token", "admin_token ", "admin\ttoken", "admin_tökén"])("refuses every request while ADMIN_TOKEN is %j (500, logged), even one carrying it", async (token) => {
    const request = new Request("https://bridge.example.com/api/stats", { headers: { Authorization: `Bearer ${token}` } });
    expect((await withBindings(request, { ADMIN_TOKEN: token })).status).toBe(500);
  });
});

describe("GET /api/calls", () => {
  it("lists an agent's calls newest first, as camelCase records", async () => {
    const { body } = await getJson<CallPage>("/api/calls?agent=agent_list&limit=3");
    expect(body.calls.map((c) => c.callSid)).toEqual([LIST_ROWS[11], LIST_ROWS[10], LIST_ROWS[9]].map((r) => r?.call_sid));
    expect(body.calls[0]).toMatchObject({ agentKey: "+61341519999", retellAgentId: "agent_list", from: "+14155550100", callSuccessful: true, createdAt: T0 + 11 * 60_000 });
  });

  it.each([
    ["outbound", 7],
    ["inbound", STATS_ROWS.length + 12 - 7],
  ])("lists only %s calls with direction=%s", async (direction, count) => {
    const { body } = await getJson<CallPage>(`/api/calls?direction=${direction}&limit=${MAX_LIST_LIMIT}`);
    expect(body.calls).toHaveLength(count);
    expect(new Set(body.calls.map((c) => c.direction))).toEqual(new Set([direction]));
  });

  it("pages through every call exactly once with the cursor", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const { body }: { body: CallPage } = await getJson<CallPage>(`/api/calls?agent=agent_list&limit=5${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...body.calls.map((c) => c.callSid));
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(LIST_ROWS.map((r) => r.call_sid).reverse());
  });

  it.each([
    ["the KV key", "agent=%2B61341519999", 12],
    ["the caller", "agent=agent_list&from=%2B14155550777", 3],
    ["the caller written with spaces", "agent=agent_list&from=%2B1%20415%20555%200777", 3],
    ["the called number", "to=%2B61341519999", 12],
    ["the Twilio status", "agent=agent_list&status=busy", 4],
    ["the outcome", "agent=agent_list&outcome=fallback_dialed", 4],
    ["a time window", "agent=agent_list&since=2026-11-21T08:02:00Z&until=2026-11-21T08:05:00Z", 3],
  ])("filters by %s", async (_name, query, count) => {
    const { body } = await getJson<CallPage>(`/api/calls?${query}&limit=${MAX_LIST_LIMIT}`);
    expect(body.calls).toHaveLength(count);
  });

  it.each([
    ["limit=0"],
    [`limit=${MAX_LIST_LIMIT + 1}`],
    ["limit=ten"],
    ["status=exploded"],
    ["outcome=maybe"],
    ["since=last-tuesday"],
    ["since=2026-11-22&until=2026-11-21"],
    ["cursor=bm9wZQ"],
    ["direction=sideways"],
  ])("answers 400 with what to fix to %s", async (query) => {
    const { status, body } = await getJson<{ error: string; message: string }>(`/api/calls?${query}`);
    expect(status).toBe(400);
    expect(body).toEqual({ error: "bad_request", message: expect.any(String) });
  });

  it("returns every column of the record", async () => {
    const { body } = await getJson<CallPage>("/api/calls?agent=agent_list&limit=1");
    const record: CallRecord | undefined = body.calls[0];
    expect(Object.keys(record ?? {}).sort()).toEqual(Object.keys(CALL_COLUMNS).sort());
    expect(record?.transfers).toBeNull();
  });
});

describe("GET /api/stats", () => {
  it("answers the known data set's figures with the window it covered", async () => {
    const { status, body } = await getJson<{ since: string; until: string; agents: unknown }>(`/api/stats?since=${STATS_SINCE}&until=${STATS_UNTIL}`);
    expect(status).toBe(200);
    expect(body).toEqual({ since: "2026-11-18T00:00:00.000Z", until: "2026-11-20T00:00:00.000Z", agents: EXPECTED_STATS, deliveries: { pending: 0, delivered: 0, failed: 0 } });
  });

  it("filters by agent", async () => {
    const { body } = await getJson<{ agents: Array<{ agent: string }> }>(`/api/stats?since=${STATS_SINCE}&until=${STATS_UNTIL}&agent=agent_twenty`);
    expect(body.agents.map((a) => a.agent)).toEqual(["agent_twenty"]);
  });

  it("gives outbound calls alone with direction=outbound", async () => {
    const { body } = await getJson<{ agents: unknown }>(`/api/stats?since=${STATS_SINCE}&until=${STATS_UNTIL}&direction=outbound`);
    expect(body.agents).toEqual([EXPECTED_OUTBOUND_STATS]);
  });

  it("answers 400 to a direction it does not know", async () => {
    expect((await getJson("/api/stats?direction=outbound-api")).status).toBe(400);
  });

  it("covers the last 7 days without since", async () => {
    const { body } = await getJson<{ since: string; until: string }>("/api/stats");
    expect(Date.parse(body.until) - Date.parse(body.since)).toBeCloseTo(7 * 86_400_000, -3);
  });

  it("answers 400 to a since it cannot read", async () => {
    expect((await getJson("/api/stats?since=yesterday")).status).toBe(400);
  });

  it("with group=all counts every agent's calls in one entry, the per-agent counts summed", async () => {
    const { body } = await getJson<{ agents: AgentStats[] }>(`/api/stats?since=${STATS_SINCE}&until=${STATS_UNTIL}&group=all`);
    expect(body.agents.map((a) => a.agent)).toEqual([ALL_AGENTS]);
    const [all] = body.agents as [AgentStats];
    const sum = (pick: (f: Figures) => number) => EXPECTED_STATS.reduce((n, a) => n + pick(a.total), 0);
    expect([all.total.calls, all.total.connected, all.total.fallbacks, all.total.answered, all.total.transfers.made, all.total.outbound.human]).toEqual([
      sum((f) => f.calls), sum((f) => f.connected), sum((f) => f.fallbacks), sum((f) => f.answered), sum((f) => f.transfers.made), sum((f) => f.outbound.human),
    ]);
    const failures: Record<string, number> = {};
    for (const a of EXPECTED_STATS) for (const [reason, n] of Object.entries(a.total.failures)) failures[reason] = (failures[reason] ?? 0) + n;
    expect(all.total.failures).toEqual(failures);
    expect(all.days.map((d) => [d.day, d.calls])).toEqual([["2026-11-18", 4], ["2026-11-19", sum((f) => f.calls) - 4]]);
  });

  it("with group=all takes the percentiles over all the calls, not per agent", async () => {
    const { body } = await getJson<{ agents: AgentStats[] }>(`/api/stats?since=${STATS_SINCE}&until=${STATS_UNTIL}&group=all`);
    const inWindow = STATS_ROWS.filter((r) => r.created_at >= Date.parse(STATS_SINCE) && r.created_at < Date.parse("2026-11-20"));
    const registrations = inWindow.map((r) => r.retell_register_ms).filter((v): v is number => typeof v === "number");
    expect(body.agents[0]?.total.retellRegisterMs).toEqual({ p50: nearestRank(registrations, 50), p95: nearestRank(registrations, 95) });
  });

  it("answers 400 to a group it does not know", async () => {
    expect((await getJson("/api/stats?group=day")).status).toBe(400);
  });
});

/** The nearest-rank percentile, as the definitions in src/records/stats.ts state it: the value at rank ceil(p/100 × n). */
function nearestRank(values: number[], p: number): number | undefined {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil((p / 100) * sorted.length) - 1];
}
