/**
 * One delivery of a call event to an endpoint, as GET /api/deliveries returns it (records/deliveries.ts holds the
 * queries). Shared by the Worker and the CLI: plain TypeScript, no Workers types.
 */

export const DELIVERY_STATES = ["pending", "delivered", "failed"] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

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
