/**
 * The bridge's own numbers: every number with a mapping in KV (`+E.164` → agent). A call from the bridge to one
 * of them comes straight back into the bridge: each hop another billed leg, or an outbound agent talking to an
 * inbound one for up to an hour. So a fallback, an after-hours number, a transfer destination or an outbound
 * `to` may never be one: checked when the value is written (the CLI, with agents/loop-guard.ts), and again when it
 * would be dialed (calls/fallback-guard.ts, transfers/transfer.ts, outbound/place.ts).
 */
import { KV_TIMEOUT_MS, readKv } from "./lookup.ts";
import { normalizeE164 } from "../phone.ts";

/** Whether `target` (a number in any form, or a `sip:` URI, which is never ours) has a mapping. KV failing throws: the caller refuses. */
export async function isOwnNumber(kv: KVNamespace, target: string, timeoutMs = KV_TIMEOUT_MS): Promise<boolean> {
  const number = normalizeE164(target);
  if (number === null) return false;
  return (await readKv(kv, number, timeoutMs)) !== null;
}
