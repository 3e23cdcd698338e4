/**
 * One transfer attempt as a call's record keeps it (src/records/transfer-attempt.ts): just asked for, its call update
 * awaited, unless `change` says how far it went. Plain TypeScript, for tests in either project (Workers and Node).
 */
import { newAttempt, type TransferAttempt } from "../src/records/transfer-attempt.ts";

export function transferAttempt(change: Partial<TransferAttempt> = {}): TransferAttempt {
  return { ...newAttempt({ destination: "sales", requestedAt: 1, retellCallId: "call_a", requestKey: "k" }), ...change };
}
