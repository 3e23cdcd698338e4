/**
 * `npm run calls` end to end: a real local D1 database in a temp folder (migrations applied and the known data
 * set inserted with raw wrangler), read by the CLI through `wrangler d1 execute`. Its figures must be the admin
 * API's: the same data set and expectations as test/routes/admin.test.ts.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sqlLiteral, type SqlValue } from "../../src/records/sql.ts";
import { EXPECTED_STATS, STATS_ROWS, STATS_SINCE, STATS_UNTIL } from "../stats-data.ts";
import { NODE, ROOT, WRANGLER_JS, cleanEnv, removeTempDirs, runCli, tempDir } from "./helpers.ts";

const exec = promisify(execFile);
let dir = "";
const local = () => ["--local", "--persist-to", dir];
const window = ["--since", STATS_SINCE, "--until", STATS_UNTIL];

async function rawD1(args: string[], persistTo: string): Promise<void> {
  await exec(NODE, [WRANGLER_JS, "d1", ...args, "--local", "--persist-to", persistTo], { cwd: ROOT, env: { ...cleanEnv(), CI: "true", WRANGLER_SEND_METRICS: "false" } });
}

beforeAll(async () => {
  dir = tempDir("calls");
  await rawD1(["migrations", "apply", "DB"], dir);
  const inserts = STATS_ROWS.map((row) => {
    const columns = Object.keys(row);
    return `INSERT INTO calls (${columns.join(", ")}, updated_at) VALUES (${columns.map((c) => sqlLiteral(row[c] as SqlValue)).join(", ")}, ${row.created_at});`;
  });
  const file = join(tempDir("seed"), "seed.sql");
  writeFileSync(file, inserts.join("\n"));
  await rawD1(["execute", "DB", "--file", file, "--yes"], dir);
});

afterAll(removeTempDirs);

describe("calls stats", () => {
  it("--json prints the admin API's figures for the known data set", async () => {
    const result = await runCli("calls", ["stats", ...window, "--json", ...local()]);
    expect(result.code, result.output).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ since: "2026-11-18T00:00:00.000Z", until: "2026-11-20T00:00:00.000Z", agents: EXPECTED_STATS });
  });

  it("prints a table per agent: one row per day and one for the whole window", async () => {
    const result = await runCli("calls", ["stats", ...window, ...local()]);
    expect(result.code, result.output).toBe(0);
    const lines = result.stdout.split("\n");
    const alpha = lines.indexOf("Agent agent_alpha");
    expect(alpha).toBeGreaterThan(-1);
    expect(lines[alpha + 1]).toMatch(/^\s+Day\s+Calls\s+Connected\s+Fallbacks\s+Blocked\s+Limited\s+After hours\s+Missed\s+Answered\s+Duration p50\/p95\/total/);
    expect(lines[alpha + 2]).toMatch(/^\s+2026-11-18\s+4\s+2\s+2\s+0\s+0\s+0\s+0\s+50\.0%\s+30s \/ 2m00s \/ 3m40s\s+150 \/ 8000\s+1\/0\/1\/0\s+1\/1\s+0\/0\/0\s+-\s+0\/0\s+-\s+0\/0\/0\s+dial_busy 1, retell_timeout 1$/);
    expect(lines[alpha + 4]).toMatch(/^\s+all\s+7\s+4\s+2\s+0\s+0\s+0\s+0\s+57\.1%\s+45s \/ 5m00s \/ 9m30s\s+120 \/ 8000\s+2\/1\/1\/0\s+3\/1\s+0\/0\/0\s+-\s+0\/0\s+-\s+0\/0\/0\s+dial_busy 1, retell_rejected 1, retell_timeout 1$/);
    expect(result.stderr).toContain(`local D1 database (binding DB, in ${dir})`);
  });

  it("prints a busy line's peak concurrent calls, calls held and abandoned, and median hold time", async () => {
    const result = await runCli("calls", ["stats", ...window, "--agent", "agent_busy", ...local()]);
    expect(result.code, result.output).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines.find((l) => /^\s+Day\s/.test(l))).toMatch(/Transfers made\/answered\/failed\s+Peak\s+Held\/abandoned\s+Hold p50\s+Hook ok\/rejected\/failed\s+Failures/);
    expect(lines.find((l) => /^\s+all\s/.test(l))).toMatch(/\s0\/0\/0\s+2\s+4\/1\s+10s\s+0\/0\/0\s+abandoned 1, hold_timeout 1, line_full 1$/);
  });

  it("counts the routing rules' blocked, rate-limited and after-hours calls per agent", async () => {
    const result = await runCli("calls", ["stats", ...window, "--agent", "agent_rules", ...local()]);
    expect(result.code, result.output).toBe(0);
    const lines = result.stdout.split("\n");
    const all = lines.find((l) => /^\s+all\s/.test(l));
    expect(all).toMatch(/^\s+all\s+5\s+1\s+0\s+1\s+1\s+2\s+0\s+0\.0%/);
  });

  it("counts the calls the bridge never answered as missed", async () => {
    const result = await runCli("calls", ["stats", ...window, "--agent", "agent_missed", ...local()]);
    expect(result.code, result.output).toBe(0);
    const all = result.stdout.split("\n").find((l) => /^\s+all\s/.test(l));
    expect(all).toMatch(/^\s+all\s+2\s+0\s+0\s+0\s+0\s+0\s+2\s+0\.0%.*\smissed 2$/);
  });

  it("--direction outbound gives the outbound figures, with who answered", async () => {
    const result = await runCli("calls", ["stats", ...window, "--direction", "outbound", ...local()]);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toContain("Agent agent_outbound");
    expect(result.stdout).not.toContain("Agent agent_alpha");
    expect(result.stdout).toContain("Outbound: 7 calls, answered by a person 2, by a machine 2; no answer 1, busy 1, failed 1");
  });

  it("counts an agent's transfers made, answered and failed", async () => {
    const result = await runCli("calls", ["stats", ...window, "--agent", "agent_transfers", ...local()]);
    expect(result.code, result.output).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines.find((l) => l.includes("Day"))).toContain("Transfers made/answered/failed");
    expect(lines.find((l) => /^\s+all\s/.test(l))).toMatch(/\s5\/2\/2(\s|$)/);
  });

  it("--agent keeps one agent", async () => {
    const result = await runCli("calls", ["stats", ...window, "--agent", "agent_twenty", "--json", ...local()]);
    expect((JSON.parse(result.stdout) as { agents: Array<{ agent: string }> }).agents.map((a) => a.agent)).toEqual(["agent_twenty"]);
  });
});

describe("calls list", () => {
  it("--json lists an agent's calls in the window, newest first", async () => {
    const result = await runCli("calls", ["list", ...window, "--agent", "agent_alpha", "--json", ...local()]);
    expect(result.code, result.output).toBe(0);
    const calls = JSON.parse(result.stdout) as Array<{ callSid: string }>;
    expect(calls.map((c) => c.callSid.slice(-1))).toEqual(["7", "6", "5", "4", "3", "2", "1"]);
  });

  it("prints a table with UTC times and outcomes with their reasons", async () => {
    const result = await runCli("calls", ["list", "--agent", "agent_alpha", "--outcome", "fallback_dialed", ...local()]);
    expect(result.code, result.output).toBe(0);
    const [header, ...rows] = result.stdout.trim().split("\n");
    expect(header).toMatch(/^Time \(UTC\)\s+CallSid\s+Agent\s+From\s+To\s+Outcome\s+Twilio\s+Duration\s+Sentiment\s+Success\s+Direction\s+Hook$/);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^2026-11-18 10:00:00\s+CA0+4\s+agent_alpha\s+.*fallback_dialed \(dial_busy\)\s+10s\s+inbound$/);
  });

  it("shows the pre-call hook's result, latency and the agent it chose", async () => {
    const result = await runCli("calls", ["list", ...window, "--agent", "agent_hooked", ...local()]);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toMatch(/blocked \(hook\).*inbound\s+rejected 30ms$/m);
    expect(result.stdout).toMatch(/connected.*inbound\s+ok 20ms → agent_vip$/m);
    expect(result.stdout).toMatch(/connected.*inbound\s+timeout 2500ms$/m);
  });

  it("counts the pre-call hook's answers and failures per agent", async () => {
    const result = await runCli("calls", ["stats", ...window, "--agent", "agent_hooked", ...local()]);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toMatch(/Hook ok\/rejected\/failed/);
    expect(result.stdout).toMatch(/^\s+all\s+6\s+5\s+0\s+1\s.*\s1\/1\/3\s+hook 1$/m);
  });

  it("--direction outbound lists only calls placed outbound, with who answered", async () => {
    const result = await runCli("calls", ["list", ...window, "--direction", "outbound", ...local()]);
    expect(result.code, result.output).toBe(0);
    const [, ...rows] = result.stdout.trim().split("\n");
    expect(rows).toHaveLength(7);
    expect(rows.every((row) => /\boutbound( \([a-z_]+\))?$/.test(row))).toBe(true);
    expect(result.stdout).toMatch(/machine_answered \(machine_hangup\).*outbound \(machine_start\)$/m);
  });
});

describe("calls refuses", () => {
  it.each([
    ["no database flag", ["stats"], /needs --local or --remote/],
    ["both database flags", ["stats", "--local", "--remote"], /choose one of --local and --remote/],
    ["a --since it cannot read", ["stats", "--since", "last week", "--local"], /--since: use 30m/],
    ["a list-only filter on stats", ["stats", "--limit", "5", "--local"], /takes no --limit/],
    ["a limit over the maximum", ["list", "--limit", "1000", "--local"], /--limit must be a whole number from 1 to 200/],
    ["an unknown direction", ["list", "--direction", "both", "--local"], /--direction must be one of inbound, outbound/],
    ["an unknown direction on stats", ["stats", "--direction", "both", "--local"], /--direction must be one of inbound, outbound/],
    ["an unknown command", ["purge", "--local"], /Unknown command "purge"/],
  ])("%s with exit code 2, reading nothing", async (_name, args, message) => {
    const result = await runCli("calls", args);
    expect(result.code, result.output).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toContain("Database:");
  });

  it("a database without the migrations, with exit code 1 and the command that fixes it", async () => {
    const empty = tempDir("empty");
    const result = await runCli("calls", ["list", "--local", "--persist-to", empty]);
    expect(result.code, result.output).toBe(1);
    expect(result.stderr).toContain("no such table: calls");
    expect(result.stderr).toContain(`fix: apply the migrations first: npx wrangler d1 migrations apply DB --config wrangler.toml --local --persist-to ${empty}`);
  });
});
