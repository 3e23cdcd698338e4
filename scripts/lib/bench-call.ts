/**
 * The call `npm run bench` makes, shared by its end-to-end stages (scripts/bench.ts) and the per-step
 * micro-benchmark (own-work.ts): every agent's routing rules, the global blocklist, and the pre-call hook's answer.
 */

/**
 * Every number's agent has routing rules, so their cost is in the figures: opening hours (open at every hour, in
 * a zone with DST) and blocked callers; beside them a global blocklist of 52 entries (src/rules/decide.ts). The
 * bench's callers (+1415…) match none of them.
 */
export const ROUTING_RULES = {
  schedule: {
    timeZone: "Australia/Melbourne",
    hours: Object.fromEntries(["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map((day) => [day, ["00:00-24:00"]])),
    afterHours: { say: "We are closed." },
  },
  blockedCallers: ["+1900*", "anonymous"],
};
export const BLOCKLIST = [...Array.from({ length: 50 }, (_, i) => `+1900${String(i).padStart(7, "0")}`), "+1976*", "anonymous"];
/** The hook's answer: a caller greeted by name, merged into each registration. */
export const HOOK_ANSWER = { call_inbound: { dynamic_variables: { customer_name: "Ada" }, metadata: { crm_id: "c-42" } } };
