/**
 * Placing calls is a permission of its own: CALLS_TOKEN (32 characters or more), never ADMIN_TOKEN; calls only
 * from the operator's own mapped numbers; an account-wide daily cap beside the per-number ones; destinations only
 * in the allowed countries, never premium-rate or non-geographic (satellite) numbers, never one of our own numbers.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ACCOUNT_LINE } from "../../src/line/account-calls.ts";
import { lineStub } from "../../src/line/address.ts";
import { utcDay } from "../../src/line/outbound-limits.ts";
import { uniqueAgentId, uniqueCaller, uniqueNumber, worker } from "../helpers.ts";
import { TEST_ADMIN_TOKEN, TEST_CALLS_TOKEN } from "../admin-token.ts";
import { withBindings } from "../records.ts";
import { callingNumber, createsFrom, placeRequest } from "../outbound.ts";

async function post(body: unknown, token?: string | null): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await worker(placeRequest(body, token));
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Calls the account has started today (UTC), from its one counting object. */
async function accountStartedToday(): Promise<number> {
  return runInDurableObject(lineStub(env, ACCOUNT_LINE), (_, state) => {
    const row = state.storage.sql.exec<{ started: number }>("SELECT started FROM account_days WHERE day = ?", utcDay(Date.now())).toArray()[0];
    return row?.started ?? 0;
  });
}

describe("the token that places calls", () => {
  it("refuses ADMIN_TOKEN: reading records does not place calls", async () => {
    const { from } = await callingNumber();
    const res = await post({ to: uniqueCaller(), from }, TEST_ADMIN_TOKEN);
    expect(res.status).toBe(401);
    expect(await createsFrom(from)).toHaveLength(0);
  });

  it("accepts CALLS_TOKEN", async () => {
    const { from } = await callingNumber();
    expect((await post({ to: uniqueCaller(), from }, TEST_CALLS_TOKEN)).status).toBe(201);
  });

  it("is off without CALLS_TOKEN: 404 saying so, nothing placed", async () => {
    const { from } = await callingNumber();
    const res = await withBindings(placeRequest({ to: uniqueCaller(), from }), { CALLS_TOKEN: "" });
    expect(res.status).toBe(404);
    expect(JSON.parse(res.text)).toMatchObject({ error: "calls_disabled" });
    expect(await createsFrom(from)).toHaveLength(0);
  });

  it.each(["a", "x".repeat(31)])("refuses every call while CALLS_TOKEN is %j, shorter than 32 characters, even when it matches", async (token) => {
    const { from } = await callingNumber();
    const res = await withBindings(placeRequest({ to: uniqueCaller(), from }, token), { CALLS_TOKEN: token });
    expect(res.status).toBe(500);
    expect(await createsFrom(from)).toHaveLength(0);
  });
});

describe("the calling number", () => {
  it("must have a mapping of its own even when agentId names the agent", async () => {
    const from = uniqueNumber();
    const agentId = `out-${uniqueAgentId()}`;
    await env.AGENTS.put(`agent:${agentId}`, JSON.stringify({ retellAgentId: uniqueAgentId() }));
    const res = await post({ to: uniqueCaller(), from, agentId });
    expect(res.status).toBe(400);
    expect(res.body.message).toContain("not one of this bridge's numbers");
    expect(await createsFrom(from)).toHaveLength(0);
  });

  it("may have another agent take the call with agentId when it is mapped", async () => {
    const { from } = await callingNumber();
    const agentId = `out-${uniqueAgentId()}`;
    await env.AGENTS.put(`agent:${agentId}`, JSON.stringify({ retellAgentId: uniqueAgentId() }));
    expect((await post({ to: uniqueCaller(), from, agentId })).status).toBe(201);
  });
});

describe("the account-wide daily cap", () => {
  it("counts the calls of every number together: limits 1 and 1, calls from A, A, B, C with room for 2 → 201, 429, 201, 429", async () => {
    const [a, b, c] = [await callingNumber(), await callingNumber(), await callingNumber()];
    const limits = { OUTBOUND_MAX_CONCURRENT: "1", OUTBOUND_DAILY_LIMIT: "1", OUTBOUND_ACCOUNT_DAILY_LIMIT: String((await accountStartedToday()) + 2) };
    const statuses: number[] = [];
    for (const line of [a, a, b, c]) statuses.push((await withBindings(placeRequest({ to: uniqueCaller(), from: line.from }), limits)).status);
    expect(statuses).toEqual([201, 429, 201, 429]);
    expect(await createsFrom(c.from)).toHaveLength(0);
  });

  it("says which limit was reached", async () => {
    const { from } = await callingNumber();
    const res = await withBindings(placeRequest({ to: uniqueCaller(), from }), { OUTBOUND_ACCOUNT_DAILY_LIMIT: String(await accountStartedToday()) });
    expect(res.status).toBe(429);
    expect(JSON.parse(res.text).message).toContain("OUTBOUND_ACCOUNT_DAILY_LIMIT");
  });

  it("does not count a call its number's own limit refused", async () => {
    const { from } = await callingNumber();
    const before = await accountStartedToday();
    expect((await withBindings(placeRequest({ to: uniqueCaller(), from }), { OUTBOUND_DAILY_LIMIT: "0" })).status).toBe(429);
    expect(await accountStartedToday()).toBe(before);
  });
});

describe("the destination", () => {
  it.each([
    ["in a country not allowed (Antigua, in +1)", "+12685551234", "OUTBOUND_ALLOWED_COUNTRIES"],
    ["in a country not allowed (New Zealand)", "+6421234567", "OUTBOUND_ALLOWED_COUNTRIES"],
    ["premium rate in an allowed country (US 900)", "+19005551234", "premium-rate"],
    ["premium rate in an allowed country (AU 1900)", "+611900123456", "premium-rate"],
    ["a satellite phone (+881)", "+8816123456789", "non-geographic"],
    ["a satellite phone (+870 Inmarsat)", "+870773123456", "non-geographic"],
  ])("is refused when %s: 400, nothing placed", async (_, to, says) => {
    const { from } = await callingNumber();
    const res = await post({ to, from });
    expect(res.status).toBe(400);
    expect(res.body.message).toContain(says);
    expect(await createsFrom(from)).toHaveLength(0);
  });

  it("defaults to the calling number's own country when OUTBOUND_ALLOWED_COUNTRIES is empty", async () => {
    const { from } = await callingNumber();
    const allowed = await withBindings(placeRequest({ to: uniqueNumber(), from }), { OUTBOUND_ALLOWED_COUNTRIES: "" });
    const refused = await withBindings(placeRequest({ to: uniqueCaller(), from }), { OUTBOUND_ALLOWED_COUNTRIES: "" });
    expect([allowed.status, refused.status]).toEqual([201, 400]);
  });

  it("refuses every call while OUTBOUND_ALLOWED_COUNTRIES is malformed", async () => {
    const { from } = await callingNumber();
    expect((await withBindings(placeRequest({ to: uniqueCaller(), from }), { OUTBOUND_ALLOWED_COUNTRIES: "AU;US" })).status).toBe(500);
    expect(await createsFrom(from)).toHaveLength(0);
  });

  it("is refused when it is one of the bridge's own numbers (a loop through the bridge)", async () => {
    const { from } = await callingNumber();
    const inbound = await callingNumber();
    const res = await post({ to: inbound.from, from });
    expect(res.status).toBe(400);
    expect(res.body.message).toContain("own numbers");
    expect(await createsFrom(from)).toHaveLength(0);
  });
});
