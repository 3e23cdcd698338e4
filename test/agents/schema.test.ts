import { describe, expect, it } from "vitest";
import { parseAgentValue, serializeAgentConfig } from "../../src/agents/schema.ts";

describe("parseAgentValue", () => {
  it("reads a bare Retell agent id", () => {
    expect(parseAgentValue("agent_abc123")).toEqual({ ok: true, agent: { retellAgentId: "agent_abc123" } });
  });

  /** Retell's current shape, its older 32-character one (its API reference's example), and any id in the alphabet. */
  const RETELL_IDS = [
    "agent_abc123",
    "oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD",
    "agent_front_desk_2",
    "agent-front-desk",
    "x",
    "A".repeat(128),
  ];

  it.each(RETELL_IDS)("accepts %s as a bare value", (id) => {
    expect(parseAgentValue(id)).toEqual({ ok: true, agent: { retellAgentId: id } });
  });

  it.each(RETELL_IDS)("accepts %s as retellAgentId", (id) => {
    expect(parseAgentValue(JSON.stringify({ retellAgentId: id }))).toEqual({ ok: true, agent: { retellAgentId: id } });
  });

  const CHARACTERS = "has characters a Retell agent id never has: it is letters, digits, _ and - only";
  const PHONE = "looks like a phone number, not a Retell agent id";
  /** Values that cannot be Retell ids, and what the message says about each after the field's name. */
  const NOT_IDS: [string, string][] = [
    ["agent abc", CHARACTERS],
    ["agent_a+b", CHARACTERS],
    ["agent:front", CHARACTERS],
    ["agents/agent_a", CHARACTERS],
    ["A".repeat(129), "is longer than the 128 characters of a Retell agent id"],
    ["+61341517921", PHONE],
    ["+61 3 4151-7921", PHONE],
    ["61341517921", PHONE],
    ["0412-345-678", PHONE],
    ["(03) 4151.7921", PHONE],
    ["___", "has no letter, which every Retell agent id has"],
  ];

  it.each(NOT_IDS)("refuses %j as a bare value, naming retellAgentId", (value, problem) => {
    expect(parseAgentValue(value)).toEqual({ ok: false, reason: "agent_config_invalid", detail: `value is not a JSON object, and as a bare retellAgentId it ${problem}` });
  });

  it.each(NOT_IDS)("refuses %j as retellAgentId, naming the field", (value, problem) => {
    expect(parseAgentValue(JSON.stringify({ retellAgentId: value }))).toEqual({ ok: false, reason: "agent_config_invalid", detail: `retellAgentId ${problem}` });
  });

  it.each([
    ["{}", "agent_missing_retell_id"],
    ['{"name":"Front desk"}', "agent_missing_retell_id"],
    ['{"retellAgentId":""}', "agent_missing_retell_id"],
  ])("reports %s as %s", (value, reason) => {
    expect(parseAgentValue(value)).toMatchObject({ ok: false, reason });
  });

  it.each([
    ["not JSON", "{retellAgentId: agent_x}"],
    ["not an agent id", "hello there"],
    ["a JSON array", "[1,2]"],
    ["an id that is not a string", '{"retellAgentId":42}'],
    ["a non-integer version", '{"retellAgentId":"agent_a","retellAgentVersion":1.5}'],
    ["a fallback that is not a number", '{"retellAgentId":"agent_a","fallbackNumber":"reception"}'],
    ["a non-string dynamic variable", '{"retellAgentId":"agent_a","dynamicVariables":{"n":1}}'],
    ["metadata that is not an object", '{"retellAgentId":"agent_a","metadata":"x"}'],
    ["an unknown field", '{"retellAgentId":"agent_a","fallbacknumber":"+61390000000"}'],
  ])("reports %s as agent_config_invalid", (_name, value) => {
    expect(parseAgentValue(value)).toMatchObject({ ok: false, reason: "agent_config_invalid" });
  });
});

describe("parseAgentValue with routing rules", () => {
  it("reads a schedule and caller lists, normalised", () => {
    const value = JSON.stringify({
      retellAgentId: "agent_a",
      schedule: { timeZone: "Australia/Melbourne", hours: { mon: ["09:00-17:00"] }, afterHours: { agent: "night_desk" } },
      blockedCallers: ["+1 900*", "Anonymous"],
      allowedCallers: ["+61 412 345 678"],
    });
    expect(parseAgentValue(value)).toEqual({
      ok: true,
      agent: {
        retellAgentId: "agent_a",
        schedule: { timeZone: "Australia/Melbourne", hours: { mon: ["09:00-17:00"] }, afterHours: { agent: "night_desk" } },
        blockedCallers: ["+1900*", "anonymous"],
        allowedCallers: ["+61412345678"],
      },
    });
  });

  it.each([
    ["an unknown time zone", { schedule: { timeZone: "Mars/Base", hours: {} } }, 'schedule.timeZone "Mars/Base" is not an IANA time zone'],
    ["a bad range", { schedule: { timeZone: "UTC", hours: { mon: ["9-5"] } } }, 'schedule.hours.mon[0] "9-5" is not a range'],
    ["a bad date", { schedule: { timeZone: "UTC", hours: {}, closed: ["2026-13-01"] } }, 'schedule.closed[0] "2026-13-01" is not a date'],
    ["an after-hours agent id that cannot be a route id", { schedule: { timeZone: "UTC", hours: {}, afterHours: { agent: "night/desk" } } }, "schedule.afterHours.agent"],
    ["a blocked caller that is no pattern", { blockedCallers: ["+1900"] }, "blockedCallers[0] is not"],
    ["an empty allowed list", { allowedCallers: [] }, "allowedCallers is empty"],
  ])("reports %s as agent_config_invalid, naming the field", (_name, fields, detail) => {
    expect(parseAgentValue(JSON.stringify({ retellAgentId: "agent_a", ...fields }))).toEqual({ ok: false, reason: "agent_config_invalid", detail: expect.stringContaining(detail) });
  });
});

describe("parseAgentValue with transfers", () => {
  it("reads transfer destinations, the ring time and the caller id, numbers normalised", () => {
    const value = JSON.stringify({
      retellAgentId: "agent_a",
      transfers: { sales: "+61 3 9000 0001", support: "sip:desk@pbx.example.com" },
      transferTimeoutSeconds: 40,
      transferCallerId: "+61 3 9000 0099",
    });
    expect(parseAgentValue(value)).toEqual({
      ok: true,
      agent: { retellAgentId: "agent_a", transfers: { sales: "+61390000001", support: "sip:desk@pbx.example.com" }, transferTimeoutSeconds: 40, transferCallerId: "+61390000099" },
    });
  });

  it.each([
    ["a destination that is neither a number nor a sip: URI", { transfers: { sales: "reception" } }, "transfers.sales is not an E.164 number or a sip: URI"],
    ["a bad destination name", { transfers: { "front desk": "+61390000001" } }, 'transfers name "front desk" is not 1–32 of a–z 0–9 _ -'],
    ["a ring time under Twilio's 5 s", { transferTimeoutSeconds: 4 }, "transferTimeoutSeconds is not a whole number from 5 to 600"],
    ["a ring time over Twilio's 600 s", { transferTimeoutSeconds: 601 }, "transferTimeoutSeconds is not a whole number from 5 to 600"],
    ["a ring time that is not whole", { transferTimeoutSeconds: 12.5 }, "transferTimeoutSeconds is not a whole number from 5 to 600"],
    ["a caller id that is not a number", { transferCallerId: "Front desk" }, "transferCallerId is not an E.164 phone number"],
  ])("reports %s as agent_config_invalid, naming the field", (_name, fields, detail) => {
    expect(parseAgentValue(JSON.stringify({ retellAgentId: "agent_a", ...fields }))).toEqual({ ok: false, reason: "agent_config_invalid", detail });
  });
});

describe("serializeAgentConfig", () => {
  it("stores an agent with only an id as the bare id", () => {
    expect(serializeAgentConfig({ retellAgentId: "agent_a" })).toBe("agent_a");
  });

  it("stores anything more as JSON that parses back to the same agent", () => {
    const agent = { retellAgentId: "agent_a", fallbackNumber: "+61390000000", dynamicVariables: { office: "Melbourne" } };
    expect(parseAgentValue(serializeAgentConfig(agent))).toEqual({ ok: true, agent });
  });
});

describe("busy-line and screening fields", () => {
  const parse = (fields: Record<string, unknown>) => parseAgentValue(JSON.stringify({ retellAgentId: "agent_a", ...fields }));

  it.each([
    [{ blockUnverified: "failed" }],
    [{ blockUnverified: "failed-or-C" }],
    [{ maxCallSeconds: 1 }],
    [{ maxCallSeconds: 14_400 }],
    [{ announce: { text: "This call is recorded and answered by an AI assistant." } }],
    [{ announce: { text: "Cet appel est enregistré.", voice: "Polly.Celine", language: "fr-FR" } }],
    [{ announce: { url: "https://example.com/notice.mp3" } }],
  ])("accepts %j", (fields) => {
    expect(parse(fields)).toEqual({ ok: true, agent: { retellAgentId: "agent_a", ...fields } });
  });

  it.each([
    [{ blockUnverified: "C" }, 'blockUnverified is not one of "failed", "failed-or-C"'],
    [{ blockUnverified: true }, "blockUnverified is not one of"],
    [{ maxCallSeconds: 0 }, "maxCallSeconds is not a whole number from 1 to 14400"],
    [{ maxCallSeconds: 14_401 }, "maxCallSeconds is not a whole number"],
    [{ maxCallSeconds: 60.5 }, "maxCallSeconds is not a whole number"],
    [{ maxCallSeconds: "60" }, "maxCallSeconds is not a whole number"],
    [{ announce: "This call is recorded" }, "announce is not an object"],
    [{ announce: { text: "" } }, "announce.text is not a non-empty string"],
    [{ announce: { text: "x".repeat(1_001) } }, "announce.text is longer than 1000 characters"],
    [{ announce: { text: "Hi", voice: "Polly Joanna" } }, "announce voice is not a Twilio voice name"],
    [{ announce: { text: "Hi", language: "english" } }, "announce language is not a language tag"],
    [{ announce: { text: "Hi", loop: 3 } }, 'announce has an unknown field "loop"'],
    [{ announce: { url: "http://example.com/notice.mp3" } }, "announce.url is not an https URL"],
    [{ announce: { url: "https://user:pw@example.com/notice.mp3" } }, "announce.url carries credentials"],
    [{ announce: { url: "notice.mp3" } }, "announce.url is not a URL"],
    [{ announce: { url: "https://example.com/a.mp3", text: "Hi" } }, "announce with a url takes no other field"],
  ])("refuses %j", (fields, detail) => {
    const result = parse(fields);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.detail).toContain(detail);
  });
});
