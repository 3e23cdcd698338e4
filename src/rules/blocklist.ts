/**
 * The global blocklist: KV key `rules:blocked`, a JSON array of caller patterns (rules/callers.ts), read beside
 * the agent's value and cached the same way (agents/lookup.ts), so it adds no round trip.
 *
 * It fails open: a malformed value, or KV failing to give it, is logged and the call goes on as if nothing were
 * blocked. The blocklist only ever takes calls away, and one global key written wrongly by hand must not silence
 * every number at once; `npm run rules` validates before it writes, so only a hand-made value can be malformed.
 */
import { readKv } from "../agents/lookup.ts";
import { log } from "../log.ts";
import { validateCallerPatterns } from "./callers.ts";

export const BLOCKLIST_KEY = "rules:blocked";
/** Beside the agent lookup: a blocklist read slower than this gives up, so it never holds a call up for long. */
export const BLOCKLIST_TIMEOUT_MS = 1_000;

export type BlocklistParse = { ok: true; patterns: string[] } | { ok: false; detail: string };

/** A stored `rules:blocked` value (null: no key, nothing blocked). Shared with the CLI. */
export function parseBlocklist(raw: string | null): BlocklistParse {
  if (raw === null) return { ok: true, patterns: [] };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, detail: `${BLOCKLIST_KEY} is not valid JSON` };
  }
  return validateCallerPatterns(value, BLOCKLIST_KEY);
}

/** The last value parsed, so a memoised blocklist is not parsed again on every call. */
let parsed: { raw: string | null; result: BlocklistParse } | undefined;

/** The global blocklist's patterns; an empty list when it is missing, malformed or unreadable (logged). */
export async function readBlocklist(kv: KVNamespace, timeoutMs = BLOCKLIST_TIMEOUT_MS): Promise<string[]> {
  let raw: string | null;
  try {
    raw = await readKv(kv, BLOCKLIST_KEY, timeoutMs);
  } catch (error) {
    log("warn", "rules.blocklist_unreadable", { detail: error instanceof Error ? error.message : String(error) });
    return [];
  }
  if (parsed?.raw !== raw) parsed = { raw, result: parseBlocklist(raw) };
  if (parsed.result.ok) return parsed.result.patterns;
  log("error", "rules.blocklist_invalid", { detail: parsed.result.detail, fix: "npm run rules -- list shows it; rewrite it with npm run rules -- block" });
  return [];
}
