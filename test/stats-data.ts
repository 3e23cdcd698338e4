/**
 * A known data set of call records and the statistics it must give, worked out by hand from the definitions in
 * src/records/stats.ts (nearest-rank percentiles). Plain TypeScript: used by the worker tests (D1 binding) and the
 * CLI test (wrangler d1 execute).
 */
import type { Figures } from "../src/records/stats.ts";
import type { TransferAttempt } from "../src/records/transfer-attempt.ts";
import { transferAttempt } from "./transfer-attempt.ts";

const DAY1 = Date.parse("2026-11-18T10:00:00Z");
const DAY2 = Date.parse("2026-11-19T15:30:00Z");
export const STATS_SINCE = "2026-11-18";
export const STATS_UNTIL = "2026-11-19";

type Row = Record<string, string | number | null> & { call_sid: string; created_at: number };

const sid = (n: number) => `CA${String(n).padStart(32, "0")}`;
const alpha = { agent_key: "+61341510001", retell_agent_id: "agent_alpha" };
const rules = { agent_key: "+61341510002", retell_agent_id: "agent_rules" };
const outbound = { agent_key: "+61341510003", retell_agent_id: "agent_outbound", direction: "outbound" };
const transferring = { agent_key: "+61341510004", retell_agent_id: "agent_transfers" };
const busy = { agent_key: "+61341510005", retell_agent_id: "agent_busy" };
const hooked = { agent_key: "+61341510006", retell_agent_id: "agent_hooked" };
const missedLine = { agent_key: "+61341510007", retell_agent_id: "agent_missed" };

/** A `transfers` column: attempts with the fields that matter to the figures (the rest as an attempt starts). */
function attempts(list: Partial<TransferAttempt>[]): string {
  return JSON.stringify(list.map((a) => transferAttempt({ requestedAt: DAY2, retellCallId: "call_first", ...a })));
}

export const STATS_ROWS: Row[] = [
  // agent_alpha, 2026-11-18
  { call_sid: sid(1), created_at: DAY1, ...alpha, outcome: "connected", duration_s: 60, retell_register_ms: 100, retell_started_at: DAY1 + 900, user_sentiment: "Positive", call_successful: 1 },
  { call_sid: sid(2), created_at: DAY1 + 1, ...alpha, outcome: "connected", duration_s: 120, retell_register_ms: 200, retell_started_at: DAY1 + 900, user_sentiment: "Negative", call_successful: 0 },
  { call_sid: sid(3), created_at: DAY1 + 2, ...alpha, outcome: "fallback_dialed", outcome_reason: "retell_timeout", duration_s: 30, retell_register_ms: 8000 },
  { call_sid: sid(4), created_at: DAY1 + 3, ...alpha, outcome: "fallback_dialed", outcome_reason: "dial_busy", duration_s: 10, retell_register_ms: 150, dial_status: "busy" },
  // agent_alpha, 2026-11-19: durations from DialCallDuration and from Retell's duration_ms (45.4 s → 45)
  { call_sid: sid(5), created_at: DAY2, ...alpha, outcome: "connected", dial_duration_s: 300, dial_status: "completed", retell_register_ms: 120, user_sentiment: "Neutral", call_successful: 1 },
  { call_sid: sid(6), created_at: DAY2 + 1, ...alpha, outcome: "retell_failed", outcome_reason: "retell_rejected", duration_s: 5, retell_register_ms: 90 },
  { call_sid: sid(7), created_at: DAY2 + 2, ...alpha, outcome: "connected", retell_duration_ms: 45_400, retell_register_ms: 110, retell_started_at: DAY2 + 800, user_sentiment: "Positive", call_successful: 1 },
  // Known only from a status callback: no agent, no outcome.
  { call_sid: sid(8), created_at: DAY2 + 3, twilio_status: "completed", duration_s: 7 },
  // A number with no agent.
  { call_sid: sid(9), created_at: DAY2 + 4, agent_key: "+61399990000", outcome: "agent_not_found", duration_s: 4 },
  // agent_missed, 2026-11-19: calls the bridge never answered, known from Twilio's status callback (src/line/missed.ts).
  { call_sid: sid(15), created_at: DAY2 + 15, ...missedLine, outcome: "missed", twilio_status: "completed", duration_s: 20 },
  { call_sid: sid(16), created_at: DAY2 + 16, ...missedLine, outcome: "missed", twilio_status: "canceled" },
  // agent_rules, 2026-11-19: what the routing rules record (src/rules/decide.ts).
  { call_sid: sid(20), created_at: DAY2 + 10, ...rules, outcome: "blocked", outcome_reason: "global_blocklist" },
  { call_sid: sid(21), created_at: DAY2 + 11, ...rules, outcome: "rate_limited", outcome_reason: "caller_rate_limit" },
  { call_sid: sid(22), created_at: DAY2 + 12, ...rules, outcome: "after_hours", outcome_reason: "after_hours" },
  { call_sid: sid(23), created_at: DAY2 + 13, ...rules, outcome: "after_hours", outcome_reason: "caller_not_allowed" },
  { call_sid: sid(24), created_at: DAY2 + 14, ...rules, outcome: "connected", outcome_reason: "after_hours", retell_register_ms: 100 },
  // agent_outbound, 2026-11-19: calls placed through POST /api/calls, one of each way an outbound call ends.
  { call_sid: sid(30), created_at: DAY2 + 30, ...outbound, outcome: "connected", answered_by: "human", voice_received_at: DAY2 + 60, retell_started_at: DAY2 + 61, retell_register_ms: 100 },
  { call_sid: sid(31), created_at: DAY2 + 31, ...outbound, outcome: "machine_answered", outcome_reason: "machine_hangup", answered_by: "machine_start", voice_received_at: DAY2 + 60 },
  { call_sid: sid(32), created_at: DAY2 + 32, ...outbound, outcome: "connected", answered_by: "machine_end_beep", voice_received_at: DAY2 + 60, retell_started_at: DAY2 + 61, retell_register_ms: 100 },
  { call_sid: sid(33), created_at: DAY2 + 33, ...outbound, outcome: "not_answered", outcome_reason: "callee_no_answer", twilio_status: "no-answer" },
  { call_sid: sid(34), created_at: DAY2 + 34, ...outbound, outcome: "not_answered", outcome_reason: "callee_busy", twilio_status: "busy" },
  { call_sid: sid(35), created_at: DAY2 + 35, ...outbound, outcome: "not_answered", outcome_reason: "callee_failed", twilio_status: "failed" },
  { call_sid: sid(36), created_at: DAY2 + 36, ...outbound, outcome: "connected", voice_received_at: DAY2 + 60, retell_started_at: DAY2 + 61, retell_register_ms: 100 },
  // agent_transfers, 2026-11-19: answered; refused by Twilio, then nobody answered, then answered; still ringing.
  { call_sid: sid(40), created_at: DAY2 + 20, ...transferring, outcome: "connected", transfers: attempts([{ update: "accepted", dialStatus: "completed", dialDurationS: 95 }]) },
  {
    call_sid: sid(41),
    created_at: DAY2 + 21,
    ...transferring,
    outcome: "connected",
    transfers: attempts([{ update: "refused", updateError: "twilio_timeout" }, { update: "accepted", dialStatus: "no-answer", returnRetellCallId: "call_back" }, { update: "accepted", dialStatus: "completed" }]),
  },
  { call_sid: sid(42), created_at: DAY2 + 22, ...transferring, outcome: "connected", transfers: attempts([{ update: "accepted" }]) },
  // agent_busy, 2026-11-19 (maxConcurrentCalls 2): two connected at once (peak 2), three held for 4, 10 and 30 s
  // (median 10 s), one of them hung up while held; one still held (no hold time yet).
  { call_sid: sid(50), created_at: DAY2 + 30, ...busy, outcome: "connected", concurrent_calls: 1 },
  { call_sid: sid(51), created_at: DAY2 + 31, ...busy, outcome: "connected", concurrent_calls: 2 },
  { call_sid: sid(52), created_at: DAY2 + 32, ...busy, outcome: "connected", concurrent_calls: 1, queued_at: DAY2 + 32, held_ms: 4_000 },
  { call_sid: sid(53), created_at: DAY2 + 33, ...busy, outcome: "abandoned", queued_at: DAY2 + 33, held_ms: 30_000 },
  { call_sid: sid(54), created_at: DAY2 + 34, ...busy, outcome: "fallback_dialed", outcome_reason: "hold_timeout", queued_at: DAY2 + 34, held_ms: 10_000 },
  { call_sid: sid(55), created_at: DAY2 + 35, ...busy, outcome: "queued", outcome_reason: "line_full", queued_at: DAY2 + 35 },
  // agent_hooked, 2026-11-19: the pre-call hook chose another agent, rejected a caller, failed each way; one call without it.
  { call_sid: sid(60), created_at: DAY2 + 50, ...hooked, outcome: "connected", hook_result: "ok", hook_ms: 20, final_agent_id: "agent_vip" },
  { call_sid: sid(61), created_at: DAY2 + 51, ...hooked, outcome: "blocked", outcome_reason: "hook", hook_result: "rejected", hook_ms: 30 },
  { call_sid: sid(62), created_at: DAY2 + 52, ...hooked, outcome: "connected", hook_result: "timeout", hook_ms: 2500, final_agent_id: "agent_hooked" },
  { call_sid: sid(63), created_at: DAY2 + 53, ...hooked, outcome: "connected", hook_result: "error", hook_ms: 5, final_agent_id: "agent_hooked" },
  { call_sid: sid(64), created_at: DAY2 + 54, ...hooked, outcome: "connected", hook_result: "invalid", hook_ms: 40, final_agent_id: "agent_hooked" },
  { call_sid: sid(65), created_at: DAY2 + 55, ...hooked, outcome: "connected" },
  // Outside the window.
  { call_sid: sid(10), created_at: Date.parse("2026-11-10T12:00:00Z"), ...alpha, outcome: "connected", duration_s: 999, retell_register_ms: 999 },
  // agent_twenty: registration latencies 10, 20, ..., 200 ms: p50 is the 10th (100), p95 the 19th (190).
  ...Array.from({ length: 20 }, (_, i) => ({
    call_sid: sid(100 + i),
    created_at: DAY2 + 100 + i,
    agent_key: "agent:twenty",
    retell_agent_id: "agent_twenty",
    outcome: "connected",
    retell_register_ms: (20 - i) * 10,
  })),
];

const none = { positive: 0, neutral: 0, negative: 0, unknown: 0 };
const figures = (f: Partial<Figures> & Pick<Figures, "calls">): Figures => ({
  connected: 0,
  fallbacks: 0,
  blocked: 0,
  rateLimited: 0,
  afterHours: 0,
  missed: 0,
  failures: {},
  answered: 0,
  answerRate: 0,
  durationS: { p50: null, p95: null, total: 0 },
  retellRegisterMs: { p50: null, p95: null },
  sentiment: none,
  success: { successful: 0, unsuccessful: 0 },
  outbound: { calls: 0, human: 0, machine: 0, noAnswer: 0, busy: 0, failed: 0 },
  transfers: { made: 0, answered: 0, failed: 0 },
  hold: { peakConcurrent: null, held: 0, medianHoldMs: null, abandoned: 0 },
  hook: { asked: 0, ok: 0, rejected: 0, failed: { timeout: 0, error: 0, invalid: 0 } },
  ...f,
});

const alphaDay1 = figures({
  calls: 4,
  connected: 2,
  fallbacks: 2,
  failures: { dial_busy: 1, retell_timeout: 1 },
  answered: 2,
  answerRate: 0.5,
  durationS: { p50: 30, p95: 120, total: 220 },
  retellRegisterMs: { p50: 150, p95: 8000 },
  sentiment: { ...none, positive: 1, negative: 1 },
  success: { successful: 1, unsuccessful: 1 },
});
const alphaDay2 = figures({
  calls: 3,
  connected: 2,
  failures: { retell_rejected: 1 },
  answered: 2,
  answerRate: 0.6667,
  durationS: { p50: 45, p95: 300, total: 350 },
  retellRegisterMs: { p50: 110, p95: 120 },
  sentiment: { ...none, positive: 1, neutral: 1 },
  success: { successful: 2, unsuccessful: 0 },
});

/** Blocked, rate limited, after hours twice (a message, and the after-hours agent), a caller not allowed. */
const rulesDay = figures({
  calls: 5,
  connected: 1,
  blocked: 1,
  rateLimited: 1,
  afterHours: 2,
  failures: { after_hours: 1, caller_not_allowed: 1, caller_rate_limit: 1, global_blocklist: 1 },
  retellRegisterMs: { p50: 100, p95: 100 },
});

/** One outbound call of each kind: two people (one without detection), two machines (one the agent took), three never answered. */
const outboundDay = figures({
  calls: 7,
  connected: 3,
  failures: { callee_busy: 1, callee_failed: 1, callee_no_answer: 1, machine_hangup: 1 },
  answered: 3,
  answerRate: 0.4286,
  retellRegisterMs: { p50: 100, p95: 100 },
  outbound: { calls: 7, human: 2, machine: 2, noAnswer: 1, busy: 1, failed: 1 },
});

const hookedDay = figures({ calls: 6, connected: 5, blocked: 1, failures: { hook: 1 }, hook: { asked: 5, ok: 1, rejected: 1, failed: { timeout: 1, error: 1, invalid: 1 } } });

/** Two calls the bridge never answered: one Twilio's fallback URL took for 20 s, one the caller gave up on. */
const missedDay = figures({ calls: 2, missed: 2, failures: { missed: 2 }, durationS: { p50: 20, p95: 20, total: 20 } });

/** The agent_outbound entry: alone in GET /api/stats?direction=outbound, absent with direction=inbound. */
export const EXPECTED_OUTBOUND_STATS = { agent: "agent_outbound", total: outboundDay, days: [{ day: "2026-11-19", ...outboundDay }] };

/** What GET /api/stats?since=2026-11-18&until=2026-11-19 returns in `agents` (ordered by agent). */
const busyDay = figures({
  calls: 6,
  connected: 3,
  fallbacks: 1,
  failures: { abandoned: 1, hold_timeout: 1, line_full: 1 },
  hold: { peakConcurrent: 2, held: 4, medianHoldMs: 10_000, abandoned: 1 },
});

export const EXPECTED_STATS = [
  { agent: "+61399990000", total: figures({ calls: 1, failures: { agent_not_found: 1 }, durationS: { p50: 4, p95: 4, total: 4 } }), days: [{ day: "2026-11-19", ...figures({ calls: 1, failures: { agent_not_found: 1 }, durationS: { p50: 4, p95: 4, total: 4 } }) }] },
  { agent: "-", total: figures({ calls: 1, failures: { outcome_unknown: 1 }, durationS: { p50: 7, p95: 7, total: 7 } }), days: [{ day: "2026-11-19", ...figures({ calls: 1, failures: { outcome_unknown: 1 }, durationS: { p50: 7, p95: 7, total: 7 } }) }] },
  {
    agent: "agent_alpha",
    total: figures({
      calls: 7,
      connected: 4,
      fallbacks: 2,
      failures: { dial_busy: 1, retell_rejected: 1, retell_timeout: 1 },
      answered: 4,
      answerRate: 0.5714,
      durationS: { p50: 45, p95: 300, total: 570 },
      retellRegisterMs: { p50: 120, p95: 8000 },
      sentiment: { ...none, positive: 2, neutral: 1, negative: 1 },
      success: { successful: 3, unsuccessful: 1 },
    }),
    days: [
      { day: "2026-11-18", ...alphaDay1 },
      { day: "2026-11-19", ...alphaDay2 },
    ],
  },
  {
    agent: "agent_busy",
    total: busyDay,
    days: [{ day: "2026-11-19", ...busyDay }],
  },
  {
    agent: "agent_hooked",
    total: hookedDay,
    days: [{ day: "2026-11-19", ...hookedDay }],
  },
  {
    agent: "agent_missed",
    total: missedDay,
    days: [{ day: "2026-11-19", ...missedDay }],
  },
  EXPECTED_OUTBOUND_STATS,
  {
    agent: "agent_rules",
    total: rulesDay,
    days: [{ day: "2026-11-19", ...rulesDay }],
  },
  {
    agent: "agent_transfers",
    total: figures({ calls: 3, connected: 3, transfers: { made: 5, answered: 2, failed: 2 } }),
    days: [{ day: "2026-11-19", ...figures({ calls: 3, connected: 3, transfers: { made: 5, answered: 2, failed: 2 } }) }],
  },
  {
    agent: "agent_twenty",
    total: figures({ calls: 20, connected: 20, retellRegisterMs: { p50: 100, p95: 190 } }),
    days: [{ day: "2026-11-19", ...figures({ calls: 20, connected: 20, retellRegisterMs: { p50: 100, p95: 190 } }) }],
  },
];
