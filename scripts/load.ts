/**
 * npm run load: many concurrent Twilio-signed calls from many numbers against the Worker under `wrangler dev`
 * (loopback only), while the local Retell stand-in fails a share of registrations, answers slowly or drops
 * connections. Some CallSids are sent twice, as Twilio's retries and replayed requests are. It reports
 * throughput and latency, and a tally that must hold: every call answered with SIP TwiML or the documented
 * fallback, no 5xx, a call record for every call that matches its answer, and no CallSid registered twice.
 *
 * Bounded in count and time: `--requests` (default 2000), `--concurrency` (default 32), `--max-seconds` (default 300).
 * `runLoad()` is also what the short load test in `npm test` runs (test/scripts/load.test.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { serializeAgentConfig } from "../src/agents/schema.ts";
import { APOLOGY_MESSAGE } from "../src/calls/outcome.ts";
import { startDev } from "../cli/lib/dev.ts";
import { putMany } from "../cli/lib/store.ts";
import { inboundCallParams, signedWebhook } from "../cli/lib/webhook.ts";
import { wrangler } from "../cli/lib/wrangler.ts";
import { startRetellStandIn, type RecordedRequest } from "../stand-ins/retell.ts";

const AUTH_TOKEN = "load_twilio_auth_token";
const API_KEY = "key_load_test";
const ADMIN_TOKEN = "load_admin_token";
const ACCOUNT_SID = "AC" + "0".repeat(32);
const FALLBACK = "+61390000000";

export interface LoadOptions {
  requests: number;
  concurrency: number;
  /** Distinct dialed numbers; every other one has a fallback number. */
  numbers: number;
  /** Share of requests that repeat an earlier CallSid after its first answer. */
  repeatRate: number;
  /**
   * Two of every n numbers' agents are down at Retell for the whole run (always 503): one with a fallback number
   * and one without, so both fallbacks are exercised.
   */
  downEvery: number;
  chaos: { dropRate: number; failRate: number; slowRate: number; slowMs: number };
  maxSeconds: number;
  log?: (line: string) => void;
}

export const DEFAULT_LOAD: LoadOptions = {
  requests: 2000,
  concurrency: 32,
  numbers: 100,
  repeatRate: 0.05,
  downEvery: 10,
  chaos: { dropRate: 0.03, failRate: 0.1, slowRate: 0.1, slowMs: 1_500 },
  maxSeconds: 300,
};

type Answer = "sip" | "fallback_number" | "apology" | "other";

export interface Tally {
  sent: number;
  answered: Record<Answer, number>;
  status5xx: number;
  statusOther: number;
  /** Answers that do not fit the number's agent (a fallback where none is configured, an apology where one is). */
  wrongFallback: number;
  /** SIP answers whose call id the stand-in did not issue for that CallSid. */
  foreignCallIds: number;
  repeats: number;
  /** Repeated CallSids answered differently from their first answer's SIP URI. */
  repeatsAnsweredDifferently: number;
  /** CallSids the stand-in registered (201) more than once. */
  duplicateRegistrations: number;
  uniqueCalls: number;
  records: number;
  missingRecords: number;
  /** Records whose outcome or Retell call id disagrees with the answer the caller got. */
  mismatchedRecords: number;
}

export interface LoadReport {
  tally: Tally;
  seconds: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
  retellRequests: number;
}

interface Sent {
  callSid: string;
  from: string;
  to: string;
  repeat: boolean;
  status: number;
  answer: Answer;
  sipCallId?: string;
  ms: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });

function post(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: "POST", agent, headers: { ...headers, "Content-Length": String(Buffer.byteLength(body)) }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", () => resolve({ status: 0, text: "" }));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve({ status: 0, text: "" }));
    req.end(body);
  });
}

function classify(text: string): { answer: Answer; sipCallId?: string } {
  const sip = /<Sip>sip:([A-Za-z0-9_-]+)@/.exec(text);
  if (sip) return { answer: "sip", sipCallId: sip[1] };
  if (/<Dial[^>]*><Number>\+\d+<\/Number><\/Dial>/.test(text)) return { answer: "fallback_number" };
  if (text.includes(`<Say>${APOLOGY_MESSAGE}</Say><Hangup/>`)) return { answer: "apology" };
  return { answer: "other" };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;

interface ListedCall {
  callSid: string;
  outcome: string | null;
  retellCallId: string | null;
}

async function allRecords(url: string): Promise<ListedCall[]> {
  const calls: ListedCall[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ limit: "200", since: "1d", ...(cursor && { cursor }) });
    const res = await fetch(`${url}/api/calls?${query}`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    if (!res.ok) throw new Error(`GET /api/calls answered ${res.status}: ${await res.text()}`);
    const page = (await res.json()) as { calls: ListedCall[]; nextCursor: string | null };
    calls.push(...page.calls);
    cursor = page.nextCursor;
  } while (cursor);
  return calls;
}

/** What the record's outcome must be for the answer the caller got. */
const OUTCOME_FOR: Record<Answer, string[]> = {
  sip: ["connected"],
  fallback_number: ["fallback_dialed"],
  apology: ["retell_failed"],
  other: [],
};

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const say = options.log ?? (() => {});
  const deadline = Date.now() + options.maxSeconds * 1000;
  const state = mkdtempSync(join(tmpdir(), "bridge-load-"));
  const retell = await startRetellStandIn({ apiKey: API_KEY, defaults: { chaos: options.chaos } });
  const dev = await startDev({
    configPath: "wrangler.toml",
    persistTo: state,
    vars: { RETELL_BASE_URL: retell.url, RETELL_TIMEOUT_MS: "5000", TWILIO_AUTH_TOKEN: AUTH_TOKEN, RETELL_API_KEY: API_KEY, ADMIN_TOKEN, WEBHOOK_BASE_URL: "" },
  });
  try {
    const numbers = Array.from({ length: options.numbers }, (_, i) => `+6141${String(i).padStart(7, "0")}`);
    const withFallback = new Set(numbers.filter((_, i) => i % 2 === 0));
    const agentOf = (i: number) => `agent_load${i}`;
    const down = (i: number) => i % options.downEvery < 2;
    numbers.forEach((_, i) => down(i) && retell.setBehaviour(agentOf(i), { status: 503 }));
    const store = { mode: "local" as const, persistTo: state, configPath: "wrangler.toml" };
    await putMany(
      store,
      numbers.map((n, i) => ({ key: n, value: serializeAgentConfig({ retellAgentId: agentOf(i), ...(withFallback.has(n) && { fallbackNumber: FALLBACK }) }) })),
    );
    await wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", state, "--config", "wrangler.toml"], "Applying D1 migrations locally");
    say(`wrangler dev on ${dev.url}; Retell stand-in on ${retell.url} (chaos: ${JSON.stringify(options.chaos)}; 2 in ${options.downEvery} agents down); ${options.numbers} numbers seeded`);

    const webhookUrl = `${dev.url}/api/webhooks/twilio`;
    const sent: Sent[] = [];
    const firsts: Sent[] = [];
    // First calls not repeated yet: each CallSid is repeated at most once, so a caller never goes past the
    // per-caller rate limit (wrangler.toml, 3 a minute) that the load runs with, as deployed.
    const unrepeated: Sent[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (next < options.requests && Date.now() < deadline) {
          const i = next++;
          const repeatOf = unrepeated.length > 0 && Math.random() < options.repeatRate ? unrepeated.splice(Math.floor(Math.random() * unrepeated.length), 1)[0] : undefined;
          const to = repeatOf?.to ?? (numbers[i % numbers.length] as string);
          // A caller of its own per call, as on a real line: the load is many people calling, not one caller.
          const from = repeatOf?.from ?? `+1415${String(i).padStart(7, "0")}`;
          const params = inboundCallParams({ from, to, accountSid: ACCOUNT_SID });
          if (repeatOf) params.CallSid = repeatOf.callSid;
          const webhook = signedWebhook({ url: webhookUrl, authToken: AUTH_TOKEN, params });
          const t = performance.now();
          // Twilio waits 15 s at most for a voice webhook.
          const res = await post(webhook.url, webhook.body, webhook.headers, 15_000);
          const ms = performance.now() - t;
          const entry: Sent = { callSid: params.CallSid as string, from, to, repeat: repeatOf !== undefined, status: res.status, ms, ...classify(res.text) };
          sent.push(entry);
          if (!repeatOf) {
            firsts.push(entry);
            unrepeated.push(entry);
          }
          if (sent.length % 250 === 0) say(`  ${sent.length}/${options.requests} answered`);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;

    // Records are written after each answer (waitUntil): give the last ones a moment, then compare.
    await new Promise((r) => setTimeout(r, 1_000));
    const records = new Map((await allRecords(dev.url)).map((r) => [r.callSid, r]));
    const registrations = retell.requests.filter((r: RecordedRequest) => r.path === "/v2/register-phone-call" && r.status === 201);
    const issued = new Map<string, string[]>();
    for (const r of registrations) {
      const callSid = (r.body as { metadata?: { twilio_call_sid?: string } }).metadata?.twilio_call_sid ?? "";
      issued.set(callSid, [...(issued.get(callSid) ?? []), r.callId ?? ""]);
    }

    const first = new Map(firsts.map((s) => [s.callSid, s]));
    const tally: Tally = {
      sent: sent.length,
      answered: { sip: 0, fallback_number: 0, apology: 0, other: 0 },
      status5xx: sent.filter((s) => s.status >= 500).length,
      statusOther: sent.filter((s) => s.status !== 200 && s.status < 500).length,
      wrongFallback: 0,
      foreignCallIds: 0,
      repeats: sent.filter((s) => s.repeat).length,
      repeatsAnsweredDifferently: 0,
      duplicateRegistrations: [...issued.values()].filter((ids) => ids.length > 1).length,
      uniqueCalls: first.size,
      records: records.size,
      missingRecords: 0,
      mismatchedRecords: 0,
    };
    for (const s of sent) {
      tally.answered[s.answer]++;
      if ((s.answer === "fallback_number" && !withFallback.has(s.to)) || (s.answer === "apology" && withFallback.has(s.to))) tally.wrongFallback++;
      if (s.answer === "sip" && !(issued.get(s.callSid) ?? []).includes(s.sipCallId ?? "")) tally.foreignCallIds++;
      const original = first.get(s.callSid);
      if (s.repeat && original?.answer === "sip" && s.sipCallId !== original.sipCallId) tally.repeatsAnsweredDifferently++;
    }
    for (const s of firsts) {
      const record = records.get(s.callSid);
      if (!record) {
        tally.missingRecords++;
        continue;
      }
      // A repeat can upgrade a failed first attempt to a connected call; judge the record by the last answer.
      const last = [...sent].reverse().find((x) => x.callSid === s.callSid) ?? s;
      const outcomeOk = OUTCOME_FOR[last.answer].includes(record.outcome ?? "");
      const idOk = last.answer !== "sip" || record.retellCallId === last.sipCallId;
      if (!outcomeOk || !idOk) tally.mismatchedRecords++;
    }
    const latencies = sent.map((s) => s.ms).sort((a, b) => a - b);
    return {
      tally,
      seconds,
      requestsPerSecond: sent.length / seconds,
      latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies[latencies.length - 1] ?? NaN },
      retellRequests: retell.requests.length,
    };
  } finally {
    await dev.stop();
    await retell.close();
    agent.destroy();
    rmSync(state, { recursive: true, force: true });
  }
}

/** The tally's failures, as sentences; empty when everything held. */
export function tallyProblems(t: Tally): string[] {
  return [
    t.status5xx > 0 && `${t.status5xx} answers were 5xx`,
    t.statusOther > 0 && `${t.statusOther} answers were not 200`,
    t.answered.other > 0 && `${t.answered.other} answers were neither SIP TwiML nor a documented fallback`,
    t.wrongFallback > 0 && `${t.wrongFallback} fallbacks did not match the number's agent`,
    t.foreignCallIds > 0 && `${t.foreignCallIds} SIP answers carried a call id Retell did not issue for that CallSid`,
    t.repeatsAnsweredDifferently > 0 && `${t.repeatsAnsweredDifferently} repeated CallSids got a different SIP URI`,
    t.duplicateRegistrations > 0 && `${t.duplicateRegistrations} CallSids were registered with Retell more than once`,
    t.missingRecords > 0 && `${t.missingRecords} calls have no record`,
    t.mismatchedRecords > 0 && `${t.mismatchedRecords} records disagree with the caller's answer`,
    t.records !== t.uniqueCalls && `${t.records} records for ${t.uniqueCalls} calls`,
  ].filter((p): p is string => typeof p === "string");
}

async function main() {
  const { values } = parseArgs({
    options: { requests: { type: "string" }, concurrency: { type: "string" }, "max-seconds": { type: "string" } },
    strict: true,
  });
  const options: LoadOptions = {
    ...DEFAULT_LOAD,
    requests: Number(values.requests ?? DEFAULT_LOAD.requests),
    concurrency: Number(values.concurrency ?? DEFAULT_LOAD.concurrency),
    maxSeconds: Number(values["max-seconds"] ?? DEFAULT_LOAD.maxSeconds),
    log: (line) => console.log(line),
  };
  const report = await runLoad(options);
  const t = report.tally;
  console.log(`\nLoad: ${t.sent} signed voice webhooks (${t.repeats} repeated CallSids) from ${options.numbers} numbers, ${options.concurrency} at a time, through wrangler dev on 127.0.0.1.`);
  console.log(`Retell stand-in: 2 in ${options.downEvery} agents always 503; otherwise ${Math.round(options.chaos.failRate * 100)} % 503, ${Math.round(options.chaos.dropRate * 100)} % dropped connections, ${Math.round(options.chaos.slowRate * 100)} % answered after ${options.chaos.slowMs} ms; ${report.retellRequests} requests reached it.\n`);
  console.log(`| requests/s | p50 ms | p99 ms | max ms |\n| ---: | ---: | ---: | ---: |\n| ${report.requestsPerSecond.toFixed(1)} | ${report.latencyMs.p50.toFixed(1)} | ${report.latencyMs.p99.toFixed(1)} | ${report.latencyMs.max.toFixed(1)} |\n`);
  console.log("| tally | count |\n| --- | ---: |");
  for (const [k, v] of Object.entries({ ...t, answered: undefined, ...Object.fromEntries(Object.entries(t.answered).map(([a, n]) => [`answered ${a}`, n])) })) {
    if (v !== undefined) console.log(`| ${k} | ${v} |`);
  }
  const problems = tallyProblems(t);
  console.log(problems.length ? `\nFAILED: ${problems.join("; ")}` : "\nEvery call answered with SIP TwiML or the documented fallback; no 5xx; every record present and matching; no duplicate registrations.");
  if (problems.length) process.exitCode = 1;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
