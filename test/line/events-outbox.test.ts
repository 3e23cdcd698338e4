/** src/line/events-outbox.ts: which change yields which event, once, numbered per call; sending what is pending. */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { addEvent, apiRecord, changeEvents, endpointsMemo, ENDPOINTS_MEMO_MS, pendingEvents, recordChangeEvents, sendEvents, type EventSink } from "../../src/line/events-outbox.ts";
import { lineStub } from "../../src/line/address.ts";
import { newRecord } from "../../src/line/transitions.ts";
import type { CallRecord } from "../../src/records/list.ts";
import type { DeliveryMessage } from "../../src/line/event-message.ts";
import type { WebhookEndpoint } from "../../src/records/endpoints.ts";
import { deliveriesOf } from "../../src/records/deliveries.ts";
import { callSid, uniqueNumber } from "../helpers.ts";
import { transferAttempt } from "../transfer-attempt.ts";

const base = (): CallRecord => newRecord(callSid(), 1_000);
/** One transfer at each stage: asked for, its call update taken by Twilio, its dial over with nobody answering. */
const requested = [transferAttempt()];
const accepted = [transferAttempt({ update: "accepted" })];
const unanswered = [transferAttempt({ update: "accepted", dialStatus: "no-answer" })];

describe("changeEvents", () => {
  const r = base();
  it.each<{ name: string; before: CallRecord | null; after: CallRecord; types: string[] }>([
    { name: "a new call with no answer yet", before: null, after: r, types: [] },
    { name: "the voice answer decided", before: r, after: { ...r, voiceAnsweredAt: 5, outcome: "connected" }, types: ["call.started"] },
    { name: "a later answer of the same call (a Twilio retry)", before: { ...r, voiceAnsweredAt: 5 }, after: { ...r, voiceAnsweredAt: 9 }, types: [] },
    { name: "a blocked caller's answer", before: r, after: { ...r, voiceAnsweredAt: 5, outcome: "blocked" }, types: ["call.started"] },
    { name: "a status that is not final", before: r, after: { ...r, twilioStatus: "in-progress" }, types: [] },
    { name: "Twilio's final status", before: { ...r, twilioStatus: "in-progress" }, after: { ...r, twilioStatus: "completed" }, types: ["call.ended"] },
    { name: "a repeated final status", before: { ...r, twilioStatus: "completed" }, after: { ...r, twilioStatus: "completed", durationS: 3 }, types: [] },
    { name: "a transfer requested (not yet accepted)", before: r, after: { ...r, transfers: requested }, types: [] },
    { name: "a transfer's update accepted", before: { ...r, transfers: requested }, after: { ...r, transfers: accepted }, types: ["transfer.started"] },
    { name: "a transfer's dial over", before: { ...r, transfers: accepted }, after: { ...r, transfers: unanswered }, types: ["transfer.ended"] },
    { name: "an outbound call nobody answered, reported over", before: { ...r, direction: "outbound" }, after: { ...r, direction: "outbound", twilioStatus: "busy", outcome: "not_answered" }, types: ["call.ended"] },
    { name: "answer and final status in one change", before: null, after: { ...r, voiceAnsweredAt: 5, twilioStatus: "completed" }, types: ["call.started", "call.ended"] },
  ])("$name: $types", ({ before, after, types }) => {
    expect(changeEvents(before, after).map((e) => e.type)).toEqual(types);
  });
});

function onLine<T>(fn: (sql: SqlStorage) => T | Promise<T>): Promise<T> {
  return runInDurableObject(lineStub(env, uniqueNumber()), (_instance, state) => fn(state.storage.sql));
}

describe("the outbox", () => {
  it("numbers each call's events 1, 2, 3 and produces each change's event once", async () => {
    const sequences = await onLine((sql) => {
      const r = base();
      const answered = { ...r, voiceAnsweredAt: 5 };
      recordChangeEvents(sql, r, answered, 5);
      recordChangeEvents(sql, r, answered, 6);
      recordChangeEvents(sql, answered, { ...answered, twilioStatus: "completed" }, 7);
      const again = addEvent(sql, { callSid: r.callSid, type: "call.ended", key: "call.ended", agentKey: null, occurredAt: 8, record: r });
      const rows = sql.exec<{ type: string; sequence: number }>("SELECT type, sequence FROM event_outbox ORDER BY id").toArray();
      return { rows, again };
    });
    expect(sequences.rows).toEqual([
      { type: "call.started", sequence: 1 },
      { type: "call.ended", sequence: 2 },
    ]);
    expect(sequences.again).toBeNull();
  });

  it("gives data every column GET /api/calls/:callSid returns, null where the stored record predates it", () => {
    const { transfers: _t, answeredBy: _a, ...old } = base();
    const data = apiRecord(old as CallRecord);
    expect(data.transfers).toBeNull();
    expect(data.answeredBy).toBeNull();
    expect(Object.keys(data)).toEqual(Object.keys(apiRecord(base())));
  });

  function sink(endpoints: WebhookEndpoint[], sent: DeliveryMessage[], queueFails = false): EventSink {
    return {
      endpoints: async () => endpoints,
      db: env.DB,
      queue: {
        sendBatch: async (batch: Iterable<MessageSendRequest<DeliveryMessage>>) => {
          if (queueFails) throw new Error("Queue send failed: simulated");
          for (const m of batch) sent.push(m.body);
        },
      } as unknown as Queue,
    };
  }

  it("sends one message per matching endpoint, records each delivery pending in D1, and empties the outbox", async () => {
    const sent: DeliveryMessage[] = [];
    const endpoints: WebhookEndpoint[] = [
      { id: "all", url: "https://a.example.com/h" },
      { id: "ended-only", url: "https://b.example.com/h", events: ["call.ended"] },
      { id: "other-agent", url: "https://c.example.com/h", agents: ["+61400000000"] },
      { id: "off", url: "https://d.example.com/h", enabled: false },
      { id: "retell", url: "https://e.example.com/h", format: "retell" },
    ];
    const r = { ...base(), agentKey: "+61411111111" };
    const left = await onLine(async (sql) => {
      recordChangeEvents(sql, r, { ...r, voiceAnsweredAt: 5, twilioStatus: "completed" }, 5);
      await sendEvents(sql, sink(endpoints, sent), Date.now());
      return pendingEvents(sql);
    });
    expect(left).toBe(0);
    expect(sent.map((m) => `${m.type}→${m.endpointId}`)).toEqual(["call.started→all", "call.ended→all", "call.ended→ended-only"]);
    const payload = JSON.parse(sent[0]?.body ?? "{}") as { type: string; sequence: number; data: CallRecord };
    expect(payload).toMatchObject({ type: "call.started", sequence: 1, data: { callSid: r.callSid, voiceAnsweredAt: 5 } });
    expect((await deliveriesOf(env.DB, sent[1]?.eventId ?? "")).map((d) => [d.endpointId, d.state])).toEqual([
      ["all", "pending"],
      ["ended-only", "pending"],
    ]);
  });

  it("keeps the events when the queue refuses them, and sends them on a later round", async () => {
    const sent: DeliveryMessage[] = [];
    const endpoints: WebhookEndpoint[] = [{ id: "all", url: "https://a.example.com/h" }];
    const { failed, after, left } = await onLine(async (sql) => {
      const r = base();
      recordChangeEvents(sql, r, { ...r, voiceAnsweredAt: 5 }, 5);
      const failed = await sendEvents(sql, sink(endpoints, sent, true), Date.now());
      const after = await sendEvents(sql, sink(endpoints, sent), Date.now());
      return { failed, after, left: pendingEvents(sql) };
    });
    expect(failed).toMatchObject({ failed: true, pending: 1 });
    expect(after).toMatchObject({ failed: false, sent: 1 });
    expect(left).toBe(0);
    expect(sent).toHaveLength(1);
  });

  it("keeps a body too large for a queue message in D1 and sends the message without it", async () => {
    const sent: DeliveryMessage[] = [];
    const r = { ...base(), callSummary: "x".repeat(200_000) };
    await onLine(async (sql) => {
      recordChangeEvents(sql, r, { ...r, voiceAnsweredAt: 5 }, 5);
      await sendEvents(sql, sink([{ id: "all", url: "https://a.example.com/h" }], sent), Date.now());
    });
    expect(sent[0]?.body).toBeUndefined();
    const stored = await env.DB.prepare("SELECT SUM(LENGTH(text)) AS n FROM event_bodies WHERE event_id = ?").bind(sent[0]?.eventId ?? "").first<{ n: number }>();
    expect(stored?.n).toBeGreaterThan(200_000);
  });
});

describe("endpointsMemo", () => {
  const ENDPOINT = { id: "ep_1", url: "https://example.com/hooks", events: ["call.started"] } as unknown as WebhookEndpoint;

  it("reads the endpoints once within ENDPOINTS_MEMO_MS and again after it", async () => {
    let now = 1_000;
    let reads = 0;
    const endpoints = endpointsMemo(async () => (reads++, [ENDPOINT]), () => now);
    await endpoints();
    now += ENDPOINTS_MEMO_MS - 1;
    await endpoints();
    const withinMemo = reads;
    now += 1;
    expect(await endpoints()).toEqual([ENDPOINT]);
    expect([withinMemo, reads]).toEqual([1, 2]);
  });

  it("reads again after a failed read", async () => {
    let reads = 0;
    const endpoints = endpointsMemo(async () => {
      reads++;
      if (reads === 1) throw new Error("KV unavailable");
      return [ENDPOINT];
    }, () => 1_000);
    await expect(endpoints()).rejects.toThrow("KV unavailable");
    expect(await endpoints()).toEqual([ENDPOINT]);
  });
});
