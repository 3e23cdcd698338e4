/**
 * An outbound call's context (outbound/context.ts) found by its CallSid, from the line's `outbound` table
 * (line/object.ts documents it): the way back to the AI after a failed transfer registers the call again with
 * exactly what its first registration sent (transfers/way-back.ts). The row outlives the call: it is forgotten
 * only after SLOT_TIMEOUT_MS from its reservation, longer than Twilio lets the call last (outbound/limits.ts).
 */
import type { OutboundContext } from "../outbound/context.ts";

export function outboundContextOfCall(sql: SqlStorage, callSid: string): OutboundContext | null {
  const row = sql.exec<{ context: string }>("SELECT context FROM outbound WHERE call_sid = ?", callSid).toArray()[0];
  return row ? (JSON.parse(row.context) as OutboundContext) : null;
}
