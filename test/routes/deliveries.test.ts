/** GET /api/deliveries, replay and the test event: behind ADMIN_TOKEN; deliveries counted in GET /api/stats and kept as long as calls. */
import { env } from "cloudflare:workers";
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import entry from "../../src/index.ts";
import { WEBHOOKS_KEY, type WebhookEndpoint } from "../../src/records/endpoints.ts";
import { deliveriesOf, markFailed, pendingStatements, type Delivery } from "../../src/records/deliveries.ts";
import { newMessageId } from "../../src/standard-webhooks/sign.ts";
import { callSid, worker } from "../helpers.ts";
import { adminRequest, withBindings } from "../records.ts";
import { received, receiverPath } from "../events/receiver.ts";

const receiver = receiverPath("api");
const T0 = Date.parse("2026-11-21T08:00:00Z");

beforeAll(async () => {
  const endpoints: WebhookEndpoint[] = [{ id: "crm", url: receiver.url }];
  await env.AGENTS.put(WEBHOOKS_KEY, JSON.stringify(endpoints));
});

function key(createdAt = T0, type = "call.ended") {
  return { eventId: newMessageId(), endpointId: "crm", callSid: callSid(), sequence: 1, type, createdAt };
}

async function post(path: string): Promise<Response> {
  const request = adminRequest(path);
  return worker(new Request(request, { method: "POST" }));
}

describe("GET /api/deliveries", () => {
  it("answers 401 without the admin token", async () => {
    expect((await worker(adminRequest("/api/deliveries", null))).status).toBe(401);
  });

  it("lists deliveries newest first, filtered by state", async () => {
    const failed = key(T0 + 2);
    const pending = key(T0 + 1);
    await env.DB.batch(pendingStatements(env.DB, [pending], T0));
    await markFailed(env.DB, failed, "HTTP 500", { body: "{}" }, T0);
    const all = (await (await worker(adminRequest(`/api/deliveries?limit=200`))).json()) as { deliveries: Delivery[] };
    const ids = all.deliveries.map((d) => d.eventId);
    expect(ids.indexOf(failed.eventId)).toBeLessThan(ids.indexOf(pending.eventId));
    const onlyFailed = (await (await worker(adminRequest(`/api/deliveries?state=failed&limit=200`))).json()) as { deliveries: Delivery[] };
    expect(onlyFailed.deliveries.every((d) => d.state === "failed")).toBe(true);
    expect(onlyFailed.deliveries.map((d) => d.eventId)).toContain(failed.eventId);
  });

  it("lists one call's deliveries alone with callSid, every endpoint's", async () => {
    const first = key(T0 + 3);
    const second = { ...first, eventId: newMessageId(), sequence: 2, type: "call.ended", createdAt: T0 + 4 };
    const toWarehouse = { ...first, endpointId: "warehouse" };
    const other = key(T0 + 5);
    await env.DB.batch(pendingStatements(env.DB, [first, second, toWarehouse, other], T0));
    const res = await worker(adminRequest(`/api/deliveries?callSid=${first.callSid}`));
    expect(res.status).toBe(200);
    const { deliveries } = (await res.json()) as { deliveries: Delivery[] };
    expect(deliveries[0]?.eventId).toBe(second.eventId);
    expect(new Set(deliveries.map((d) => `${d.eventId} ${d.endpointId}`))).toEqual(new Set([`${second.eventId} crm`, `${first.eventId} crm`, `${first.eventId} warehouse`]));
  });

  it.each(["state=lost", "limit=0", "limit=1000", "callSid=CA1", "eventId=x"])("answers 400 to %s", async (query) => {
    expect((await worker(adminRequest(`/api/deliveries?${query}`))).status).toBe(400);
  });
});

describe("POST /api/deliveries/:eventId/replay", () => {
  it("puts a failed delivery back on the queue with its webhook-id, and it is delivered", async () => {
    const k = key(Date.now());
    const body = JSON.stringify({ type: "call.ended", callSid: k.callSid });
    await markFailed(env.DB, k, "HTTP 500", { body }, Date.now());
    const res = await post(`/api/deliveries/${k.eventId}/replay`);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ eventId: k.eventId, replayed: ["crm"] });
    let delivery: Delivery | undefined;
    for (let i = 0; i < 300 && delivery?.state !== "delivered"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      [delivery] = await deliveriesOf(env.DB, k.eventId);
    }
    expect(delivery).toMatchObject({ state: "delivered", attempts: 1 });
    const [request] = (await received(receiver.path)).filter((r) => r.headers["webhook-id"] === k.eventId);
    expect(request).toMatchObject({ body, verified: true });
  });

  it("answers 404 for an event with no failed delivery", async () => {
    expect((await post(`/api/deliveries/${newMessageId()}/replay`)).status).toBe(404);
  });
});

describe("POST /api/deliveries/test/:endpointId", () => {
  it("sends a signed webhook.test event at once and says how the endpoint answered", async () => {
    const res = await post("/api/deliveries/test/crm");
    const result = (await res.json()) as { eventId: string; delivered: boolean; status: number };
    expect(result).toMatchObject({ delivered: true, status: 204 });
    const [request] = (await received(receiver.path)).filter((r) => r.headers["webhook-id"] === result.eventId);
    expect(request?.verified).toBe(true);
    expect(JSON.parse(request?.body ?? "{}")).toMatchObject({ type: "webhook.test", data: { endpointId: "crm" } });
  });

  it("refuses to send unsigned without WEBHOOK_SIGNING_SECRET", async () => {
    const request = adminRequest("/api/deliveries/test/crm");
    const res = await withBindings(new Request(request, { method: "POST" }), { WEBHOOK_SIGNING_SECRET: "" });
    expect(res.status).toBe(500);
  });

  it("answers 404 for an endpoint not in KV", async () => {
    expect((await post("/api/deliveries/test/nowhere")).status).toBe(404);
  });
});

describe("deliveries in stats and retention", () => {
  it("GET /api/stats counts the window's deliveries by state", async () => {
    const since = Date.parse("2026-10-01T00:00:00Z");
    await markFailed(env.DB, key(since + 5), "HTTP 500", null, since);
    await env.DB.batch(pendingStatements(env.DB, [key(since + 6), key(since + 7)], since));
    const res = await worker(adminRequest(`/api/stats?since=2026-10-01T00:00:00Z&until=2026-10-02T00:00:00Z`));
    expect(((await res.json()) as { deliveries: unknown }).deliveries).toEqual({ pending: 2, delivered: 0, failed: 1 });
  });

  it("the retention cron deletes deliveries and kept bodies older than RETENTION_DAYS", async () => {
    const now = Date.parse("2026-11-25T03:17:00Z");
    const old = key(now - 91 * 86_400_000);
    const recent = key(now - 89 * 86_400_000);
    await markFailed(env.DB, old, "HTTP 500", { body: "{}" }, now);
    await markFailed(env.DB, recent, "HTTP 500", { body: "{}" }, now);
    const ctx = createExecutionContext();
    await entry.scheduled(createScheduledController({ scheduledTime: now, cron: "17 3 * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await deliveriesOf(env.DB, old.eventId)).toEqual([]);
    expect(await deliveriesOf(env.DB, recent.eventId)).toHaveLength(1);
    const bodies = await env.DB.prepare("SELECT COUNT(*) AS n FROM event_bodies WHERE event_id = ?").bind(old.eventId).first<{ n: number }>();
    expect(bodies?.n).toBe(0);
  });
});
