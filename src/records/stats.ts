/**
 * Call statistics per agent and per UTC day (GET /api/stats, `npm run calls -- stats`). One SQL query does all
 * the work in D1, so only the figures leave the database; the Worker binds its parameters and the CLI inlines
 * them (./sql.ts). Shared by both: plain TypeScript, no Workers types.
 *
 * Definitions (docs/storage.md, "Statistics"):
 * - agent: the Retell agent id; for a call that never reached one, the KV key it was routed by; `-` if neither.
 *   With `group: "all"` every call counts under one entry, `*` (ALL_AGENTS): the overview the operator page shows,
 *   whose percentiles are over all the calls (they cannot be combined from the per-agent ones).
 * - day: the UTC day of `created_at` (when the call was first heard of); `all` is the whole window.
 * - connected: outcome `connected` (registered with Retell and the SIP leg did not fail).
 * - fallbacks: outcome `fallback_dialed` (Retell could not take the call and the fallback number was dialed).
 * - blocked, rateLimited: outcome `blocked` / `rate_limited` (routing rules: the caller was turned away).
 * - afterHours: calls the schedule sent elsewhere because the line was closed (`outcome_reason` `after_hours`):
 *   to the after-hours agent (counted under that agent, which took them), number or message.
 * - missed: outcome `missed`, calls that reached the number while the bridge never answered them (known from
 *   Twilio's status callback alone, line/missed.ts): the Worker's own availability as Twilio saw it. Counted under
 *   the agent the number mapped to then, else under the number; also among the failures, as `missed`.
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
 * - hold: calls held in the line's queue (hold/): `peakConcurrent` the most calls connected to an AI leg on the
 *   line at once, as each call found it when it took its place under maxConcurrentCalls (`concurrent_calls`;
 *   null when no call had a limit); `held` the calls ever put on hold (`queued_at` set); `medianHoldMs` the p50
 *   of `held_ms` over those that left the queue; `abandoned` the callers who hung up while held.
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
import { UNANSWERED_DIAL_STATUSES } from "./transfer-attempt.ts";

/** Days are whole UTC days since the epoch inside the query (an integer division per call, cheaper than a date string); named at the end. */
const DAY_MS = 86_400_000;
/** The bucket of the whole window inside the query: no day is negative. */
const WHOLE_BUCKET = -1;

/** The DialCallStatus values of a transfer nobody answered, as an SQL list (constants, never input). */
const UNANSWERED_SQL = UNANSWERED_DIAL_STATUSES.map((status) => `'${status}'`).join(", ");

/** The label of the row that covers the whole window for an agent. */
export const WHOLE_WINDOW = "all";
/** Retell's user_sentiment values (retell-sdk CallAnalysis.user_sentiment). */
export const SENTIMENTS = ["Positive", "Neutral", "Negative", "Unknown"] as const;

/** The agent of the one entry a `group: "all"` query returns. */
export const ALL_AGENTS = "*";
/** How GET /api/stats groups its figures: one entry per agent (the default), or one for all the calls. */
export const STATS_GROUPS = ["agent", "all"] as const;
export type StatsGroup = (typeof STATS_GROUPS)[number];
export const GROUP_MESSAGE = `group must be one of ${STATS_GROUPS.join(", ")}`;

export function isStatsGroup(value: string): value is StatsGroup {
  return (STATS_GROUPS as readonly string[]).includes(value);
}

export interface StatsFilter extends Window {
  agent?: string;
  direction?: CallDirection;
  group?: StatsGroup;
}

/** AnsweredBy values of a machine (line/machine.ts MACHINE_ANSWERS), as SQL. */
const MACHINE_SQL = "('machine_start', 'machine_end_beep', 'machine_end_silence', 'machine_end_other', 'fax')";

/** Figures for one agent over one day (or the whole window). Ratios are 0..1; null when there is nothing to measure. */
export interface Figures {
  calls: number;
  connected: number;
  fallbacks: number;
  blocked: number;
  rateLimited: number;
  afterHours: number;
  missed: number;
  failures: Record<string, number>;
  answered: number;
  answerRate: number | null;
  durationS: { p50: number | null; p95: number | null; total: number };
  retellRegisterMs: { p50: number | null; p95: number | null };
  sentiment: { positive: number; neutral: number; negative: number; unknown: number };
  success: { successful: number; unsuccessful: number };
  outbound: { calls: number; human: number; machine: number; noAnswer: number; busy: number; failed: number };
  transfers: { made: number; answered: number; failed: number };
  hold: { peakConcurrent: number | null; held: number; medianHoldMs: number | null; abandoned: number };
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
  missed: number;
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
  peak_concurrent: number | null;
  held: number;
  hold_p50_ms: number | null;
  abandoned: number;
  hook_asked: number;
  hook_ok: number;
  hook_rejected: number;
  hook_timeout: number;
  hook_error: number;
  hook_invalid: number;
}

/**
 * The counts, each an aggregate over a day's calls in `base` and the same name summed over the days for the whole
 * window (or their maximum, for a peak): the counts are worked out once per call and per day, never again for the window.
 */
function counts(): [name: string, sql: string, whole?: "SUM" | "MAX"][] {
  const sentiment = SENTIMENTS.map((s): [string, string] => [`sentiment_${s.toLowerCase()}`, `COUNT(CASE WHEN user_sentiment = '${s}' THEN 1 END)`]);
  return [
    ["calls", "COUNT(*)"],
    ["connected", "COUNT(CASE WHEN outcome = 'connected' THEN 1 END)"],
    ["fallbacks", "COUNT(CASE WHEN outcome = 'fallback_dialed' THEN 1 END)"],
    ["blocked", "COUNT(CASE WHEN outcome = 'blocked' THEN 1 END)"],
    ["rate_limited", "COUNT(CASE WHEN outcome = 'rate_limited' THEN 1 END)"],
    ["after_hours", "COUNT(CASE WHEN outcome_reason = 'after_hours' THEN 1 END)"],
    ["missed", "COUNT(CASE WHEN outcome = 'missed' THEN 1 END)"],
    ["answered", "COUNT(CASE WHEN answered THEN 1 END)"],
    ["duration_total_s", "COALESCE(SUM(seconds), 0)"],
    ...sentiment,
    ["successful", "COUNT(CASE WHEN call_successful = 1 THEN 1 END)"],
    ["unsuccessful", "COUNT(CASE WHEN call_successful = 0 THEN 1 END)"],
    ["outbound_calls", "COUNT(CASE WHEN outbound THEN 1 END)"],
    ["outbound_human", "COUNT(CASE WHEN outbound AND reached AND NOT COALESCE(by_machine, 0) THEN 1 END)"],
    ["outbound_machine", "COUNT(CASE WHEN outbound AND by_machine THEN 1 END)"],
    ["outbound_no_answer", "COUNT(CASE WHEN outbound AND outcome_reason IN ('callee_no_answer', 'callee_canceled') THEN 1 END)"],
    ["outbound_busy", "COUNT(CASE WHEN outbound AND outcome_reason = 'callee_busy' THEN 1 END)"],
    ["outbound_failed", "COUNT(CASE WHEN outbound AND outcome_reason = 'callee_failed' THEN 1 END)"],
    ["transfers_made", "SUM(transfers_made)"],
    ["transfers_answered", "SUM(transfers_answered)"],
    ["transfers_failed", "SUM(transfers_failed)"],
    // The window's peak is the highest day's, not their sum.
    ["peak_concurrent", "MAX(concurrent_calls)", "MAX"],
    ["held", "COUNT(CASE WHEN held THEN 1 END)"],
    ["abandoned", "COUNT(CASE WHEN outcome = 'abandoned' THEN 1 END)"],
    ["hook_asked", "COUNT(hook_result)"],
    ...HOOK_RESULTS.map((result): [string, string] => [`hook_${result}`, `COUNT(CASE WHEN hook_result = '${result}' THEN 1 END)`]),
  ];
}

/**
 * p50 and p95 of `column` per agent and day and per agent over the window, by nearest rank: the smallest value v
 * whose calls, with those of every smaller value, number at least ceil(p/100 * n), i.e. cum * 100 >= p * n in
 * integers. The calls are first counted per value (`<name>_day`), so the running sums run over distinct values, far
 * fewer than calls (milliseconds and seconds repeat), and the window's counts are sums of the days'.
 */
function percentiles(name: string, column: string): string {
  const pick = (p: number) => `MIN(CASE WHEN cum * 100 >= n * ${p} THEN v END)`;
  return `${name}_day AS MATERIALIZED (
    SELECT agent, day, ${column} AS v, COUNT(*) AS c FROM base WHERE ${column} IS NOT NULL GROUP BY agent, day, v
  ), ${name}_all AS (
    SELECT agent, v, SUM(c) AS c FROM ${name}_day GROUP BY agent, v
  ), ${name}_pct AS (
    SELECT agent, bucket, ${pick(50)} AS p50, ${pick(95)} AS p95 FROM (
      SELECT agent, day AS bucket, v,
        SUM(c) OVER (PARTITION BY agent, day ORDER BY v ROWS UNBOUNDED PRECEDING) AS cum, SUM(c) OVER (PARTITION BY agent, day) AS n
      FROM ${name}_day
      UNION ALL
      SELECT agent, ${WHOLE_BUCKET}, v,
        SUM(c) OVER (PARTITION BY agent ORDER BY v ROWS UNBOUNDED PRECEDING), SUM(c) OVER (PARTITION BY agent)
      FROM ${name}_all
    ) GROUP BY agent, bucket
  )`;
}

/**
 * One query for every figure. `base` reads each call in the window once (through the created_at index) and is
 * materialized, so the per-day counts, the percentiles and the failure reasons each scan it rather than the
 * table; the whole window's counts are sums of the days'. Over 100 000 calls it takes about 0.4 s of CPU locally
 * (npm run bench:stats, docs/admin-page.md). `AS MATERIALIZED` needs SQLite 3.35, which D1 and workerd have.
 */
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
  const figures = counts();
  const sql = `WITH base AS MATERIALIZED (
    SELECT
      ${filter.group === "all" ? `'${ALL_AGENTS}'` : "COALESCE(retell_agent_id, agent_key, '-')"} AS agent,
      created_at / ${DAY_MS} AS day,
      outcome, outcome_reason, user_sentiment, call_successful, hook_result,
      retell_register_ms AS register_ms,
      COALESCE(duration_s, dial_duration_s, (retell_duration_ms + 500) / 1000) AS seconds,
      (retell_started_at IS NOT NULL OR dial_status = 'completed') AS answered,
      direction = 'outbound' AS outbound,
      answered_by IN ${MACHINE_SQL} AS by_machine,
      voice_received_at IS NOT NULL AS reached,
      concurrent_calls, queued_at IS NOT NULL AS held, held_ms,
      CASE WHEN transfers IS NULL THEN 0 ELSE (SELECT COUNT(*) FROM json_each(calls.transfers)) END AS transfers_made,
      CASE WHEN transfers IS NULL THEN 0 ELSE
        (SELECT COUNT(*) FROM json_each(calls.transfers) WHERE json_extract(value, '$.dialStatus') = 'completed') END AS transfers_answered,
      CASE WHEN transfers IS NULL THEN 0 ELSE (SELECT COUNT(*) FROM json_each(calls.transfers)
        WHERE json_extract(value, '$.update') = 'refused' OR json_extract(value, '$.dialStatus') IN (${UNANSWERED_SQL})) END AS transfers_failed
    FROM calls
    WHERE created_at >= ? AND created_at < ?${agentSql}
  ), days AS MATERIALIZED (
    SELECT agent, day AS bucket, ${figures.map(([name, sql]) => `${sql} AS ${name}`).join(", ")}
    FROM base GROUP BY agent, day
  ), totals AS (
    SELECT * FROM days
    UNION ALL
    SELECT agent, ${WHOLE_BUCKET}, ${figures.map(([name, , whole = "SUM"]) => `${whole}(${name})`).join(", ")} FROM days GROUP BY agent
  ), ${percentiles("durations", "seconds")}, ${percentiles("registrations", "register_ms")}, ${percentiles("holds", "held_ms")}, reasons AS MATERIALIZED (
    SELECT agent, day, COALESCE(outcome_reason, outcome, 'outcome_unknown') AS reason, COUNT(*) AS count
    FROM base WHERE outcome IS NULL OR outcome <> 'connected'
    GROUP BY agent, day, reason
  ), failures AS (
    SELECT agent, bucket, json_group_object(reason, count) AS failures FROM (
      SELECT agent, day AS bucket, reason, count FROM reasons
      UNION ALL
      SELECT agent, ${WHOLE_BUCKET}, reason, SUM(count) FROM reasons GROUP BY agent, reason
    ) GROUP BY agent, bucket
  )
  SELECT t.agent, CASE t.bucket WHEN ${WHOLE_BUCKET} THEN '${WHOLE_WINDOW}' ELSE strftime('%Y-%m-%d', t.bucket * 86400, 'unixepoch') END AS day, ${figures.map(([name]) => `t.${name}`).join(", ")},
    d.p50 AS duration_p50_s, d.p95 AS duration_p95_s, r.p50 AS register_p50_ms, r.p95 AS register_p95_ms, h.p50 AS hold_p50_ms, f.failures
  FROM totals t
  LEFT JOIN durations_pct d ON d.agent = t.agent AND d.bucket = t.bucket
  LEFT JOIN registrations_pct r ON r.agent = t.agent AND r.bucket = t.bucket
  LEFT JOIN holds_pct h ON h.agent = t.agent AND h.bucket = t.bucket
  LEFT JOIN failures f ON f.agent = t.agent AND f.bucket = t.bucket
  ORDER BY t.agent, t.bucket = ${WHOLE_BUCKET}, t.bucket`;
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
    missed: row.missed,
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
    hold: { peakConcurrent: row.peak_concurrent, held: row.held, medianHoldMs: row.hold_p50_ms, abandoned: row.abandoned },
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
