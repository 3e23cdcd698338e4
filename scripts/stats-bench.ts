/**
 * npm run bench:stats: how fast GET /api/stats and GET /api/calls answer over 100 000 call records, and how
 * many bytes a record takes in D1 (docs/admin-page.md, "Scale"). The records are generated inside SQLite by one
 * statement (realistic rows: a Retell summary, a transfer on one call in 25, an outbound call in 10), into a
 * local D1 database in a temporary folder; the Worker then runs under `wrangler dev` and each request is timed
 * from this process, wrangler's local proxy included, so the figures are an upper bound for the query itself.
 *
 * `--rows N` (default 100 000), `--runs N` timed requests per query (default 7, after one warm-up).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { startDev } from "../cli/lib/dev.ts";
import { wrangler } from "../cli/lib/wrangler.ts";

const ADMIN_TOKEN = "bench_admin_token";
/** The window every record falls in: the page's longest preset. */
const SPREAD_DAYS = 30;
/** Agents the records are spread over (one in 20 calls each). */
const AGENTS = 20;
/** A summary of the length Retell's call analysis usually writes (two or three sentences). */
const SUMMARY = "The caller asked to move their appointment from Tuesday to Thursday afternoon. The agent confirmed the new time, read back the address and said a reminder text would follow. The caller had no other questions.";
/** The D1 limit the retention arithmetic is about (developers.cloudflare.com/d1/platform/limits: 10 GB per database, paid plan). */
const D1_MAX_BYTES = 10 * 1000 ** 3;
const RETENTION_DAYS = 90;

const { values } = parseArgs({ options: { rows: { type: "string", default: "100000" }, runs: { type: "string", default: "7" } } });
const ROWS = Number(values.rows);
const RUNS = Number(values.runs);

/** One INSERT … SELECT over a generated sequence: all the rows in one statement, in SQLite itself. */
function seedSql(rows: number, now: number): string {
  const step = Math.floor((SPREAD_DAYS * 86_400_000) / rows);
  const at = `(${now} - n * ${step})`;
  return `WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ${rows})
INSERT INTO calls (call_sid, account_sid, agent_key, retell_agent_id, from_number, to_number, outcome, outcome_reason, retell_call_id,
  retell_register_ms, retell_register_attempts, voice_received_at, voice_answered_at, dial_status, dial_sip_code, dial_duration_s, dial_ended_at,
  twilio_status, twilio_sequence, twilio_status_at, twilio_ended_at, duration_s, retell_status, retell_started_at, retell_ended_at, retell_duration_ms,
  disconnection_reason, call_summary, user_sentiment, call_successful, retell_event_at, created_at, updated_at, direction, answered_by, transfers)
SELECT printf('CA%032x', n), 'AC0123456789abcdef0123456789abcdef', printf('+6134151%04d', n % ${AGENTS}), 'agent_bench_' || (n % ${AGENTS}),
  printf('+1415%07d', n), printf('+6134151%04d', n % ${AGENTS}),
  CASE n % 20 WHEN 0 THEN 'fallback_dialed' WHEN 1 THEN 'blocked' WHEN 2 THEN 'rate_limited' WHEN 3 THEN 'agent_not_found' ELSE 'connected' END,
  CASE n % 20 WHEN 0 THEN 'retell_timeout' WHEN 1 THEN 'global_blocklist' WHEN 2 THEN 'caller_rate_limit' ELSE NULL END,
  printf('call_%032x', n), 80 + abs(random()) % 400, 1, ${at}, ${at} + 300, 'completed', 200, 30 + n % 600, ${at} + 60000,
  'completed', 4, ${at} + 61000, ${at} + 61000, 31 + n % 600, 'ended', ${at} + 1500, ${at} + 60000, 58500 + (n % 600) * 1000,
  'user_hangup', '${SUMMARY} (' || n || ')', CASE n % 4 WHEN 0 THEN 'Positive' WHEN 1 THEN 'Neutral' WHEN 2 THEN 'Negative' ELSE 'Unknown' END, n % 2,
  ${at} + 65000, ${at}, ${at} + 65000, CASE WHEN n % 10 = 9 THEN 'outbound' ELSE 'inbound' END, CASE WHEN n % 10 = 9 THEN 'human' END,
  CASE WHEN n % 25 = 0 THEN json_array(json_object('destination', 'sales', 'requestedAt', ${at} + 30000, 'retellCallId', printf('call_%032x', n),
    'requestKey', 'k', 'update', 'accepted', 'updateError', NULL, 'dialStatus', 'completed', 'dialDurationS', 95, 'dialEndedAt', ${at} + 125000,
    'returnRetellCallId', NULL, 'returnError', NULL)) END
FROM seq;`;
}

/** The local database's size on disk: its SQLite file and write-ahead log. */
function databaseBytes(persistTo: string): number {
  const dir = join(persistTo, "v3", "d1", "miniflare-D1DatabaseObject");
  return readdirSync(dir).filter((f) => f.endsWith(".sqlite") || f.endsWith(".sqlite-wal")).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
}

/** Clock ticks a second in /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * CPU time (ms) used so far by every process in wrangler dev's group (wrangler, workerd): unlike the wall time, it
 * does not grow with what else the machine is running, so it is what a request costs on an idle machine.
 */
function groupCpuMs(pgid: number): number {
  let ticks = 0;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      // Fields after the command name (which may hold spaces): state is 3rd, pgrp 5th, utime 14th, stime 15th.
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid) ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended while we looked.
    }
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const configPath = resolve("wrangler.toml");
  const persistTo = mkdtempSync(join(tmpdir(), "bridge-stats-bench-"));
  const local = ["--local", "--persist-to", persistTo, "--config", configPath];
  let stop: (() => Promise<void>) | undefined;
  try {
    await wrangler(["d1", "migrations", "apply", "DB", ...local], "Applying D1 migrations");
    const empty = databaseBytes(persistTo);
    const seeding = Date.now();
    await wrangler(["d1", "execute", "DB", ...local, "--yes", "--command", seedSql(ROWS, Date.now())], "Generating the records");
    const bytesPerRow = (databaseBytes(persistTo) - empty) / ROWS;
    console.log(`${ROWS} records generated in ${((Date.now() - seeding) / 1000).toFixed(1)} s; ${Math.round(bytesPerRow)} bytes per record on disk, indexes included`);
    const dev = await startDev({ configPath, persistTo, readyTimeoutMs: 120_000, vars: { TWILIO_AUTH_TOKEN: "bench_twilio_token", RETELL_API_KEY: "key_bench", ADMIN_TOKEN } });
    stop = dev.stop;
    const queries: [string, string][] = [
      ["overview, every record (30 days, group=all)", `/api/stats?since=${SPREAD_DAYS}d&group=all`],
      ["per agent, every record (30 days)", `/api/stats?since=${SPREAD_DAYS}d`],
      ["overview, one agent (30 days)", `/api/stats?since=${SPREAD_DAYS}d&group=all&agent=agent_bench_3`],
      ["overview, last 7 days (the page's default)", "/api/stats?group=all"],
      ["calls, first page of 25", "/api/calls?limit=25"],
    ];
    console.log(`\nEach request ${RUNS} times after a warm-up, through wrangler dev (ms); ${cpus().length} CPUs, load average ${loadavg()[0]?.toFixed(1)} (wall times grow with it, CPU times do not):`);
    for (const [label, path] of queries) {
      const times: number[] = [];
      let cpuBefore = 0;
      for (let run = 0; run <= RUNS; run++) {
        if (run === 1) cpuBefore = groupCpuMs(dev.pid);
        const started = performance.now();
        const res = await fetch(`${dev.url}${path}`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
        const body = (await res.json()) as { agents?: { total: { calls: number } }[]; calls?: unknown[] };
        if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${JSON.stringify(body)}`);
        if (run > 0) times.push(performance.now() - started);
        if (run === 0) {
          const counted = body.agents?.reduce((n, a) => n + a.total.calls, 0) ?? body.calls?.length;
          console.log(`  ${label}: ${counted} ${body.agents ? "calls counted" : "rows"}`);
        }
      }
      const cpu = (groupCpuMs(dev.pid) - cpuBefore) / RUNS;
      console.log(`    median ${median(times).toFixed(0)}, max ${Math.max(...times).toFixed(0)}; CPU time ${cpu.toFixed(0)} a request (wrangler and workerd)`);
    }
    const perDay = D1_MAX_BYTES / bytesPerRow / RETENTION_DAYS;
    console.log(`\nD1's 10 GB at ${Math.round(bytesPerRow)} bytes a record holds ${Math.round(D1_MAX_BYTES / bytesPerRow).toLocaleString("en-US")} records: ${Math.round(perDay).toLocaleString("en-US")} calls a day kept ${RETENTION_DAYS} days.`);
  } finally {
    await stop?.();
    rmSync(persistTo, { recursive: true, force: true });
  }
}

await main();
