/**
 * Finds the agent that serves a call: by the dialed number, or by the agent id in the URL.
 */
import { AGENT_KEY_PREFIX, ROUTE_AGENT_ID, parseAgentValue, type AgentConfig, type AgentLookupFailure } from "./schema.ts";
import { withDeadline } from "../deadline.ts";
import { normalizeE164 } from "../phone.ts";

/** KV's minimum cacheTtl (developers.cloudflare.com/kv/platform/limits): reads are served from the colo's cache. */
const KV_CACHE_TTL_SECONDS = 30;
/** In-isolate memo on top of KV's cache; with KV's 30 s, a changed mapping applies within 60 s. */
const MEMO_TTL_MS = 30_000;
/** Bounds the memo's memory in an isolate (128 MB in all). */
const MEMO_MAX_ENTRIES = 1_000;
/** A KV read slower than this is treated as a failure, so the caller still hears an answer well within Twilio's 15 s. */
export const KV_TIMEOUT_MS = 3_000;

export type AgentLookup =
  | { ok: true; key: string; agent: AgentConfig }
  | { ok: false; key: string | null; reason: AgentLookupFailure; detail: string };

const memo = new Map<string, { value: string | null; expires: number }>();

/** The KV key for a call: `agent:<id>` on the per-agent route, else the dialed number in E.164. */
export function agentKey(route: { agentId?: string; to: string }): string | null {
  if (route.agentId !== undefined) {
    return ROUTE_AGENT_ID.test(route.agentId) ? AGENT_KEY_PREFIX + route.agentId : null;
  }
  return normalizeE164(route.to);
}

/** A KV read through the colo cache and the in-isolate memo; also for other keys read beside the agent's (rules/blocklist.ts). */
export async function readKv(kv: KVNamespace, key: string, timeoutMs: number): Promise<string | null> {
  const now = Date.now();
  const hit = memo.get(key);
  if (hit && hit.expires > now) return hit.value;
  const value = await withDeadline(kv.get(key, { cacheTtl: KV_CACHE_TTL_SECONDS }), timeoutMs, "KV read");
  if (memo.size >= MEMO_MAX_ENTRIES) memo.delete(memo.keys().next().value as string);
  memo.set(key, { value, expires: now + MEMO_TTL_MS });
  return value;
}

export async function lookupAgent(
  kv: KVNamespace,
  key: string | null,
  timeoutMs: number = KV_TIMEOUT_MS,
): Promise<AgentLookup> {
  if (key === null) return { ok: false, key, reason: "agent_not_found", detail: "no valid number or agent id to look up" };
  let raw: string | null;
  try {
    raw = await readKv(kv, key, timeoutMs);
  } catch (error) {
    return { ok: false, key, reason: "agent_lookup_failed", detail: error instanceof Error ? error.message : String(error) };
  }
  if (raw === null) return { ok: false, key, reason: "agent_not_found", detail: "no KV entry" };
  const parsed = parseAgentValue(raw);
  return parsed.ok ? { ok: true, key, agent: parsed.agent } : { ok: false, key, reason: parsed.reason, detail: parsed.detail };
}

/** Tests only: forget memoised reads so a test sees its own KV writes at once. */
export function clearAgentMemo(): void {
  memo.clear();
}
