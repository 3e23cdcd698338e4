/** src/records/list.ts: GET /api/calls's query, cursors and pages, without Hono. */
import { describe, expect, it } from "vitest";
import { callPage, decodeCursor, DEFAULT_LIST_LIMIT, encodeCursor, listCallsQuery, parseListQuery, type CallRow } from "../../src/records/list.ts";

const NOW = Date.parse("2026-11-25T12:00:00Z");

describe("parseListQuery", () => {
  it("defaults to the newest 50 calls with no filter", () => {
    expect(parseListQuery({}, NOW)).toEqual({ ok: true, filter: { limit: DEFAULT_LIST_LIMIT } });
  });

  it("normalises phone numbers in from and to", () => {
    expect(parseListQuery({ from: "+1 415-555-0100", to: "client:alice" }, NOW)).toMatchObject({ filter: { from: "+14155550100", to: "client:alice" } });
  });

  it.each(["inbound", "outbound"])("reads direction %s", (direction) => {
    expect(parseListQuery({ direction }, NOW)).toEqual({ ok: true, filter: { limit: DEFAULT_LIST_LIMIT, direction } });
  });

  it("refuses a direction that is neither inbound nor outbound", () => {
    expect(parseListQuery({ direction: "outbound-api" }, NOW)).toEqual({ ok: false, message: "direction must be one of inbound, outbound" });
  });

  it("reads since and until into a window", () => {
    expect(parseListQuery({ since: "2026-11-20" }, NOW)).toMatchObject({ filter: { since: Date.parse("2026-11-20T00:00:00Z"), until: NOW + 1 } });
  });
});

describe("cursors", () => {
  it.each([
    { createdAt: NOW, callSid: "CA0123" },
    { createdAt: 0, callSid: "ünïcode/+=" },
  ])("round-trip %j", (cursor) => {
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
  });

  it.each(["", "!!!", btoa("[1]"), btoa('["1","CA"]'), btoa('{"createdAt":1}')])("refuse %j", (text) => {
    expect(decodeCursor(text)).toBeNull();
  });
});

describe("listCallsQuery", () => {
  it("asks for one row more than the limit, to know whether a next page exists", () => {
    expect(listCallsQuery({ limit: 10 }).sql).toMatch(/LIMIT 11$/);
  });

  it("binds every filter value as a parameter", () => {
    const query = listCallsQuery({ limit: 5, agent: "agent_x", from: "+14155550100", status: "busy", cursor: { createdAt: 7, callSid: "CA1" } });
    expect(query.params).toEqual(["agent_x", "agent_x", "+14155550100", "busy", 7, 7, "CA1"]);
    expect(query.sql.match(/\?/g)).toHaveLength(7);
  });
});

describe("listCallsQuery by direction", () => {
  it("binds the direction as a parameter", () => {
    const query = listCallsQuery({ limit: 5, direction: "outbound" });
    expect(query.sql).toContain("WHERE direction = ?");
    expect(query.params).toEqual(["outbound"]);
  });
});

describe("callPage", () => {
  const row = (n: number): CallRow => ({ callSid: `CA${n}`, createdAt: n, callSuccessful: n % 2 } as unknown as CallRow);

  it("gives a cursor after the last call shown when there are more", () => {
    const page = callPage([row(3), row(2), row(1)], 2);
    expect(page.calls.map((c) => c.callSid)).toEqual(["CA3", "CA2"]);
    expect(decodeCursor(page.nextCursor ?? "")).toEqual({ createdAt: 2, callSid: "CA2" });
  });

  it("gives no cursor on the last page", () => {
    expect(callPage([row(1)], 2).nextCursor).toBeNull();
  });

  it("turns call_successful 0/1 into a boolean", () => {
    expect(callPage([row(1), row(2)], 2).calls.map((c) => c.callSuccessful)).toEqual([true, false]);
  });
});
