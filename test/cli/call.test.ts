/**
 * `npm run call` end to end against a stand-in for the Worker's admin API (the CLI's only network edge):
 * one call followed to its end, Worker refusals, the CSV checked whole before anything is placed, at most N
 * calls in flight, the results file, and Ctrl-C stopping new calls.
 */
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseCsv } from "../../cli/lib/csv.ts";
import { NODE, ROOT, cleanEnv, removeTempDirs, runCli, tempDir } from "./helpers.ts";

const TOKEN = "admin_token_for_call_tests";
const CALLS_TOKEN = "test_calls_token_for_call_tests_0123";
const FROM = "+61341517921";

interface FakeCall {
  sid: string;
  body: Record<string, unknown>;
  reads: number;
}

/** The Worker's POST /api/calls and GET /api/calls/:sid: each read of a call moves it one status on, until `completed`. */
class FakeWorker {
  server: Server = createServer();
  calls: FakeCall[] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** Callees the Worker refuses, with its answer. */
  refuse = new Map<string, { status: number; body: unknown }>();
  /** Calls never end (for Ctrl-C). */
  endless = false;
  url = "";

  async start(): Promise<void> {
    this.server.on("request", (req, res) => {
      let text = "";
      req.on("data", (d: Buffer) => (text += d.toString("utf8")));
      req.on("end", () => {
        const send = (status: number, body: unknown) => res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
        // As the Worker: CALLS_TOKEN places calls, ADMIN_TOKEN reads records; neither does the other's work.
        if (req.headers.authorization !== `Bearer ${req.method === "POST" ? CALLS_TOKEN : TOKEN}`) return send(401, { error: "unauthorized", message: "Unauthorized" });
        if (req.method === "POST" && req.url === "/api/calls") {
          const body = JSON.parse(text) as Record<string, unknown>;
          const refusal = this.refuse.get(String(body.to));
          if (refusal) return send(refusal.status, refusal.body);
          const sid = `CA${String(this.calls.length + 1).padStart(32, "0")}`;
          this.calls.push({ sid, body, reads: 0 });
          this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
          return send(201, { callSid: sid, status: "queued" });
        }
        const call = this.calls.find((c) => req.url === `/api/calls/${c.sid}`);
        if (req.method === "GET" && call) {
          const steps = [null, "ringing", "in-progress", "completed"] as const;
          const step = steps[Math.min(call.reads++, steps.length - 1)];
          const status = this.endless ? "ringing" : step;
          if (status === null) return send(404, { error: "not_found", message: "no record" });
          if (status === "completed" && call.reads === steps.length) this.inFlight--;
          return send(200, { callSid: call.sid, twilioStatus: status, outcome: status === "completed" ? "connected" : null, outcomeReason: null, answeredBy: "human", durationS: status === "completed" ? 42 : null, direction: "outbound" });
        }
        send(404, { error: "not_found", message: "no such route" });
      });
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
}

let worker: FakeWorker;
beforeAll(async () => {
  worker = new FakeWorker();
  await worker.start();
});
afterEach(() => {
  worker.calls = [];
  worker.inFlight = 0;
  worker.maxInFlight = 0;
  worker.refuse.clear();
  worker.endless = false;
});
afterAll(async () => {
  worker.server.closeAllConnections();
  await new Promise((r) => worker.server.close(r));
  removeTempDirs();
});

const env = (extra: Record<string, string> = {}) => cleanEnv({ ADMIN_TOKEN: TOKEN, CALLS_TOKEN, BRIDGE_CALL_POLL_MS: "20", ...extra });
const call = (args: string[]) => runCli("call", [...args, "--url", worker.url], env());

function csvFile(text: string): string {
  const file = join(tempDir("call"), "reminders.csv");
  writeFileSync(file, text);
  return file;
}

describe("one call", () => {
  it("places it through POST /api/calls, prints the CallSid and follows it until it is over", async () => {
    const result = await call(["+14155550100", "--from", FROM, "--agent", "reminders", "--var", "first_name=Ada", "--var", "slot=10:00", "--machine-detection", "message", "--voicemail", "Call us back."]);
    expect(result.code, result.output).toBe(0);
    expect(worker.calls.map((c) => c.body)).toEqual([
      { to: "+14155550100", from: FROM, agentId: "reminders", dynamicVariables: { first_name: "Ada", slot: "10:00" }, machineDetection: "message", voicemailMessage: "Call us back." },
    ]);
    expect(result.stdout.trim()).toBe(worker.calls[0]?.sid);
    expect(result.stderr).toMatch(/ringing[\s\S]*in-progress[\s\S]*Call over: completed, answered by human, connected, 42s/);
  });

  it("exits 1 with the Worker's answer when the call is not placed", async () => {
    worker.refuse.set("+14155550101", { status: 502, body: { error: "twilio_error", code: 21215, message: "Account not authorized to call +14155550101." } });
    const result = await call(["+14155550101", "--from", FROM]);
    expect(result.code, result.output).toBe(1);
    expect(result.stderr).toContain("The call was not placed: twilio_error (HTTP 502, Twilio code 21215): Account not authorized to call +14155550101.");
  });

  it.each([
    ["no Worker named", ["+14155550100", "--from", FROM], /needs --local or --url/],
    ["no --from", ["+14155550100", "--url", "http://127.0.0.1:9"], /needs --from/],
    ["no <to>", ["--from", FROM, "--url", "http://127.0.0.1:9"], /needs exactly one <to>/],
    ["a --var without =", ["+14155550100", "--from", FROM, "--var", "ada", "--url", "http://127.0.0.1:9"], /--var "ada" is not name=value/],
    ["--concurrency without --csv", ["+14155550100", "--from", FROM, "--concurrency", "3", "--url", "http://127.0.0.1:9"], /--concurrency only applies to --csv/],
    ["a plain http --url off this machine, which would send CALLS_TOKEN in clear", ["+14155550100", "--from", FROM, "--url", "http://bridge.example.com"], /--url must be https:\/\//],
  ])("refuses %s with exit code 2", async (_name, args, message) => {
    const result = await runCli("call", args, env());
    expect(result.code, result.output).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it("refuses to run without CALLS_TOKEN, whatever ADMIN_TOKEN is", async () => {
    const result = await runCli("call", ["+14155550100", "--from", FROM, "--url", worker.url], cleanEnv({ ADMIN_TOKEN: TOKEN }));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("CALLS_TOKEN is not set");
    expect(worker.calls).toEqual([]);
  });

  it("places the call with CALLS_TOKEN and, without ADMIN_TOKEN, does not follow it", async () => {
    const result = await runCli("call", ["+14155550100", "--from", FROM, "--url", worker.url], cleanEnv({ CALLS_TOKEN, BRIDGE_CALL_POLL_MS: "20" }));
    expect(result.code, result.output).toBe(0);
    expect(worker.calls).toHaveLength(1);
    expect(worker.calls[0]?.reads).toBe(0);
    expect(result.stderr).toContain("not followed without ADMIN_TOKEN");
  });

  it.each([
    ["CALLS_TOKEN", { CALLS_TOKEN: "wrong" }],
    ["ADMIN_TOKEN", { ADMIN_TOKEN: "wrong" }],
  ])("says so when the Worker refuses %s", async (name, tokens) => {
    const result = await runCli("call", ["+14155550100", "--from", FROM, "--url", worker.url], env(tokens));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`refused ${name} (401)`);
  });
});

describe("a CSV list", () => {
  it.each([
    ["a bad number", "to,first_name\n+14155550100,Ada\ntomorrow,Bob\n", ":3: to: to must be a phone number in E.164"],
    ["no to column", "number,first_name\n+14155550100,Ada\n", ":1: to: column is missing from the header"],
    ["a column that is no variable name", "to,first name\n+14155550100,Ada\n", ":1: first name: is not a variable name"],
    ["a number twice", "to\n+14155550100\n+1 415 555 0100\n", ":3: to: +14155550100 is already on line 2"],
    ["a row with too many fields", "to,first_name\n+14155550100,Ada,extra\n", ":2: (row): has 3 fields, the header has 2"],
    ["a variable too long", `to,note\n+14155550100,${"x".repeat(1_001)}\n`, ":2: note: dynamicVariables.note is longer than 1000 characters"],
    ["no rows", "to\n", ":1: (file): has no rows to call"],
  ])("with %s: exit 2, the line and column named, and nothing placed", async (_name, text, problem) => {
    const file = csvFile(text);
    const result = await call(["--csv", file, "--from", FROM]);
    expect(result.code, result.output).toBe(2);
    expect(result.stderr).toContain(`${file}${problem}`);
    expect(result.stderr).toContain("no call was placed");
    expect(worker.calls).toEqual([]);
  });

  it("places every row with at most --concurrency calls in flight, then prints a summary and writes the results beside the file", async () => {
    const numbers = Array.from({ length: 6 }, (_, i) => `+1415555020${i}`);
    const file = csvFile(`to,first_name\n${numbers.map((n, i) => `${n},Name${i}`).join("\n")}\n`);
    const result = await call(["--csv", file, "--from", FROM, "--concurrency", "2", "--var", "clinic=North"]);
    expect(result.code, result.output).toBe(0);
    expect(worker.calls.map((c) => c.body.to).sort()).toEqual(numbers);
    expect(worker.calls.find((c) => c.body.to === numbers[3])?.body.dynamicVariables).toEqual({ clinic: "North", first_name: "Name3" });
    expect(worker.maxInFlight).toBe(2);
    expect(result.stderr).toMatch(/\[6\/6\] ✓/);
    expect(result.stderr).toContain("Calls: 6 done, 0 skipped, 0 failed (of 6)");
    expect(result.stdout).toMatch(/Result\s+Calls\ncompleted \(connected\)\s+6/);
    const results = parseCsv(readFileSync(join(file, "..", "reminders.results.csv"), "utf8")).map((r) => r.fields);
    expect(results[0]).toEqual(["line", "to", "callSid", "status", "outcome", "answeredBy", "error"]);
    expect(results.slice(1).map((r) => [r[0], r[1], r[3], r[4]])).toEqual(numbers.map((n, i) => [String(i + 2), n, "completed", "connected"]));
  });

  it("records a row the Worker refuses as not placed and goes on with the others; exit 1", async () => {
    worker.refuse.set("+14155550301", { status: 429, body: { error: "limit_reached", message: "this number has started 500 calls today" } });
    const file = csvFile("to\n+14155550300\n+14155550301\n+14155550302\n");
    const result = await call(["--csv", file, "--from", FROM]);
    expect(result.code, result.output).toBe(1);
    expect(worker.calls).toHaveLength(2);
    const results = readFileSync(join(file, "..", "reminders.results.csv"), "utf8");
    expect(results).toContain("3,+14155550301,,not_placed,,,limit_reached: this number has started 500 calls today");
  });

  it("stops placing calls on Ctrl-C, waits for none, and writes the results so far", async () => {
    worker.endless = true;
    const file = csvFile(`to\n${Array.from({ length: 5 }, (_, i) => `+1415555040${i}`).join("\n")}\n`);
    const child = spawn(NODE, [join(ROOT, "cli/call.ts"), "--csv", file, "--from", FROM, "--concurrency", "2", "--url", worker.url], { cwd: ROOT, env: env(), stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    // A bound for a failing run only: a loaded machine may take many seconds to start the CLI.
    const deadline = Date.now() + 50_000;
    // Both calls placed, and each status read twice: the CLI has taken in the first answer.
    while ((worker.calls.length < 2 || worker.calls.some((c) => c.reads < 2)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGINT");
    expect(await exited, stderr).toBe(130);
    expect(worker.calls).toHaveLength(2);
    const resultsFile = join(file, "..", "reminders.results.csv");
    expect(existsSync(resultsFile)).toBe(true);
    const rows = parseCsv(readFileSync(resultsFile, "utf8")).slice(1).map((r) => r.fields[3]);
    expect(rows).toEqual(["ringing", "ringing", "not_placed", "not_placed", "not_placed"]);
  });
});
