/**
 * Where the Worker listens, as Twilio must be configured to call it (src/app.ts routes).
 */
import { AGENT_KEY_PREFIX, ROUTE_AGENT_ID } from "../../src/agent-key.ts";
import { httpsOnlyMessage, isSecureOrLoopback } from "../../src/https-only.ts";
import { normalizeE164 } from "../../src/phone.ts";
import { readWranglerConfig } from "./config.ts";
import { usageError } from "./errors.ts";
import type { Settings } from "./settings.ts";

export const VOICE_PATH = "/api/webhooks/twilio";
/** Twilio's status callback route (call records). */
export const STATUS_PATH = `${VOICE_PATH}/status`;
/** Sub-paths of VOICE_PATH that are not per-agent voice routes. */
const RESERVED = new Set(["status", "dial-complete", "transfer-complete", "transfer-whisper", "hold", "hold-complete", "voicemail", "voicemail-end"]);

/**
 * A public base URL: scheme and host (and port), no path; a trailing slash is dropped. https only unless the host is
 * this machine (src/https-only.ts): the CLI sends ADMIN_TOKEN or CALLS_TOKEN there, and Twilio sends calls there.
 * `flag` names the setting in the message (`--url`, `WEBHOOK_BASE_URL`).
 */
export function parseBaseUrl(input: string, flag = "--url"): string {
  const origin = input.trim().replace(/\/+$/, "");
  let url: URL | undefined;
  try {
    url = new URL(origin);
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol) || url.pathname !== "/" || url.search || url.hash || !/^https?:\/\/[^/?#\s]+$/i.test(origin)) {
    throw usageError(`${flag} ${JSON.stringify(input)} is not a base URL: give the scheme and host only, such as https://calls.example.com or https://twilio-retell-bridge.<subdomain>.workers.dev.`);
  }
  if (!isSecureOrLoopback(url)) {
    throw usageError(`${httpsOnlyMessage(flag)}: ${origin} would carry tokens and calls' details in clear; nothing was sent.`, `use ${origin.replace(/^http:/i, "https:")}`);
  }
  return origin;
}

export interface BridgeRoute {
  origin: string;
  /** Set for the per-agent route /api/webhooks/twilio/<agentId>. */
  agentId?: string;
}

/** The bridge route a Voice URL points at (any host), or null when it is not one of the Worker's voice routes. */
export function bridgeRoute(voiceUrl: string | null | undefined): BridgeRoute | null {
  if (!voiceUrl) return null;
  let url: URL;
  try {
    url = new URL(voiceUrl);
  } catch {
    return null;
  }
  const path = url.pathname.replace(/\/+$/, "");
  if (path === VOICE_PATH) return { origin: url.origin };
  if (!path.startsWith(VOICE_PATH + "/")) return null;
  let agentId: string;
  try {
    agentId = decodeURIComponent(path.slice(VOICE_PATH.length + 1));
  } catch {
    // A malformed escape (…/%E0%A4%A) names no route id, so no agent of the Worker answers there.
    return null;
  }
  return ROUTE_AGENT_ID.test(agentId) && !RESERVED.has(agentId) ? { origin: url.origin, agentId } : null;
}

/** The KV key the Worker reads for a call to `phoneNumber` through `route`. */
export function routeKey(route: BridgeRoute | null, phoneNumber: string): string | null {
  return route?.agentId ? AGENT_KEY_PREFIX + route.agentId : normalizeE164(phoneNumber);
}

/** WEBHOOK_BASE_URL as the Worker sees it: the environment or .dev.vars, else wrangler.toml [vars]. */
export function webhookBaseUrl(settings: Settings, configPath: string, mode: "local" | "remote"): { value: string; source: string } | undefined {
  if (mode === "local") {
    const own = settings.get("WEBHOOK_BASE_URL");
    if (own) return { value: own.value.replace(/\/+$/, ""), source: own.source };
  }
  try {
    const value = readWranglerConfig(configPath).vars.WEBHOOK_BASE_URL?.trim();
    return value ? { value: value.replace(/\/+$/, ""), source: "wrangler.toml [vars]" } : undefined;
  } catch {
    return undefined;
  }
}
