/**
 * Call statistics per agent and per UTC day (GET /api/stats, `npm run calls -- stats`). One SQL query does all
 * the work in D1, so only the figures leave the database; the Worker binds its parameters and the CLI inlines
 * them (./sql.ts). Shared by both: plain TypeScript, no Workers types.
 *
 * Definitions (docs/storage.md, "Statistics"):
 * - agent: the Retell agent id; for a call that never reached one, the KV key it was routed by; `-` if neither.
 * - day: the UTC day of `created_at` (when the call was first heard of); `all` is the whole window.
 * - connected: outcome `connected` (registered with Retell and the SIP leg did not fail).
 * - fallbacks: outcome `fallback_dialed` (Retell could not take the call and the fallback number was dialed).
 * - blocked, rateLimited: outcome `blocked` / `rate_limited` (routing rules: the caller was turned away).
 * - afterHours: calls the schedule sent elsewhere because the line was closed (`outcome_reason` `after_hours`):
 *   to the after-hours agent (counted under that agent, which took them), number or message.
 * - failures: every call whose outcome is not `connected`, counted by reason: `outcome_reason` when there is
 *   one (`retell_timeout`, `dial_busy`, ...), else the outcome (`agent_not_found`, ...), else `outcome_unknown`
 *   (known only from a status callback or a Retell event). So `calls = connected + sum(failures)`, and the
 *   fallbacks are also among the failures, under the reason the agent could not take them.
 * - answerRate: answered / calls, where answered means the Retell agent picked up (a Retell `call_started`,
 *   or Twilio reporting the SIP dial `completed`).
 * - duration: Twilio's CallDuration when a status callback reported it, else DialCallDuration, else Retell's
 *   duration_ms rounded to seconds; calls with none are left out of the percentiles and the total.
 * - outbound: calls placed through POST /api/calls (`direction` `outbound`), by who answered: `human` (the
 *   outbound webhook was reached and machine detection, if any, said `human` or `unknown`), `machine`
 *   (AnsweredBy a machine or fax, whatever detection then did), and, for calls never answered, `noAnswer`
 *   (no answer, or canceled), `busy`, `failed` (Twilio's final status).
 * - transfers: attempts to hand the caller to a person (the `transfers` column): `made` every attempt sent to
 *   Twilio, `answered` those the person answered (DialCallStatus `completed`), `failed` those Twilio refused or
 *   nobody answered (busy, no-answer, failed, canceled); one still ringing is made and neither of the others.
 * - hook: the pre-call hook (docs/pre-call-hook.md), by `hook_result`: `asked` every call it was asked about (once
 *   per call), `ok` and `rejected` the answers, `failed` the rest by result (`timeout`, `error`, `invalid`), each of
 *   which connected the call as configured. Counted under the agent the number routes to (`retell_agent_id`),
 *   whichever agent the hook chose.
 * - percentiles: nearest rank. The p-th percentile of n sorted values is the value at rank ceil(p/100 * n),
 *   so it is always one of the values (p50 of 1, 2, 3, 4 is 2; p95 of 20 values is the 19th).
 */
import { agentCondition, HOOK_RESULTS, type CallDirection } from "./list.ts";
import type { SqlQuery, SqlValue } from "./sql.ts";
import type { Window } from "./window.ts";
import { UNANSWERED_DIAL_STATUSES } from "../transfers/attempt.ts";

/** The DialCallStatus values of a transfer nobody answered, as an SQL list (constants, never input). */
const UNANSWERED_SQL = UNANSWERED_DIAL_STATUSES.map((status) => `'${status}'`).join(", ");

/** The label of the row that covers the whole window for an agent. */
export const WHOLE_WINDOW = "all";
/** Retell's user_sentiment values (retell-sdk CallAnalysis.user_sentiment). */
export const SENTIMENTS = ["Positive", "Neutral", "Negative", "Unknown"] as const;

export interface StatsFilter extends Window {
  agent?: string;
  direction?: CallDirection;
}

/** AnsweredBy values of a machine (outbound/machine.ts MACHINE_ANSWERS), as SQL. */
const MACHINE_SQL = "('machine_start', 'machine_end_beep', 'machine_end_silence', 'machine_end_other', 'fax')";

/** Figures for one agent over one day (or the whole window). Ratios are 0..1; null when there is nothing to measure. */
export interface Figures {
  calls: number;
  connected: number;
  fallbacks: number;
  blocked: number;
  rateLimited: number;
  afterHours: number;
  failures: Record<string, number>;
  answered: number;
  answerRate: number | null;
  durationS: { p50: number | null; p95: number | null; total: number };
  retellRegisterMs: { p50: number | null; p95: number | null };
  sentiment: { positive: number; neutral: number; negative: number; unknown: number };
  success: { successful: number; unsuccessful: number };
  outbound: { calls: number; human: number; machine: number; noAnswer: number; busy: number; failed: number };
  transfers: { made: number; answered: number; failed: number };
  hook: { asked: number; ok: number; rejected: number; failed: { timeout: number; error: number; invalid: number } };
}

export interface AgentStats {
  agent: string;
  /** The whole window. */
  total: Figures;
  /** One entry per UTC day with calls, oldest first. */
  days: Array<{ day: string } & Figures>;
}

/** A row of the stats query (column names as selected below). */
export interface StatsRow {
  agent: string;
  day: string;
  calls: number;
  connected: number;
  fallbacks: number;
  blocked: number;
  rate_limited: number;
  after_hours: number;
  answered: number;
  duration_total_s: number;
  duration_p50_s: number | null;
  duration_p95_s: number | null;
  register_p50_ms: number | null;
  register_p95_ms: number | null;
  sentiment_positive: number;
  sentiment_neutral: number;
  sentiment_negative: number;
  sentiment_unknown: number;
  successful: number;
  unsuccessful: number;
  /** JSON object reason → count, or null when there were none. */
  failures: string | null;
  outbound_calls: number;
  outbound_human: number;
  outbound_machine: number;
  outbound_no_answer: number;
  outbound_busy: number;
  outbound_failed: number;
  transfers_made: number;
  transfers_answered: number;
  transfers_failed: number;
  hook_asked: number;
  hook_ok: number;
  hook_rejected: number;
  hook_timeout: number;
  hook_error: number;
  hook_invalid: number;
}

/**
 * Nearest-rank percentile over `ranked` (rows with rn = 1..n in ascending order of v, per agent and bucket):
 * the smallest v whose rank is at least ceil(p/100 * n), i.e. rn * 100 >= p * n, in integers.
 */
function percentile(p: number): string {
  return `MIN(CASE WHEN rn * 100 >= n * ${p} THEN v END)`;
}

function ranked(name: string, column: string): string {
  return `${name} AS (
    SELECT agent, bucket, ${column} AS v,
      ROW_NUMBER() OVER (PARTITION BY agent, bucket ORDER BY ${column}) AS rn,
      COUNT(*) OVER (PARTITION BY agent, bucket) AS n
    FROM buckets WHERE ${column} IS NOT NULL
  ), ${name}_pct AS (
    SELECT agent, bucket, ${percentile(50)} AS p50, ${percentile(95)} AS p95 FROM ${name} GROUP BY agent, bucket
  )`;
}

export function statsQuery(filter: StatsFilter): SqlQuery {
  const params: SqlValue[] = [filter.since, filter.until];
  let agentSql = "";
  if (filter.agent !== undefined) {
    const agent = agentCondition(filter.agent);
    agentSql = ` AND ${agent.sql}`;
    params.push(...agent.params);
  }
  if (filter.direction !== undefined) {
    agentSql += " AND direction = ?";
    params.push(filter.direction);
  }
  const sentiment = SENTIMENTS.map((s) => `COUNT(CASE WHEN user_sentiment = '${s}' THEN 1 END) AS sentiment_${s.toLowerCase()}`).join(",\n      ");
  const sql = `WITH base AS (
    SELECT
      COALESCE(retell_agent_id, agent_key, '-') AS agent,
      strftime('%Y-%m-%d', created_at / 1000, 'unixepoch') AS day,
      outcome, outcome_reason, user_sentiment, call_successful, hook_result,
      retell_register_ms AS register_ms,
      COALESCE(duration_s, dial_duration_s, (retell_duration_ms + 500) / 1000) AS seconds,
      (retell_started_at IS NOT NULL OR dial_status = 'completed') AS answered,
      direction = 'outbound' AS outbound,
      answered_by IN ${MACHINE_SQL} AS by_machine,
      voice_received_at IS NOT NULL AS reached,
      (SELECT COUNT(*) FROM json_each(calls.transfers)) AS transfers_made,
      (SELECT COUNT(*) FROM json_each(calls.transfers) WHERE json_extract(value, '$.dialStatus') = 'completed') AS transfers_answered,
      (SELECT COUNT(*) FROM json_each(calls.transfers)
        WHERE json_extract(value, '$.update') = 'refused' OR json_extract(value, '$.dialStatus') IN (${UNANSWERED_SQL})) AS transfers_failed
    FROM calls
    WHERE created_at >= ? AND created_at < ?${agentSql}
  ), buckets AS (
    SELECT base.*, CASE WHEN whole = 1 THEN '${WHOLE_WINDOW}' ELSE day END AS bucket
    FROM base CROSS JOIN (SELECT 0 AS whole UNION ALL SELECT 1 AS whole)
  ), totals AS (
    SELECT agent, bucket,
      COUNT(*) AS calls,
      COUNT(CASE WHEN outcome = 'connected' THEN 1 END) AS connected,
      COUNT(CASE WHEN outcome = 'fallback_dialed' THEN 1 END) AS fallbacks,
      COUNT(CASE WHEN outcome = 'blocked' THEN 1 END) AS blocked,
      COUNT(CASE WHEN outcome = 'rate_limited' THEN 1 END) AS rate_limited,
      COUNT(CASE WHEN outcome_reason = 'after_hours' THEN 1 END) AS after_hours,
      COUNT(CASE WHEN answered THEN 1 END) AS answered,
      COALESCE(SUM(seconds), 0) AS duration_total_s,
      ${sentiment},
      COUNT(CASE WHEN call_successful = 1 THEN 1 END) AS successful,
      COUNT(CASE WHEN call_successful = 0 THEN 1 END) AS unsuccessful,
      COUNT(CASE WHEN outbound THEN 1 END) AS outbound_calls,
      COUNT(CASE WHEN outbound AND reached AND NOT COALESCE(by_machine, 0) THEN 1 END) AS outbound_human,
      COUNT(CASE WHEN outbound AND by_machine THEN 1 END) AS outbound_machine,
      COUNT(CASE WHEN outbound AND outcome_reason IN ('callee_no_answer', 'callee_canceled') THEN 1 END) AS outbound_no_answer,
      COUNT(CASE WHEN outbound AND outcome_reason = 'callee_busy' THEN 1 END) AS outbound_busy,
      COUNT(CASE WHEN outbound AND outcome_reason = 'callee_failed' THEN 1 END) AS outbound_failed,
      SUM(transfers_made) AS transfers_made, SUM(transfers_answered) AS transfers_answered, SUM(transfers_failed) AS transfers_failed,
      COUNT(hook_result) AS hook_asked,
      ${HOOK_RESULTS.map((result) => `COUNT(CASE WHEN hook_result = '${result}' THEN 1 END) AS hook_${result}`).join(", ")}
    FROM buckets GROUP BY agent, bucket
  ), ${ranked("durations", "seconds")}, ${ranked("registrations", "register_ms")}, reasons AS (
    SELECT agent, bucket, COALESCE(outcome_reason, outcome, 'outcome_unknown') AS reason, COUNT(*) AS count
    FROM buckets WHERE outcome IS NULL OR outcome <> 'connected'
    GROUP BY agent, bucket, reason
  ), failures AS (
    SELECT agent, bucket, json_group_object(reason, count) AS failures FROM reasons GROUP BY agent, bucket
  )
  SELECT t.agent, t.bucket AS day, t.calls, t.connected, t.fallbacks, t.blocked, t.rate_limited, t.after_hours, t.answered, t.duration_total_s,
    d.p50 AS duration_p50_s, d.p95 AS duration_p95_s, r.p50 AS register_p50_ms, r.p95 AS register_p95_ms,
    t.sentiment_positive, t.sentiment_neutral, t.sentiment_negative, t.sentiment_unknown,
    t.successful, t.unsuccessful, f.failures,
    t.outbound_calls, t.outbound_human, t.outbound_machine, t.outbound_no_answer, t.outbound_busy, t.outbound_failed, t.transfers_made, t.transfers_answered, t.transfers_failed,
    t.hook_asked, ${HOOK_RESULTS.map((result) => `t.hook_${result}`).join(", ")}
  FROM totals t
  LEFT JOIN durations_pct d ON d.agent = t.agent AND d.bucket = t.bucket
  LEFT JOIN registrations_pct r ON r.agent = t.agent AND r.bucket = t.bucket
  LEFT JOIN failures f ON f.agent = t.agent AND f.bucket = t.bucket
  ORDER BY t.agent, t.bucket = '${WHOLE_WINDOW}', t.bucket`;
  return { sql, params };
}

function ratio(part: number, whole: number): number | null {
  return whole === 0 ? null : Math.round((part / whole) * 10_000) / 10_000;
}

function parseFailures(json: string | null): Record<string, number> {
  if (!json) return {};
  const value: unknown = JSON.parse(json);
  const failures: Record<string, number> = {};
  if (typeof value === "object" && value !== null) {
    for (const [reason, count] of Object.entries(value)) if (typeof count === "number") failures[reason] = count;
  }
  return failures;
}

export function toFigures(row: StatsRow): Figures {
  return {
    calls: row.calls,
    connected: row.connected,
    fallbacks: row.fallbacks,
    blocked: row.blocked,
    rateLimited: row.rate_limited,
    afterHours: row.after_hours,
    failures: parseFailures(row.failures),
    answered: row.answered,
    answerRate: ratio(row.answered, row.calls),
    durationS: { p50: row.duration_p50_s, p95: row.duration_p95_s, total: row.duration_total_s },
    retellRegisterMs: { p50: row.register_p50_ms, p95: row.register_p95_ms },
    sentiment: {
      positive: row.sentiment_positive,
      neutral: row.sentiment_neutral,
      negative: row.sentiment_negative,
      unknown: row.sentiment_unknown,
    },
    success: { successful: row.successful, unsuccessful: row.unsuccessful },
    outbound: {
      calls: row.outbound_calls,
      human: row.outbound_human,
      machine: row.outbound_machine,
      noAnswer: row.outbound_no_answer,
      busy: row.outbound_busy,
      failed: row.outbound_failed,
    },
    transfers: { made: row.transfers_made, answered: row.transfers_answered, failed: row.transfers_failed },
    hook: { asked: row.hook_asked, ok: row.hook_ok, rejected: row.hook_rejected, failed: { timeout: row.hook_timeout, error: row.hook_error, invalid: row.hook_invalid } },
  };
}

/** Groups the query's rows by agent: the `all` row becomes `total`, the others `days`. */
export function toAgentStats(rows: StatsRow[]): AgentStats[] {
  const agents = new Map<string, AgentStats>();
  for (const row of rows) {
    let entry = agents.get(row.agent);
    if (!entry) {
      entry = { agent: row.agent, total: toFigures(row), days: [] };
      agents.set(row.agent, entry);
    }
    if (row.day === WHOLE_WINDOW) entry.total = toFigures(row);
    else entry.days.push({ day: row.day, ...toFigures(row) });
  }
  return [...agents.values()];
}
