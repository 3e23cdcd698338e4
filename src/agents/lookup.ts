/**
 * Finds the agent that serves a call: by the dialed number, or by the agent id in the URL.
 */
import { AGENT_KEY_PREFIX, ROUTE_AGENT_ID } from "../agent-key.ts";
import { parseAgentValue, type AgentConfig, type AgentParseResult } from "./schema.ts";
import type { AgentLookupFailure } from "../line/voice-outcome.ts";
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

interface MemoEntry {
  value: string | null;
  expires: number;
  /** The value parsed and validated as an agent, once: every call within the memo's life reuses it. */
  agent?: AgentParseResult;
}

const memo = new Map<string, MemoEntry>();

/** The KV key for a call: `agent:<id>` on the per-agent route, else the dialed number in E.164. */
export function agentKey(route: { agentId?: string; to: string }): string | null {
  if (route.agentId !== undefined) {
    return ROUTE_AGENT_ID.test(route.agentId) ? AGENT_KEY_PREFIX + route.agentId : null;
  }
  return normalizeE164(route.to);
}

/** The memo's entry for a key, read through the colo cache when it has none or it expired. */
async function readEntry(kv: KVNamespace, key: string, timeoutMs: number): Promise<MemoEntry> {
  const now = Date.now();
  const hit = memo.get(key);
  if (hit && hit.expires > now) return hit;
  const value = await withDeadline(kv.get(key, { cacheTtl: KV_CACHE_TTL_SECONDS }), timeoutMs, "KV read");
  if (memo.size >= MEMO_MAX_ENTRIES) memo.delete(memo.keys().next().value as string);
  // A value read again unchanged keeps its parsed agent: parsing is per value, not per read.
  const entry: MemoEntry = { value, expires: now + MEMO_TTL_MS, ...(hit?.value === value && hit.agent && { agent: hit.agent }) };
  memo.set(key, entry);
  return entry;
}

/** A KV read through the colo cache and the in-isolate memo; also for other keys read beside the agent's (rules/blocklist.ts). */
export async function readKv(kv: KVNamespace, key: string, timeoutMs: number): Promise<string | null> {
  return (await readEntry(kv, key, timeoutMs)).value;
}

export async function lookupAgent(
  kv: KVNamespace,
  key: string | null,
  timeoutMs: number = KV_TIMEOUT_MS,
): Promise<AgentLookup> {
  if (key === null) return { ok: false, key, reason: "agent_not_found", detail: "no valid number or agent id to look up" };
  let entry: MemoEntry;
  try {
    entry = await readEntry(kv, key, timeoutMs);
  } catch (error) {
    return { ok: false, key, reason: "agent_lookup_failed", detail: error instanceof Error ? error.message : String(error) };
  }
  if (entry.value === null) return { ok: false, key, reason: "agent_not_found", detail: "no KV entry" };
  // Shared by every call the memo serves: nothing downstream changes an agent (they copy what they add to).
  const parsed = (entry.agent ??= parseAgentValue(entry.value));
  return parsed.ok ? { ok: true, key, agent: parsed.agent } : { ok: false, key, reason: parsed.reason, detail: parsed.detail };
}

/** Tests only: forget memoised reads so a test sees its own KV writes at once. */
export function clearAgentMemo(): void {
  memo.clear();
}
