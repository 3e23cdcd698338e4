/**
 * `npm run doctor`'s check of the operator's pre-call hooks (docs/pre-call-hook.md): one clearly marked test
 * request to each configured hook (`"test": true`, from +15005550006, Twilio's test number), signed with the
 * Worker's own code exactly as a call's would be, and what came back: the latency and whether the answer parses.
 */
import type { AgentConfig } from "../../src/agents/schema.ts";
import { callHook, type HookReply } from "../../src/hook/client.ts";
import { hookRequest } from "../../src/hook/request.ts";
import { effectiveHook, hookTimeoutMs, type CallHook } from "../../src/hook/settings.ts";
import { newMessageId, signer } from "../../src/standard-webhooks/sign.ts";

/** Twilio's magic test number: a caller no CRM knows. */
export const TEST_CALLER = "+15005550006";
/** A CallSid that is clearly not a real call. */
const TEST_CALL_SID = `CA${"0".repeat(32)}`;

export interface HookTarget {
  hook: CallHook;
  /** The KV keys whose agents use it. */
  keys: string[];
  /** The first of those agents: the test request names it. */
  agent: AgentConfig;
}

/** Each hook the agents use (their own, or the CALL_HOOK_URL default), once, with the keys that use it. */
export function hookTargets(agents: Map<string, AgentConfig>, defaultUrl: string | undefined): { targets: HookTarget[]; invalidDefault?: string } {
  const byUrl = new Map<string, HookTarget>();
  let invalidDefault: string | undefined;
  for (const [key, agent] of agents) {
    const which = effectiveHook(agent.callHook, defaultUrl);
    if (which.kind === "invalid_default") invalidDefault = which.detail;
    if (which.kind !== "hook") continue;
    const target = byUrl.get(which.hook.url);
    if (target) target.keys.push(key);
    else byUrl.set(which.hook.url, { hook: which.hook, keys: [key], agent });
  }
  return { targets: [...byUrl.values()], ...(invalidDefault && { invalidDefault }) };
}

export type HookCheck = { ok: true; text: string } | { ok: false; text: string; fix: string };

/** What a reply says about the hook, for the checklist. */
function describe(target: HookTarget, reply: HookReply): HookCheck {
  const name = `${target.hook.url} (${target.keys.join(", ")})`;
  if (reply.ok) {
    const answer = reply.answer;
    const said = answer.reject ? "reject" : Object.keys(answer).length === 0 ? "go ahead as configured" : `sets ${Object.keys(answer).join(", ")}`;
    return { ok: true, text: `${name} answered the test request in ${reply.ms} ms (HTTP ${reply.status}); its answer parses: ${said}` };
  }
  const after = `after ${reply.ms} ms`;
  switch (reply.reason) {
    case "timeout":
      return { ok: false, text: `${name} did not answer within its ${hookTimeoutMs(target.hook)} ms: calls go ahead as configured`, fix: "make the hook answer sooner, or raise callHook.timeoutMs (at most 5000)" };
    case "status":
      return {
        ok: false,
        text: `${name} answered HTTP ${reply.status} ${after}: calls go ahead as configured`,
        fix: reply.status === 401 || reply.status === 403 ? "give the hook's server the Worker's WEBHOOK_SIGNING_SECRET to verify with" : "read the hook server's log for the test request (\"test\": true)",
      };
    case "redirect":
      return { ok: false, text: `${name} answered a redirect (HTTP ${reply.status}), which the Worker does not follow`, fix: "set callHook.url to the final URL" };
    case "too_large":
    case "invalid":
      return { ok: false, text: `${name}: its answer does not parse (${reply.detail}): calls go ahead as configured`, fix: "answer Retell's shape: {\"call_inbound\":{\"dynamic_variables\":{…},…}} (docs/pre-call-hook.md)" };
    case "unreachable":
      return { ok: false, text: `${name} is unreachable (${reply.detail}) ${after}`, fix: "check the URL and that the server is up" };
  }
}

/** Sends each hook its test request, one after the other, signed with `secret` (and the secondary during a rotation). */
export async function checkHooks(targets: HookTarget[], secrets: { primary?: string | undefined; secondary?: string | undefined }): Promise<HookCheck[]> {
  const sign = signer({ ...secrets, primaryName: "WEBHOOK_SIGNING_SECRET", secondaryName: "WEBHOOK_SIGNING_SECRET_SECONDARY" });
  if (!sign.ok) throw new Error(`${sign.secret} ${sign.problem}`);
  const checks: HookCheck[] = [];
  for (const target of targets) {
    const call = { callSid: TEST_CALL_SID, from: TEST_CALLER, to: target.keys.find((k) => k.startsWith("+")) ?? TEST_CALLER, dryRun: false };
    const body = JSON.stringify(hookRequest(call, target.agent, { test: true }));
    const reply = await callHook({ url: target.hook.url, body, messageId: newMessageId(), sign: sign.sign, timeoutMs: hookTimeoutMs(target.hook) });
    checks.push(describe(target, reply));
  }
  return checks;
}
