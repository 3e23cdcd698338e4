/**
 * One queue message: one event for one endpoint (so one endpoint failing never delays another's deliveries).
 * Written by the line's event outbox (line/events-outbox.ts), read by the consumer (events/consumer.ts).
 */

/** Queue messages are at most 128 KB (developers.cloudflare.com/queues/platform/limits); a body above this stays in D1. */
export const MAX_INLINE_BODY_BYTES = 96 * 1024;

export interface DeliveryMessage {
  /** The `webhook-id`: one per event, the same for every endpoint and every retry. */
  eventId: string;
  endpointId: string;
  callSid: string;
  /** The event's place among its call's events (1, 2, …): the order deliveries to an endpoint keep. */
  sequence: number;
  /** `call.ended`, …, or `retell.<event>` for a Retell body passed through. */
  type: string;
  /** The exact bytes to POST; absent when larger than MAX_INLINE_BODY_BYTES: then in D1 `event_bodies` (records/deliveries.ts). */
  body?: string;
  /** A Retell body passed through: Retell's own `x-retell-signature`, sent unchanged. */
  retellSignature?: string;
  /** When the event happened (ms). */
  createdAt: number;
}

const encoder = new TextEncoder();

export function byteLength(text: string): number {
  return encoder.encode(text).byteLength;
}

/** Whether a parsed queue body is a DeliveryMessage (anything else is logged and dropped by the consumer). */
export function isDeliveryMessage(value: unknown): value is DeliveryMessage {
  if (typeof value !== "object" || value === null) return false;
  const m = value as Record<string, unknown>;
  return (
    typeof m.eventId === "string" &&
    typeof m.endpointId === "string" &&
    typeof m.callSid === "string" &&
    typeof m.sequence === "number" &&
    typeof m.type === "string" &&
    typeof m.createdAt === "number" &&
    (m.body === undefined || typeof m.body === "string") &&
    (m.retellSignature === undefined || typeof m.retellSignature === "string")
  );
}
