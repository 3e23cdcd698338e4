/**
 * One delivery of a call event to an endpoint, as GET /api/deliveries returns it (records/deliveries.ts holds the
 * queries). Shared by the Worker and the CLI: plain TypeScript, no Workers types.
 */

export const DELIVERY_STATES = ["pending", "delivered", "failed"] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** Why the consumer fails a delivery without sending it: its endpoint is turned off (by the operator or after a 410) or gone from KV. */
export const ENDPOINT_OFF = "endpoint turned off";
export const ENDPOINT_REMOVED = "endpoint removed";
/** The status with which an endpoint asks for no more events (Standard Webhooks): the consumer turns it off. */
export const GONE_STATUS = 410;

/** One delivery as GET /api/deliveries returns it; times in ms since the epoch. */
export interface Delivery {
  eventId: string;
  endpointId: string;
  callSid: string;
  sequence: number;
  type: string;
  state: DeliveryState;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: number | null;
  createdAt: number;
  updatedAt: number;
  deliveredAt: number | null;
}

/**
 * How a delivery stands, as a person reads it (the operator page's timeline): `pending` is `queued` until its first
 * attempt and `retrying` after one; `failed` is `disabled` when its endpoint is turned off (a 410, or by the operator).
 */
export type DeliveryStanding = "delivered" | "queued" | "retrying" | "failed" | "disabled";

export function standingOf(d: Pick<Delivery, "state" | "attempts" | "lastStatus" | "lastError">): DeliveryStanding {
  if (d.state === "delivered") return "delivered";
  if (d.state === "pending") return d.attempts === 0 ? "queued" : "retrying";
  return d.lastStatus === GONE_STATUS || d.lastError === ENDPOINT_OFF ? "disabled" : "failed";
}
