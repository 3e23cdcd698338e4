/**
 * What the line keeps of the pre-call hook's answer (on the call's row, line/calls-table.ts), so no later leg of the
 * call asks again: the answer's type lives here, below the hook room that asks and checks it (hook/). Plain
 * TypeScript, shared with the CLI (`npm run hooks` checks an answer with hook/answer.ts).
 */
import type { CallRegisterPhoneCallParams } from "retell-sdk/resources/call";
import type { HookResult } from "../records/list.ts";

/** A JSON value as JSON.parse gives it (objects and arrays left untyped: they are passed on as they came). */
export type JsonValue = string | number | boolean | null | object;

/** The hook's answer as hook/answer.ts checks it: Retell's inbound-webhook answer plus the bridge's `reject`. */
export interface HookAnswer {
  override_agent_id?: string;
  override_agent_version?: number;
  dynamic_variables?: Record<string, string>;
  metadata?: { [key: string]: JsonValue };
  agent_override?: CallRegisterPhoneCallParams.AgentOverride;
  /** The bridge's extension: turn the caller away with `<Reject reason="rejected"/>`. */
  reject?: boolean;
}

/** What the line keeps of a hook's answer (hook/consult.ts askHook makes it), so no later leg of the call asks again. */
export interface StoredHook {
  result: HookResult;
  ms: number;
  /** The answer to apply: empty unless the result is `ok`. */
  answer: HookAnswer;
}
