import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { beforeAll, describe, expect, it, vi } from "vitest";
import worker from "../../src/index.ts";
import type { Bindings } from "../../src/env.ts";
import { SECRET_WAIT_S } from "../../src/events/consumer.ts";
import { WEBHOOKS_KEY, type WebhookEndpoint } from "../../src/records/endpoints.ts";
import type { DeliveryMessage } from "../../src/line/event-message.ts";
import { MAX_ATTEMPTS } from "../../src/events/schedule.ts";
import { bodyStatements, deliveriesOf, pendingStatements } from "../../src/records/deliveries.ts";
import { newMessageId } from "../../src/standard-webhooks/sign.ts";
import { callSid } from "../helpers.ts";
import { TEST_WEBHOOK_SIGNING_SECRET } from "../secrets.ts";
import { received, receiverPath, setReceiver } from "./receiver.ts";

const QUEUE = "twilio-retell-events";
const endpoints: WebhookEndpoint[] = [];

/** An endpoint of the test's own, answering as told. */
async function endpoint(label: string, behaviour: Parameters<typeof setReceiver>[1] = {}): Promise<{ id: string; path: string }> {
  const { path, url } = receiverPath(label);
  const id = `${label}-${endpoints.length}`;
  endpoints.push({ id, url });
  await env.AGENTS.put(WEBHOOKS_KEY, JSON.stringify(endpoints));
  await setReceiver(path, behaviour);
  return { id, path };
}

function message(endpointId: string, overrides: Partial<DeliveryMessage> = {}): DeliveryMessage {
  const body = JSON.stringify({ type: "call.ended", timestamp: new Date().toISOString(), sequence: 1, data: { callSid: "CA1" } });
  return { eventId: newMessageId(), endpointId, callSid: callSid(), sequence: 1, type: "call.ended", body, createdAt: Date.now(), ...overrides };
}

async function consume(messages: DeliveryMessage[], bindings: Bindings = env, queue = QUEUE) {
  const batch = createMessageBatch<DeliveryMessage>(
    queue,
    messages.map((body, i) => ({ id: `m${i}-${body.eventId}`, timestamp: new Date(), attempts: 1, body })),
  );
  // getQueueResult reports which messages were retried, not with what delay: the delays are read off retry() itself.
  const delays = new Map<string, number | undefined>();
  for (const m of batch.messages) {
    const retry = m.retry.bind(m);
    m.retry = (options?: QueueRetryOptions) => {
      delays.set(m.id, options?.delaySeconds);
      retry(options);
    };
  }
  const ctx = createExecutionContext();
  await worker.queue(batch as MessageBatch<unknown>, bindings);
  const result = await getQueueResult(batch, ctx);
  return { ...result, retryMessages: result.retryMessages.map((r) => ({ ...r, delaySeconds: delays.get(r.msgId) })) };
}

beforeAll(async () => {
  await env.AGENTS.delete(WEBHOOKS_KEY);
});

describe("the events queue consumer", () => {
  it("POSTs the body signed the Standard Webhooks way, acks it and records it delivered", async () => {
    const { id, path } = await endpoint("ok");
    const m = message(id);
    const result = await consume([m]);
    expect(result.explicitAcks).toEqual([`m0-${m.eventId}`]);
    const [request] = await received(path);
    expect(request?.body).toBe(m.body);
    expect(request?.headers["webhook-id"]).toBe(m.eventId);
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(new Webhook(TEST_WEBHOOK_SIGNING_SECRET).verify(request?.body ?? "", request?.headers as Record<string, string>)).toEqual(JSON.parse(m.body ?? ""));
    const [delivery] = await deliveriesOf(env.DB, m.eventId);
    expect(delivery).toMatchObject({ state: "delivered", attempts: 1, lastStatus: 204 });
  });

  it.each([
    { status: 500, delay: [4, 6] },
    { status: 400, delay: [4, 6] },
    { status: 302, delay: [4, 6] },
    { status: 429, retryAfter: "120", delay: [120, 120] },
    { status: 503, retryAfter: "60", delay: [60, 60] },
    { status: 504, retryAfter: "7", delay: [7, 7] },
  ])("answers $status ($retryAfter): retried after $delay s, the attempt recorded", async ({ status, retryAfter, delay }) => {
    const { id, path } = await endpoint(`s${status}`, { statuses: [status], ...(retryAfter && { retryAfter }), ...(status === 302 && { location: "http://127.0.0.1:1/elsewhere" }) });
    const m = message(id);
    const result = await consume([m]);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages).toHaveLength(1);
    const seconds = result.retryMessages[0]?.delaySeconds ?? 0;
    expect(seconds).toBeGreaterThanOrEqual(delay[0] as number);
    expect(seconds).toBeLessThanOrEqual(delay[1] as number);
    expect(await received(path)).toHaveLength(1);
    const [delivery] = await deliveriesOf(env.DB, m.eventId);
    expect(delivery).toMatchObject({ state: "pending", attempts: 1, lastStatus: status });
  });

  it("retries a dropped connection on the schedule", async () => {
    const { id } = await endpoint("drop", { mode: "drop" });
    const m = message(id);
    const result = await consume([m]);
    expect(result.retryMessages.map((r) => r.delaySeconds)).toEqual([expect.any(Number)]);
    const [delivery] = await deliveriesOf(env.DB, m.eventId);
    expect(delivery).toMatchObject({ state: "pending", lastStatus: null, lastError: expect.stringContaining("connection") });
  });

  it("turns the endpoint off on 410 Gone, saying why in KV, and records the delivery failed", async () => {
    const { id } = await endpoint("gone", { statuses: [410] });
    const m = message(id);
    const result = await consume([m]);
    expect(result.explicitAcks).toHaveLength(1);
    const stored = JSON.parse((await env.AGENTS.get(WEBHOOKS_KEY)) ?? "[]") as WebhookEndpoint[];
    expect(stored.find((e) => e.id === id)).toMatchObject({ enabled: false, disabledReason: expect.stringContaining("410 Gone") });
    const [delivery] = await deliveriesOf(env.DB, m.eventId);
    expect(delivery).toMatchObject({ state: "failed", lastStatus: 410 });
    // Later events for it are not sent.
    const next = message(id);
    expect((await consume([next])).explicitAcks).toHaveLength(1);
    expect((await deliveriesOf(env.DB, next.eventId))[0]).toMatchObject({ state: "failed", lastError: "endpoint turned off" });
  });

  it("sends nothing unsigned without a signing secret: the message waits in the queue and the log says why", async () => {
    const { id, path } = await endpoint("nosecret");
    const errors = vi.spyOn(console, "error");
    const result = await consume([message(id)], { ...env, WEBHOOK_SIGNING_SECRET: undefined });
    expect(result.retryMessages).toEqual([expect.objectContaining({ delaySeconds: SECRET_WAIT_S })]);
    expect(await received(path)).toHaveLength(0);
    expect(errors.mock.calls.map(([line]) => String(line)).some((line) => line.includes("events.not_signed") && line.includes("WEBHOOK_SIGNING_SECRET"))).toBe(true);
    errors.mockRestore();
  });

  it("holds an event while an earlier one of the same call to the same endpoint is pending", async () => {
    const { id, path } = await endpoint("order");
    const sid = callSid();
    const first = message(id, { callSid: sid, sequence: 1 });
    await env.DB.batch(pendingStatements(env.DB, [{ ...first }].map((m) => ({ ...m, endpointId: id })), Date.now()));
    const second = message(id, { callSid: sid, sequence: 2 });
    const held = await consume([second]);
    expect(held.retryMessages).toHaveLength(1);
    expect(await received(path)).toHaveLength(0);
    await consume([first]);
    expect((await consume([second])).explicitAcks).toHaveLength(1);
    expect((await received(path)).map((r) => r.headers["webhook-id"])).toEqual([first.eventId, second.eventId]);
  });

  it("delivers a body kept in D1 when it was too large for the message", async () => {
    const { id, path } = await endpoint("large");
    const m = message(id);
    const body = JSON.stringify({ type: "call.analyzed", transcript: "x".repeat(700_000) });
    await env.DB.batch(bodyStatements(env.DB, m.eventId, body, undefined, m.createdAt));
    const { body: _inline, ...withoutBody } = m;
    expect((await consume([withoutBody])).explicitAcks).toHaveLength(1);
    expect((await received(path))[0]?.body).toBe(body);
  });

  it("gives up after the last scheduled attempt: to the dead-letter queue, then recorded failed with its body", async () => {
    const { id } = await endpoint("exhausted", { statuses: [500] });
    const m = message(id);
    await env.DB.prepare(
      "INSERT INTO deliveries (event_id, endpoint_id, call_sid, sequence, type, state, attempts, created_at, updated_at) VALUES (?, ?, ?, 1, 'call.ended', 'pending', ?, ?, ?)",
    )
      .bind(m.eventId, id, m.callSid, MAX_ATTEMPTS - 1, m.createdAt, m.createdAt)
      .run();
    const result = await consume([m]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toHaveLength(0);
    // The dead-letter consumer (run here directly, as the queue would) records it failed.
    await consume([m], env, `${QUEUE}-dlq`);
    const [delivery] = await deliveriesOf(env.DB, m.eventId);
    expect(delivery).toMatchObject({ state: "failed", attempts: MAX_ATTEMPTS, lastStatus: 500, lastError: "HTTP 500" });
    const bodies = await env.DB.prepare("SELECT COUNT(*) AS n FROM event_bodies WHERE event_id = ?").bind(m.eventId).first<{ n: number }>();
    expect(bodies?.n).toBe(1);
  });

  it("records a delivery to an endpoint since removed as failed, without sending it", async () => {
    const m = message("removed-endpoint");
    expect((await consume([m])).explicitAcks).toHaveLength(1);
    expect((await deliveriesOf(env.DB, m.eventId))[0]).toMatchObject({ state: "failed", lastError: "endpoint removed" });
  });
});

describe("a wait longer than the message's retention", () => {
  it("is a new message with the same body, so the queue never drops it, and this one is acked", async () => {
    const { id } = await endpoint("old", { statuses: [500] });
    const m = message(id);
    await env.DB.prepare(
      "INSERT INTO deliveries (event_id, endpoint_id, call_sid, sequence, type, state, attempts, created_at, updated_at) VALUES (?, ?, ?, 1, 'call.ended', 'pending', 3, ?, ?)",
    )
      .bind(m.eventId, id, m.callSid, m.createdAt, m.createdAt)
      .run();
    const sent: { body: unknown; delaySeconds: number | undefined }[] = [];
    const events = { send: async (body: unknown, options?: QueueSendOptions) => void sent.push({ body, delaySeconds: options?.delaySeconds }) } as unknown as Queue;
    const batch = createMessageBatch<DeliveryMessage>(QUEUE, [{ id: "aged", timestamp: new Date(Date.now() - 23 * 3_600_000), attempts: 40, body: m }]);
    const ctx = createExecutionContext();
    await worker.queue(batch as MessageBatch<unknown>, { ...env, EVENTS: events });
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["aged"]);
    // The fourth attempt failed: the schedule's 2 h (±10 %) wait, past the message's 24 h.
    expect(sent).toEqual([{ body: m, delaySeconds: expect.any(Number) }]);
    expect(sent[0]?.delaySeconds).toBeGreaterThanOrEqual(6_480);
    expect(sent[0]?.delaySeconds).toBeLessThanOrEqual(7_920);
  });
});
