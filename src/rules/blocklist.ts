/**
 * The global blocklist's stored form: KV key `rules:blocked`, a JSON array of caller patterns (rules/callers.ts).
 * Shared by the Worker (rules/route-call.ts reads it) and the CLI (`npm run rules`): plain TypeScript.
 */
import { validateCallerPatterns, type PatternsResult } from "./callers.ts";

export const BLOCKLIST_KEY = "rules:blocked";

/** A stored `rules:blocked` value (null: no key, nothing blocked). Shared with the CLI. */
export function parseBlocklist(raw: string | null): PatternsResult {
  if (raw === null) return { ok: true, patterns: [] };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, detail: `${BLOCKLIST_KEY} is not valid JSON` };
  }
  return validateCallerPatterns(value, BLOCKLIST_KEY);
}

