/**
 * The Worker's reads and writes of KV `webhooks` (records/endpoints.ts has the schema, shared with the CLI): the
 * line's alarm reads the endpoints to send its events (line/object.ts), the events room delivers to them (events/).
 */
import { log } from "../log.ts";
import { parseEndpoints, WEBHOOKS_KEY, type WebhookEndpoint } from "./endpoints.ts";

/** KV's minimum cacheTtl (developers.cloudflare.com/kv/platform/limits): a change reaches every location within a minute. */
const KV_CACHE_TTL_SECONDS = 60;

/** The configured endpoints; a malformed value is logged and treated as none (fails closed: nothing is sent). Throws when KV fails. */
export async function loadEndpoints(kv: KVNamespace, fresh = false): Promise<WebhookEndpoint[]> {
  const raw = await kv.get(WEBHOOKS_KEY, fresh ? {} : { cacheTtl: KV_CACHE_TTL_SECONDS });
  const parsed = parseEndpoints(raw);
  if (!parsed.ok) {
    log("error", "events.endpoints_invalid", { detail: parsed.detail, fix: "npm run webhooks -- list shows the problem; fix it with npm run webhooks" });
    return [];
  }
  return parsed.endpoints;
}

/** Turns an endpoint off with the reason `webhooks list` shows (a 410 Gone from it). */
export async function disableEndpoint(kv: KVNamespace, id: string, reason: string): Promise<void> {
  const endpoints = await loadEndpoints(kv, true);
  const endpoint = endpoints.find((e) => e.id === id);
  if (!endpoint || endpoint.enabled === false) return;
  endpoint.enabled = false;
  endpoint.disabledReason = reason;
  await kv.put(WEBHOOKS_KEY, JSON.stringify(endpoints));
}

/** Whether any enabled endpoint takes Retell's own bodies; a KV failure counts as yes (the line keeps the event). */
export async function passesRetellEvents(kv: KVNamespace): Promise<boolean> {
  try {
    return (await loadEndpoints(kv)).some((e) => e.format === "retell" && e.enabled !== false);
  } catch {
    return true;
  }
}
