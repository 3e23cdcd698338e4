/**
 * The queue consumer (src/index.ts `queue()`): delivers each message, one event for one endpoint, signed the
 * Standard Webhooks way, and decides what happens next (events/schedule.ts):
 *
 *   2xx                     delivered: ack
 *   410 Gone                the endpoint is turned off in KV (`webhooks list` says why), the delivery failed: ack
 *   429/502/503/504 + Retry-After   retried after what the endpoint asked (at most 24 h)
 *   anything else, no answer         retried on the schedule (5 s … 24 h), then to the dead-letter queue
 *
 * A message waits, without counting as an attempt, while an earlier event of the same call to the same endpoint
 * is pending (so each endpoint receives a call's events in order) and while no signing secret is set (nothing is
 * sent unsigned). Waiting and retrying are the queue's own `retry({ delaySeconds })`; each delivery's state is kept
 * in D1 (records/deliveries.ts). The dead-letter consumer records what reaches it as failed, replayable.
 */
import type { Bindings } from "../env.ts";
import { webhookSigner } from "../config.ts";
import { log } from "../log.ts";
import { earlierPending, markFailed, readBody, recordAttempt, scheduleNext, type DeliveryKey } from "../records/deliveries.ts";
import { ENDPOINT_OFF, ENDPOINT_REMOVED } from "../records/delivery.ts";
import { signedHeaders, type Signer } from "../standard-webhooks/sign.ts";
import { disableEndpoint, loadEndpoints } from "../records/endpoint-store.ts";
import type { WebhookEndpoint } from "../records/endpoints.ts";
import { isDeliveryMessage, type DeliveryMessage } from "../line/event-message.ts";
import { postEvent } from "./post.ts";
import { MAX_DELAY_S, retryDelay, retryScale } from "./schedule.ts";

/** While no signing secret is set, messages wait this long between looks (none is lost: past retention each is sent anew). */
export const SECRET_WAIT_S = 900;
/** How often a message held behind an earlier event looks again at the least (seconds). */
export const HOLD_MIN_S = 1;
/** When D1 or KV fails, a message is tried again this soon (seconds). */
export const STORAGE_RETRY_S = 30;
/** Identifies the sender to the endpoint's logs. */
const USER_AGENT = "twilio-retell-bridge-webhooks/1";

/**
 * A message's retention as `npm run deploy` creates the queue (the Free plan's most); a message is dropped by the
 * queue this long after it was first sent, retries included. A wait that would outlive it is a new message instead.
 */
export const RETENTION_S = 86_400;
/** Room left before retention runs out, for the queue's own lateness. */
const RETENTION_MARGIN_S = 3_600;

/** The dead-letter queue's name ends so (wrangler.toml); its batches are recorded, not delivered. */
export const DEAD_LETTER_SUFFIX = "-dlq";

/**
 * Has the message come back after `delaySeconds`: the queue's own retry while that stays within the message's
 * retention, else the same body sent as a new message (its retention counted afresh) and this one acked.
 */
async function later(message: Message<unknown>, env: Bindings, delaySeconds: number): Promise<void> {
  const ageS = (Date.now() - message.timestamp.getTime()) / 1000;
  if (ageS + delaySeconds <= RETENTION_S - RETENTION_MARGIN_S) {
    message.retry({ delaySeconds });
    return;
  }
  await env.EVENTS.send(message.body, { delaySeconds, contentType: "json" });
  message.ack();
}

function keyOf(m: DeliveryMessage): DeliveryKey {
  return { eventId: m.eventId, endpointId: m.endpointId, callSid: m.callSid, sequence: m.sequence, type: m.type, createdAt: m.createdAt };
}

function detail(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export async function consumeBatch(batch: MessageBatch<unknown>, env: Bindings): Promise<void> {
  if (batch.queue.endsWith(DEAD_LETTER_SUFFIX)) return consumeDeadLetters(batch, env);
  let endpoints: WebhookEndpoint[];
  try {
    endpoints = await loadEndpoints(env.AGENTS);
  } catch (error) {
    log("warn", "events.endpoints_unavailable", { detail: detail(error) });
    batch.retryAll({ delaySeconds: STORAGE_RETRY_S });
    return;
  }
  const signer = webhookSigner(env);
  // Messages of one call to one endpoint go one after the other, in sequence, so a batch holding a call's burst of
  // events delivers them all rather than holding back all but the first; everything else goes concurrently.
  const groups = new Map<string, Message<unknown>[]>();
  for (const message of batch.messages) {
    const key = isDeliveryMessage(message.body) ? `${message.body.callSid} ${message.body.endpointId}` : message.id;
    groups.set(key, [...(groups.get(key) ?? []), message]);
  }
  const sequenceOf = (message: Message<unknown>) => (isDeliveryMessage(message.body) ? message.body.sequence : 0);
  await Promise.all(
    [...groups.values()].map(async (group) => {
      for (const message of group.sort((a, b) => sequenceOf(a) - sequenceOf(b))) await deliver(message, env, endpoints, signer);
    }),
  );
}

async function deliver(message: Message<unknown>, env: Bindings, endpoints: WebhookEndpoint[], signer: Signer): Promise<void> {
  const m = message.body;
  if (!isDeliveryMessage(m)) {
    log("error", "events.message_invalid", { messageId: message.id });
    message.ack();
    return;
  }
  const fields = { eventId: m.eventId, endpoint: m.endpointId, type: m.type, callSid: m.callSid, sequence: m.sequence };
  try {
    const endpoint = endpoints.find((e) => e.id === m.endpointId);
    if (!endpoint || endpoint.enabled === false) {
      const why = endpoint ? ENDPOINT_OFF : ENDPOINT_REMOVED;
      await markFailed(env.DB, keyOf(m), why, m.body === undefined ? null : { body: m.body, ...(m.retellSignature && { retellSignature: m.retellSignature }) }, Date.now());
      log("warn", "events.delivery_dropped", { ...fields, reason: why });
      message.ack();
      return;
    }
    if (!signer.ok) {
      log("error", "events.not_signed", { ...fields, secret: signer.secret, problem: signer.problem, fix: `wrangler secret put ${signer.secret} (whsec_ and 24–64 random bytes, base64); the event waits in the queue` });
      await later(message, env, SECRET_WAIT_S);
      return;
    }
    const earlier = await earlierPending(env.DB, m);
    if (earlier) {
      const wait = earlier.nextAttemptAt === null ? HOLD_MIN_S : Math.ceil((earlier.nextAttemptAt - Date.now()) / 1000) + 1;
      await later(message, env, Math.min(MAX_DELAY_S, Math.max(HOLD_MIN_S, wait)));
      log("info", "events.held", { ...fields, behind: earlier.sequence });
      return;
    }
    const stored = m.body === undefined ? await readBody(env.DB, m.eventId) : null;
    const body = m.body ?? stored?.body;
    const retellSignature = m.retellSignature ?? stored?.retellSignature;
    if (body === undefined) {
      await markFailed(env.DB, keyOf(m), "body not found (past retention?)", null, Date.now());
      log("error", "events.body_missing", fields);
      message.ack();
      return;
    }
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      "User-Agent": USER_AGENT,
      ...(await signedHeaders(signer.sign, m.eventId, body)),
      ...(retellSignature && { "x-retell-signature": retellSignature }),
    };
    const outcome = await postEvent(endpoint.url, body, headers);
    const now = Date.now();
    if (outcome.kind === "delivered") {
      await recordAttempt(env.DB, keyOf(m), { state: "delivered", status: outcome.status, error: null, nextAttemptAt: null }, now);
      log("info", "events.delivered", { ...fields, status: outcome.status, attempt: message.attempts });
      message.ack();
      return;
    }
    if (outcome.kind === "gone") {
      const reason = `410 Gone on ${new Date(now).toISOString()}: the endpoint asked for no more events`;
      await disableEndpoint(env.AGENTS, endpoint.id, reason);
      await recordAttempt(env.DB, keyOf(m), { state: "failed", status: outcome.status, error: "410 Gone: endpoint turned off", nextAttemptAt: null }, now);
      await markFailed(env.DB, keyOf(m), "410 Gone: endpoint turned off", { body, ...(retellSignature && { retellSignature }) }, now);
      log("warn", "events.endpoint_disabled", { ...fields, status: 410, fix: `npm run webhooks -- enable ${endpoint.id} once it takes events again` });
      message.ack();
      return;
    }
    const attempts = await recordAttempt(env.DB, keyOf(m), { state: "pending", status: outcome.status, error: outcome.error, nextAttemptAt: null }, now).catch(() => message.attempts);
    const delay = retryDelay(attempts, outcome.retryAfterS, Math.random, retryScale(env.EVENTS_RETRY_SCALE));
    if (delay === null) {
      await env.EVENTS_DLQ.send(m, { contentType: "json" });
      log("error", "events.delivery_abandoned", { ...fields, attempts, status: outcome.status, error: outcome.error });
      message.ack();
      return;
    }
    // Only what a later event waiting behind this one reads to time its own wait: a failure here costs it a few looks.
    await scheduleNext(env.DB, m, now + delay * 1000).catch(() => undefined);
    log("warn", "events.delivery_failed", { ...fields, attempts, status: outcome.status, error: outcome.error, retryInS: delay });
    await later(message, env, delay);
  } catch (error) {
    log("warn", "events.delivery_error", { ...fields, detail: detail(error) });
    message.retry({ delaySeconds: STORAGE_RETRY_S });
  }
}

/** The dead-letter queue: each delivery given up on is recorded as failed, with its body for replay. */
async function consumeDeadLetters(batch: MessageBatch<unknown>, env: Bindings): Promise<void> {
  for (const message of batch.messages) {
    const m = message.body;
    if (!isDeliveryMessage(m)) {
      log("error", "events.message_invalid", { messageId: message.id, queue: batch.queue });
      message.ack();
      continue;
    }
    try {
      await markFailed(env.DB, keyOf(m), null, m.body === undefined ? null : { body: m.body, ...(m.retellSignature && { retellSignature: m.retellSignature }) }, Date.now());
      log("error", "events.delivery_dead", { eventId: m.eventId, endpoint: m.endpointId, type: m.type, callSid: m.callSid, fix: `npm run webhooks -- replay ${m.eventId}` });
      message.ack();
    } catch (error) {
      log("warn", "events.dead_letter_error", { eventId: m.eventId, detail: detail(error) });
      message.retry({ delaySeconds: STORAGE_RETRY_S });
    }
  }
}
