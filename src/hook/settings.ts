/**
 * Which server decides an agent's calls (docs/pre-call-hook.md): the agent's own `callHook`, else the Worker's
 * `CALL_HOOK_URL` default, else none (`"callHook": null` turns the default off for one agent). Shared by the
 * Worker and the CLI (agents/schema.ts): plain TypeScript, no Workers types.
 */
import { isSecureOrLoopback } from "../https-only.ts";

/** What the hook gets when an agent names no timeout: well under Retell's own 10 s, since a caller is ringing. */
export const DEFAULT_HOOK_TIMEOUT_MS = 2_500;
/** The most a hook may take: it comes out of Twilio's 15 s, and Retell's registration still needs its share. */
export const MAX_HOOK_TIMEOUT_MS = 5_000;
/** Below this no server on the internet can answer; a smaller value is a typo. */
export const MIN_HOOK_TIMEOUT_MS = 100;

export interface CallHook {
  url: string;
  /** Milliseconds for the whole exchange, the one retry included (default DEFAULT_HOOK_TIMEOUT_MS). */
  timeoutMs?: number;
}

export type CallHookCheck = { ok: true; hook: CallHook } | { ok: false; detail: string };

/** Why `value` cannot be a hook URL (a phrase to follow the field's name), or null when it can. */
export function hookUrlProblem(value: unknown): string | null {
  if (typeof value !== "string" || value.trim() === "") return "is not a URL";
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "is not a URL";
  }
  if (url.username || url.password) return "must not carry a user name or password: the request is signed instead";
  if (url.hash) return "must not have a #fragment";
  if (isSecureOrLoopback(url)) return null;
  return "must be https:// (plain http only to 127.0.0.1 or localhost)";
}

/** Validates an agent's `callHook` object; `field` names it in the detail. */
export function validateCallHook(value: unknown, field = "callHook"): CallHookCheck {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { ok: false, detail: `${field} is not an object (or null to turn the default hook off)` };
  const fields = value as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (key !== "url" && key !== "timeoutMs") return { ok: false, detail: `${field} has an unknown field "${key}"` };
  }
  const problem = hookUrlProblem(fields.url);
  if (problem !== null) return { ok: false, detail: `${field}.url ${problem}` };
  const hook: CallHook = { url: fields.url as string };
  if (fields.timeoutMs !== undefined) {
    const ms = fields.timeoutMs;
    if (typeof ms !== "number" || !Number.isSafeInteger(ms) || ms < MIN_HOOK_TIMEOUT_MS || ms > MAX_HOOK_TIMEOUT_MS) {
      return { ok: false, detail: `${field}.timeoutMs is not a whole number from ${MIN_HOOK_TIMEOUT_MS} to ${MAX_HOOK_TIMEOUT_MS}` };
    }
    hook.timeoutMs = ms;
  }
  return { ok: true, hook };
}

export type EffectiveHook = { kind: "none" } | { kind: "hook"; hook: CallHook } | { kind: "invalid_default"; detail: string };

/** The hook that decides an agent's calls: its own, else the default URL, else none. */
export function effectiveHook(agentHook: CallHook | null | undefined, defaultUrl: string | undefined): EffectiveHook {
  if (agentHook === null) return { kind: "none" };
  if (agentHook !== undefined) return { kind: "hook", hook: agentHook };
  const url = defaultUrl?.trim();
  if (!url) return { kind: "none" };
  const problem = hookUrlProblem(url);
  return problem === null ? { kind: "hook", hook: { url } } : { kind: "invalid_default", detail: `CALL_HOOK_URL ${problem}` };
}

export function hookTimeoutMs(hook: CallHook): number {
  return hook.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
}
