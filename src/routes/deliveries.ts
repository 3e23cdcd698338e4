/**
 * GET /api/deliveries: call events' deliveries to the operator's endpoints (records/deliveries.ts); POST
 * /api/deliveries/:eventId/replay puts an event's failed deliveries back on the queue; POST
 * /api/deliveries/test/:endpointId sends a signed test event at once. Behind ADMIN_TOKEN (routes/admin.ts).
 */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { AppError, fromStorage } from "../errors.ts";
import { ENDPOINT_ID } from "../records/endpoints.ts";
import { replayEvent, sendTestEvent } from "../events/replay.ts";
import { DELIVERY_STATES, MAX_DELIVERY_LIST, listDeliveries, type DeliveryFilter, type DeliveryState } from "../records/deliveries.ts";
import { requireAdmin } from "./admin.ts";

const EVENT_ID = /^msg_[A-Za-z0-9]{1,64}$/;
const CALL_SID = /^CA[0-9a-fA-F]{32}$/;
const DEFAULT_LIMIT = 50;

export const deliveries = new Hono<AppEnv>();

deliveries.get("/deliveries", requireAdmin, async (c) => {
  const { state, callSid, eventId, limit } = c.req.query();
  const filter: DeliveryFilter = { limit: DEFAULT_LIMIT };
  if (state !== undefined) {
    if (!(DELIVERY_STATES as readonly string[]).includes(state)) throw new AppError({ kind: "bad_request", message: `state must be one of ${DELIVERY_STATES.join(", ")}` });
    filter.state = state as DeliveryState;
  }
  if (callSid !== undefined) {
    if (!CALL_SID.test(callSid)) throw new AppError({ kind: "bad_request", message: "callSid must be Twilio's call SID, CA and 32 hex digits" });
    filter.callSid = callSid;
  }
  if (eventId !== undefined) {
    if (!EVENT_ID.test(eventId)) throw new AppError({ kind: "bad_request", message: "eventId must be a webhook-id, msg_…" });
    filter.eventId = eventId;
  }
  if (limit !== undefined) {
    const n = Number(limit);
    if (!/^\d{1,4}$/.test(limit) || n < 1 || n > MAX_DELIVERY_LIST) throw new AppError({ kind: "bad_request", message: `limit must be 1–${MAX_DELIVERY_LIST}` });
    filter.limit = n;
  }
  return c.json({ deliveries: await fromStorage(() => listDeliveries(c.env.DB, filter)) });
});

deliveries.post("/deliveries/:eventId/replay", requireAdmin, async (c) => {
  const eventId = c.req.param("eventId");
  if (!EVENT_ID.test(eventId)) throw new AppError({ kind: "bad_request", message: "eventId must be a webhook-id, msg_…" });
  const endpoints = await replayEvent(c.env, eventId, Date.now());
  return c.json({ eventId, replayed: endpoints }, 202);
});

deliveries.post("/deliveries/test/:endpointId", requireAdmin, async (c) => {
  const id = c.req.param("endpointId");
  if (!ENDPOINT_ID.test(id)) throw new AppError({ kind: "bad_request", message: "not an endpoint id" });
  return c.json(await sendTestEvent(c.env, id, Date.now()));
});
