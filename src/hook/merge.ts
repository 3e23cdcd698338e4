/**
 * The hook's answer applied to a `register-phone-call` request (retell-sdk `CallRegisterPhoneCallParams`), field by
 * field as Retell applies its own inbound webhook's answer. The Worker's own facts win: the `twilio_*` metadata
 * that brings Retell's events back to the call's line, and the caller's and called numbers Twilio gave.
 */
import type { CallRegisterPhoneCallParams } from "retell-sdk/resources/call";
import type { HookAnswer } from "../line/stored-hook.ts";

/** The metadata prefix that is the Worker's own (calls/connect.ts): never taken from a hook. */
const WORKER_METADATA_PREFIX = "twilio_";

function workerOwn<T>(values: Record<string, T> | undefined, own: (key: string) => boolean): Record<string, T> {
  return Object.fromEntries(Object.entries(values ?? {}).filter(([key]) => own(key)));
}

/**
 * `workerVariables` are the dynamic variables the Worker built from what Twilio said about the call (its numbers,
 * its SHAKEN/STIR result: calls/connect.ts `workerVariables`), passed in by the code that built them so the two
 * cannot drift: never taken from a hook.
 */
export function applyHookAnswer(params: CallRegisterPhoneCallParams, answer: HookAnswer, workerVariables: Readonly<Record<string, string>>): CallRegisterPhoneCallParams {
  const merged: CallRegisterPhoneCallParams = { ...params };
  if (answer.override_agent_id !== undefined) {
    merged.agent_id = answer.override_agent_id;
    // The configured version belongs to the configured agent; another agent runs at the version the hook names, else its latest.
    delete merged.agent_version;
  }
  if (answer.override_agent_version !== undefined) merged.agent_version = answer.override_agent_version;
  if (answer.dynamic_variables !== undefined) {
    merged.retell_llm_dynamic_variables = { ...params.retell_llm_dynamic_variables, ...answer.dynamic_variables, ...workerVariables };
  }
  if (answer.metadata !== undefined) {
    const theirs = Object.fromEntries(Object.entries(answer.metadata).filter(([key]) => !key.startsWith(WORKER_METADATA_PREFIX)));
    const own = workerOwn(params.metadata as Record<string, unknown> | undefined, (key) => key.startsWith(WORKER_METADATA_PREFIX));
    merged.metadata = { ...(params.metadata as Record<string, unknown> | undefined), ...theirs, ...own };
  }
  if (answer.agent_override !== undefined) merged.agent_override = answer.agent_override;
  return merged;
}
