/**
 * What the operator asks of deliveries through the admin API (routes/deliveries.ts, `npm run webhooks`): replaying
 * an event's failed deliveries through the queue, and a signed test event sent to one endpoint at once.
 */
import type { Bindings } from "../env.ts";
import { webhookSigner } from "../config.ts";
import { AppError } from "../errors.ts";
import { deliveriesOf, readBody, resetForReplay } from "../records/deliveries.ts";
import { newMessageId, signedHeaders } from "../standard-webhooks/sign.ts";
import { loadEndpoints } from "../records/endpoint-store.ts";
import type { DeliveryMessage } from "../line/event-message.ts";
import { MAX_INLINE_BODY_BYTES, byteLength } from "../line/event-message.ts";
import { postEvent } from "./post.ts";

/** Puts an event's failed deliveries back on the queue (attempts counted afresh, the same webhook-id); returns the endpoints. */
export async function replayEvent(env: Bindings, eventId: string, now: number): Promise<string[]> {
  const failed = (await deliveriesOf(env.DB, eventId)).filter((d) => d.state === "failed");
  if (failed.length === 0) throw new AppError({ kind: "not_found", message: "no failed delivery of this event (see GET /api/deliveries?state=failed)" });
  const stored = await readBody(env.DB, eventId);
  if (!stored) throw new AppError({ kind: "not_found", message: "this event's body is no longer kept (past RETENTION_DAYS)" });
  const inline = byteLength(stored.body) <= MAX_INLINE_BODY_BYTES;
  const messages: DeliveryMessage[] = failed.map((d) => ({
    eventId,
    endpointId: d.endpointId,
    callSid: d.callSid,
    sequence: d.sequence,
    type: d.type,
    createdAt: d.createdAt,
    ...(inline && { body: stored.body }),
    ...(stored.retellSignature && { retellSignature: stored.retellSignature }),
  }));
  for (const d of failed) await resetForReplay(env.DB, eventId, d.endpointId, now);
  await env.EVENTS.sendBatch(messages.map((body) => ({ body, contentType: "json" })));
  return failed.map((d) => d.endpointId);
}

export interface TestResult {
  eventId: string;
  delivered: boolean;
  status: number | null;
  error?: string;
}

/** Sends a signed `webhook.test` event to endpoint `id` now (not through the queue) and says how it answered. */
export async function sendTestEvent(env: Bindings, id: string, now: number): Promise<TestResult> {
  const endpoint = (await loadEndpoints(env.AGENTS, true)).find((e) => e.id === id);
  if (!endpoint) throw new AppError({ kind: "not_found", message: `no endpoint ${id} in KV webhooks` });
  const signer = webhookSigner(env);
  if (!signer.ok) throw new AppError({ kind: "misconfigured", detail: `${signer.secret} ${signer.problem}: nothing is sent unsigned`, event: "config.missing_secret", log: { secret: signer.secret } });
  const eventId = newMessageId();
  const body = JSON.stringify({ type: "webhook.test", timestamp: new Date(now).toISOString(), data: { endpointId: id } });
  const headers = { "Content-Type": "application/json", ...(await signedHeaders(signer.sign, eventId, body, now)) };
  const outcome = await postEvent(endpoint.url, body, headers);
  if (outcome.kind === "delivered") return { eventId, delivered: true, status: outcome.status };
  return { eventId, delivered: false, status: outcome.status, error: outcome.kind === "gone" ? "410 Gone" : outcome.error };
}
