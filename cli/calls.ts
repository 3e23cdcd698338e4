/**
 * `npm run calls -- list|stats`: call records and statistics from the Worker's D1 database, as tables, through
 * `wrangler d1 execute --json`. The queries and figures are the Worker's own (src/records/list.ts, stats.ts), so the
 * numbers match GET /api/calls and /api/stats. wrangler's --command takes no bound parameters, so the values are
 * inlined as SQL literals (src/records/sql.ts).
 */
import { resolve } from "node:path";
import { DIRECTION_MESSAGE, isCallDirection, listCallsQuery, parseListQuery, MAX_LIST_LIMIT, type CallRecord, type CallRow, toCallRecord } from "../src/records/list.ts";
import { inlineParams, type SqlQuery } from "../src/records/sql.ts";
import { statsQuery, toAgentStats, WHOLE_WINDOW, type AgentStats, type Figures, type StatsRow } from "../src/records/stats.ts";
import { DEFAULT_STATS_DAYS, INSTANT_HELP, parseWindow } from "../src/records/window.ts";
import { parseFlags, subcommand, type Flags as FlagValues } from "./lib/args.ts";
import { DEFAULT_CONFIG } from "./lib/config.ts";
import { CliError, EXIT, runMain, usageError } from "./lib/errors.ts";
import { note, out, outJson, table } from "./lib/output.ts";
import { runWrangler, wranglerFailure } from "./lib/wrangler.ts";

/** The D1 binding in wrangler.toml. */
const DB_BINDING = "DB";

const USAGE = `Usage: npm run calls -- <list|stats> (--local | --remote) [options]

Call records in the Worker's D1 database (binding ${DB_BINDING}): the same figures as GET /api/calls and GET /api/stats.

Commands:
  list    the newest calls first: --since, --until, --agent, --from, --to, --status, --outcome, --direction, --voicemail, --limit (default 50, at most ${MAX_LIST_LIMIT})
  stats   per agent and per UTC day: --since (default ${DEFAULT_STATS_DAYS}d), --until, --agent, --direction

Options:
  --since T, --until T  ${INSTANT_HELP}
  --agent A             a Retell agent id (agent_...), a number (+61...) or agent:<route id>
  --direction D         inbound or outbound (calls placed with \`npm run call\`)
  --voicemail B         true: only calls with a voicemail; false: only calls without
  --json                print JSON (as the admin API answers) instead of tables

Database (one is required):
  --local               the local database \`npm run dev\` uses (.wrangler/state)
  --persist-to DIR      with --local: another local persistence folder
  --remote              the deployed database on Cloudflare
  -c, --config FILE     wrangler.toml to use (default ./wrangler.toml)

Exit codes: 0 done, 1 failed (wrangler or D1), 2 bad usage.`;

const FLAGS = {
  local: { type: "boolean" },
  remote: { type: "boolean" },
  "persist-to": { type: "string" },
  config: { type: "string", short: "c" },
  since: { type: "string" },
  until: { type: "string" },
  agent: { type: "string" },
  from: { type: "string" },
  to: { type: "string" },
  status: { type: "string" },
  outcome: { type: "string" },
  direction: { type: "string" },
  voicemail: { type: "string" },
  limit: { type: "string" },
  json: { type: "boolean" },
} as const;

type Flags = FlagValues<typeof FLAGS>;

interface Database {
  mode: "local" | "remote";
  args: string[];
  label: string;
}

function databaseFromFlags(flags: Flags, command: string): Database {
  if (flags.local && flags.remote) throw usageError(`\`${command}\`: choose one of --local and --remote, not both.`);
  if (!flags.local && !flags.remote) {
    throw usageError(`\`${command}\` needs --local or --remote: it never guesses which database to read.`, "--local: the database `npm run dev` uses; --remote: the deployed one");
  }
  if (flags.remote && flags["persist-to"]) throw usageError(`\`${command}\`: --persist-to only applies to --local.`);
  const config = flags.config ?? DEFAULT_CONFIG;
  const args = ["--config", config];
  if (flags.remote) return { mode: "remote", args: [...args, "--remote"], label: `remote D1 database (binding ${DB_BINDING})` };
  const persistTo = flags["persist-to"] ? resolve(flags["persist-to"]) : undefined;
  return {
    mode: "local",
    args: persistTo ? [...args, "--local", "--persist-to", persistTo] : [...args, "--local"],
    label: `local D1 database (binding ${DB_BINDING}, in ${persistTo ?? ".wrangler/state"})`,
  };
}

/** Runs one read-only query through `wrangler d1 execute --json` and returns its rows. */
async function query<T>(db: Database, sqlQuery: SqlQuery): Promise<T[]> {
  const result = await runWrangler(["d1", "execute", DB_BINDING, "--json", "--command", inlineParams(sqlQuery), ...db.args]);
  const start = result.stdout.search(/[[{]/);
  let parsed: unknown;
  try {
    parsed = start === -1 ? undefined : JSON.parse(result.stdout.slice(start));
  } catch {
    parsed = undefined;
  }
  if (result.code !== 0 || !Array.isArray(parsed)) {
    // With --json, wrangler reports a SQL error as {"error":{"text":...}} on stdout.
    const text = (parsed as { error?: { text?: string } } | undefined)?.error?.text;
    const missingTable = /no such table: calls/.test(text ?? result.stdout + result.stderr);
    const auth = /CLOUDFLARE_API_TOKEN|wrangler login|not authenticated|Authentication error/i.test(result.stderr + result.stdout);
    throw new CliError(`Reading the ${db.label} failed${result.code !== 0 ? ` (wrangler exited with code ${result.code})` : ""}.`, {
      details: text ? [text] : wranglerFailure(result),
      ...(missingTable && { fix: `apply the migrations first: npx wrangler d1 migrations apply ${DB_BINDING} ${db.args.join(" ")}` }),
      ...(auth && { fix: "run `npx wrangler login` once, or set CLOUDFLARE_API_TOKEN (and CLOUDFLARE_ACCOUNT_ID) in the environment" }),
    });
  }
  const last = parsed[parsed.length - 1] as { results?: T[] } | undefined;
  return last?.results ?? [];
}

function time(ms: number | null): string {
  return ms === null ? "" : new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

/** 45s, 3m40s, 1h02m. */
function duration(seconds: number | null): string {
  if (seconds === null) return "";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

function percent(ratio: number | null): string {
  return ratio === null ? "" : `${(ratio * 100).toFixed(1)}%`;
}

function callSeconds(call: CallRecord): number | null {
  return call.durationS ?? call.dialDurationS ?? (call.retellDurationMs === null ? null : Math.round(call.retellDurationMs / 1000));
}

/** The pre-call hook's result and latency, and the agent it chose when that is not the number's own. */
function hookColumn(c: CallRecord): string {
  if (c.hookResult === null) return "";
  const chose = c.finalAgentId !== null && c.finalAgentId !== c.retellAgentId ? ` → ${c.finalAgentId}` : "";
  return `${c.hookResult} ${c.hookMs ?? "?"}ms${chose}`;
}

function callsTable(calls: CallRecord[]): string[] {
  const header = ["Time (UTC)", "CallSid", "Agent", "From", "To", "Outcome", "Twilio", "Duration", "Sentiment", "Success", "Direction", "Hook"];
  const rows = calls.map((c) => [
    time(c.createdAt),
    c.callSid,
    c.retellAgentId ?? c.agentKey ?? "-",
    c.from ?? "",
    c.to ?? "",
    (c.outcome ?? "?") + (c.outcomeReason ? ` (${c.outcomeReason})` : ""),
    c.twilioStatus ?? "",
    duration(callSeconds(c)),
    c.userSentiment ?? "",
    c.callSuccessful === null ? "" : c.callSuccessful ? "yes" : "no",
    c.direction + (c.answeredBy ? ` (${c.answeredBy})` : ""),
    hookColumn(c),
  ]);
  return table([header, ...rows]);
}

function failures(figures: Figures): string {
  const entries = Object.entries(figures.failures).sort(([a], [b]) => a.localeCompare(b));
  return entries.map(([reason, count]) => `${reason} ${count}`).join(", ");
}

function statsTable(agent: AgentStats): string[] {
  const header = ["Day", "Calls", "Connected", "Fallbacks", "Blocked", "Limited", "After hours", "Missed", "Answered", "Duration p50/p95/total", "Retell ms p50/p95", "Sentiment +/=/-/?", "Success y/n", "Transfers made/answered/failed", "Peak", "Held/abandoned", "Hold p50", "Hook ok/rejected/failed", "Failures"];
  const row = (day: string, f: Figures) => [
    day,
    String(f.calls),
    String(f.connected),
    String(f.fallbacks),
    String(f.blocked),
    String(f.rateLimited),
    String(f.afterHours),
    String(f.missed),
    percent(f.answerRate),
    `${duration(f.durationS.p50) || "-"} / ${duration(f.durationS.p95) || "-"} / ${duration(f.durationS.total)}`,
    `${f.retellRegisterMs.p50 ?? "-"} / ${f.retellRegisterMs.p95 ?? "-"}`,
    `${f.sentiment.positive}/${f.sentiment.neutral}/${f.sentiment.negative}/${f.sentiment.unknown}`,
    `${f.success.successful}/${f.success.unsuccessful}`,
    `${f.transfers.made}/${f.transfers.answered}/${f.transfers.failed}`,
    f.hold.peakConcurrent === null ? "-" : String(f.hold.peakConcurrent),
    `${f.hold.held}/${f.hold.abandoned}`,
    f.hold.medianHoldMs === null ? "-" : duration(Math.round(f.hold.medianHoldMs / 1_000)),
    `${f.hook.ok}/${f.hook.rejected}/${f.hook.failed.timeout + f.hook.failed.error + f.hook.failed.invalid}`,
    failures(f),
  ];
  return table([header, ...agent.days.map((d) => row(d.day, d)), row(WHOLE_WINDOW, agent.total)]);
}

/** A command, checked and ready: the one query it runs and how it prints the rows. Built before anything is read. */
interface Plan<T> {
  query: SqlQuery;
  print(rows: T[]): void;
}

type Run = (db: Database) => Promise<void>;

function runs<T>(plan: Plan<T>): Run {
  return async (db) => plan.print(await query<T>(db, plan.query));
}

function list(flags: Flags): Run {
  const parsed = parseListQuery(
    { since: flags.since, until: flags.until, agent: flags.agent, from: flags.from, to: flags.to, status: flags.status, outcome: flags.outcome, direction: flags.direction, voicemail: flags.voicemail, limit: flags.limit },
    Date.now(),
  );
  if (!parsed.ok) throw usageError(`npm run calls -- list: ${parsed.message.replace(/^(since|until|limit|status|outcome|direction|voicemail)\b/, "--$1")}.`);
  const { filter } = parsed;
  return runs<CallRow>({
    query: listCallsQuery(filter),
    print(rows) {
      const calls = rows.slice(0, filter.limit).map(toCallRecord);
      if (flags.json) return outJson(calls);
      if (calls.length === 0) return note("No calls match.");
      for (const line of callsTable(calls)) out(line);
      if (rows.length > filter.limit) note(`(the newest ${filter.limit}; more with --limit up to ${MAX_LIST_LIMIT} or an earlier --until)`);
    },
  });
}

function stats(flags: Flags): Run {
  for (const flag of ["from", "to", "status", "outcome", "limit"] as const) {
    if (flags[flag] !== undefined) throw usageError(`\`npm run calls -- stats\` takes no --${flag} (that filter is for \`list\`).`);
  }
  const parsed = parseWindow({ since: flags.since, until: flags.until }, Date.now(), DEFAULT_STATS_DAYS);
  if (!parsed.ok) throw usageError(`npm run calls -- stats: --${parsed.message}.`);
  const { since, until } = parsed.window;
  const { direction } = flags;
  if (direction !== undefined && !isCallDirection(direction)) throw usageError(`npm run calls -- stats: --${DIRECTION_MESSAGE}.`);
  return runs<StatsRow>({
    query: statsQuery({ since, until, ...(flags.agent && { agent: flags.agent }), ...(direction !== undefined && { direction }) }),
    print(rows) {
      const agents = toAgentStats(rows);
      if (flags.json) return outJson({ since: new Date(since).toISOString(), until: new Date(until).toISOString(), agents });
      note(`Calls from ${time(since)} to ${time(until)} UTC`);
      if (agents.length === 0) return note("No calls in this window.");
      for (const agent of agents) {
        out("");
        out(`Agent ${agent.agent}`);
        for (const line of statsTable(agent)) out(`  ${line}`);
        const o = agent.total.outbound;
        if (o.calls > 0) out(`  Outbound: ${o.calls} calls, answered by a person ${o.human}, by a machine ${o.machine}; no answer ${o.noAnswer}, busy ${o.busy}, failed ${o.failed}`);
      }
    },
  });
}

const COMMANDS: Record<string, (flags: Flags) => Run> = { list, stats };

async function main(argv: string[]): Promise<number> {
  const picked = subcommand(argv, Object.keys(COMMANDS), "npm run calls", USAGE);
  if (typeof picked === "number") return picked;
  const { command, rest } = picked;
  const run = COMMANDS[command] as (flags: Flags) => Run;
  const name = `npm run calls -- ${command}`;
  const { flags, positionals, help } = parseFlags(rest, FLAGS, name);
  if (help) {
    out(USAGE);
    return EXIT.ok;
  }
  if (positionals.length > 0) throw usageError(`Unexpected argument "${positionals[0]}" for \`${name}\`.`, "run `npm run calls -- --help`");
  const execute = run(flags);
  const db = databaseFromFlags(flags, name);
  note(`Database: ${db.label}`);
  await execute(db);
  return EXIT.ok;
}

await runMain(() => main(process.argv.slice(2)));
