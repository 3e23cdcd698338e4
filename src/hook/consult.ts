/**
 * Asking the operator's hook about a call (docs/pre-call-hook.md): which hook applies, the signed request, the
 * result as the record keeps it, and the `hook.failed` log line. Fails open: whatever goes wrong, the call goes
 * ahead as configured; only a valid answer with `reject` turns the caller away. The hook's variables and metadata
 * never reach a log.
 */
import type { AgentConfig } from "../agents/schema.ts";
import { webhookSigner } from "../config.ts";
import type { Bindings } from "../env.ts";
import { log } from "../log.ts";
import { newMessageId } from "../standard-webhooks/sign.ts";
import type { InboundCall } from "../twilio/params.ts";
import type { HookResult } from "../records/list.ts";
import type { StoredHook } from "../line/stored-hook.ts";
import { callHook, type HookFailure } from "./client.ts";
import { hookRequest } from "./request.ts";
import { effectiveHook, hookTimeoutMs } from "./settings.ts";

/** The record's result for each way a hook call fails. */
const FAILURE_RESULT: Record<HookFailure | "unsigned", HookResult> = {
  timeout: "timeout",
  unreachable: "error",
  redirect: "error",
  status: "error",
  unsigned: "error",
  too_large: "invalid",
  invalid: "invalid",
};

/**
 * The hook's decision for `call`, about to be taken by `agent`; null when no hook applies. `timeLeftMs` bounds
 * the hook's own deadline by what remains of the webhook's time.
 */
export async function askHook(env: Bindings, call: InboundCall, agent: AgentConfig, timeLeftMs: number): Promise<StoredHook | null> {
  const which = effectiveHook(agent.callHook, env.CALL_HOOK_URL);
  if (which.kind === "none") return null;
  const failed = (reason: HookFailure | "unsigned", fields: Record<string, unknown>, ms: number): StoredHook => {
    log("warn", "hook.failed", { callSid: call.callSid, retellAgentId: agent.retellAgentId, reason, ms, ...fields });
    return { result: FAILURE_RESULT[reason], ms, answer: {} };
  };
  if (which.kind === "invalid_default") {
    log("error", "config.invalid_var", { var: "CALL_HOOK_URL", detail: which.detail });
    return null;
  }
  const signer = webhookSigner(env);
  // Never sent unsigned: without a valid secret the hook is skipped and the call goes ahead as configured.
  if (!signer.ok) return failed("unsigned", { detail: `${signer.secret} ${signer.problem}`, fix: `wrangler secret put ${signer.secret}` }, 0);
  const reply = await callHook({
    url: which.hook.url,
    body: JSON.stringify(hookRequest(call, agent)),
    messageId: newMessageId(),
    sign: signer.sign,
    timeoutMs: Math.max(0, Math.min(hookTimeoutMs(which.hook), timeLeftMs)),
  });
  if (!reply.ok) return failed(reply.reason, { ...(reply.status !== undefined && { status: reply.status }), attempts: reply.attempts, detail: reply.detail }, reply.ms);
  return { result: reply.answer.reject ? "rejected" : "ok", ms: reply.ms, answer: reply.answer };
}
