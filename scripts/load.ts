/**
 * npm run load: many concurrent Twilio-signed calls, each from a caller of its own, to many numbers, against the
 * Worker under `wrangler dev` (loopback only), while the local Retell stand-in fails a share of registrations,
 * answers slowly or drops connections. Some calls' first webhook arrives as several copies at once, and some
 * CallSids come again later, as Twilio's retries and replayed requests do. In the middle, D1 goes away (its
 * `calls` table is renamed under the running wrangler dev) and comes back. It reports throughput and latency,
 * and a tally that must hold: every call answered with SIP TwiML or the documented fallback, no 5xx, no CallSid
 * registered twice, copies of one webhook answered alike, and once D1 is back (within a minute) a call record
 * for every call that matches its answer. Then a busy line (scripts/lib/busy-line.ts): more callers at once than
 * its agent's maxConcurrentCalls, held in the line's queue and connected as calls end.
 *
 * Call events (docs/events.md): each call also gets its final status callback, so it has two events (call.started,
 * call.ended), delivered through the local queue to a receiver stand-in that answers 500 to a share of deliveries,
 * drops a share of connections and is down for a while mid-run. Afterwards every expected event must have reached
 * it at least once (unique webhook-ids against the calls made), signed, in order per call, none left undelivered.
 *
 * Bounded in count and time: `--requests` (default 2000), `--concurrency` (default 32), `--numbers` (default 100),
 * `--max-seconds` (default 300) for the sending, then at most a minute's wait for the records. `runLoad()` is
 * also what the short load test in `npm test` runs (test/scripts/load.test.ts).
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
import { inboundCallParams, signedWebhook, type SignedWebhook } from "../cli/lib/webhook.ts";
import { wrangler } from "../cli/lib/wrangler.ts";
import { CliError } from "../cli/lib/errors.ts";
import { startRetellStandIn, type RecordedRequest } from "../stand-ins/retell.ts";
import { startTwilioStandIn } from "../stand-ins/twilio.ts";
import { startReceiverStandIn, type ReceivedRequest } from "../stand-ins/receiver.ts";
import { WEBHOOKS_KEY } from "../src/records/endpoints.ts";
import { busyLineProblems, DEFAULT_BUSY_LINE, runBusyLine, type BusyLineOptions, type BusyLineReport } from "./lib/busy-line.ts";

const AUTH_TOKEN = "load_twilio_auth_token";
const API_KEY = "key_load_test";
const ADMIN_TOKEN = "load_admin_token";
const ACCOUNT_SID = "AC" + "0".repeat(32);
const FALLBACK = "+61390000000";
/** The Worker's signing secret in the run (32 bytes), which the receiver verifies with. */
const SIGNING_SECRET = `whsec_${Buffer.alloc(32, 42).toString("base64")}`;
const EVENTS_PATH = "/events";
/** The Worker's log line for a copy to D1 that failed (line/object.ts): proof that the outage was real. */
const COPY_FAILED = '"records.copy_failed"';
/**
 * The Worker's log line for a voice webhook answered without its line's object (calls/answer.ts): the call has no
 * claim, so a later webhook for it is not answered alike (docs/proof.md says what the run shows then).
 */
const LINE_UNAVAILABLE = '"line.unavailable"';
/** How long after D1 is back every record must be there: the issue's promise ("within a minute"). */
const RECORDS_WITHIN_MS = 60_000;
/** Between two looks at the records while waiting for them. */
const RECORDS_POLL_MS = 2_000;

export interface LoadOptions {
  requests: number;
  concurrency: number;
  /** Distinct dialed numbers (one line each); every other one has a fallback number. */
  numbers: number;
  /** Share of requests that repeat an earlier CallSid after its first answer. */
  repeatRate: number;
  /** Share of calls whose first webhook arrives as `min`–`max` identical copies at the same instant. */
  copies: { rate: number; min: number; max: number };
  /**
   * A D1 outage in the middle: after `after` of the requests, the `calls` table is renamed away; the next
   * `during` of them are sent without it; then it is renamed back and the rest follow. Null: no outage.
   */
  outage: { after: number; during: number } | null;
  /**
   * Two of every n numbers' agents are down at Retell for the whole run (always 503): one with a fallback number
   * and one without, so both fallbacks are exercised.
   */
  downEvery: number;
  chaos: { dropRate: number; failRate: number; slowRate: number; slowMs: number };
  maxSeconds: number;
  /**
   * Call events to a receiver that answers 500 to `failRate` of deliveries, drops `dropRate` of connections, and is
   * down for `downSeconds` once `downAfter` of the requests are sent; `retryScale` shortens the retry schedule
   * (EVENTS_RETRY_SCALE); every event must be in within `waitSeconds` of the last answer. Null: no events.
   */
  events: { failRate: number; dropRate: number; downAfter: number; downSeconds: number; retryScale: number; waitSeconds: number } | null;
  /** The busy line, after the rest (its calls are not among the tally's); null: none. */
  busyLine: BusyLineOptions | null;
  log?: (line: string) => void;
}

export const DEFAULT_LOAD: LoadOptions = {
  requests: 2000,
  concurrency: 32,
  numbers: 100,
  repeatRate: 0.05,
  copies: { rate: 0.05, min: 3, max: 10 },
  outage: { after: 0.3, during: 0.4 },
  downEvery: 10,
  chaos: { dropRate: 0.03, failRate: 0.1, slowRate: 0.1, slowMs: 1_500 },
  maxSeconds: 300,
  // Retry schedule × 0.001: 5 s, 5 min, 30 min, 2 h, 5 h… become 1, 1, 2, 7, 18 s… (273 s for all ten attempts), so a
  // bounded run sees the whole schedule's shape, and waits long enough for an event's last attempt.
  events: { failRate: 0.2, dropRate: 0.05, downAfter: 0.5, downSeconds: 20, retryScale: 0.001, waitSeconds: 420 },
  busyLine: DEFAULT_BUSY_LINE,
};
/** The busy line's number and agent, apart from the others. */
const BUSY_LINE = "+61419999999";
const BUSY_AGENT = "agent_load_busy";

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
  /** First webhooks sent as several copies at once, and the copies beyond the first. */
  copyBursts: number;
  copies: number;
  /** Bursts whose copies dialed different Retell calls. */
  burstsAnsweredDifferently: number;
  /** Bursts where a copy gave up waiting for the registration (its documented fallback) while another connected. */
  burstsPartlyFallback: number;
  /** CallSids the stand-in registered (201) more than once. */
  duplicateRegistrations: number;
  uniqueCalls: number;
  /** Whether D1 was taken away; requests answered while it was gone; the D1 copies the Worker logged as failed. */
  outage: boolean;
  sentDuringOutage: number;
  copyFailuresLogged: number;
  records: number;
  missingRecords: number;
  /** Records whose outcome or Retell call id disagrees with the answer the caller got. */
  mismatchedRecords: number;
  /** Voice webhooks the Worker answered without reaching the call's line object (it logs `line.unavailable`). */
  lineUnavailableLogged: number;
  /** The first answer that was neither SIP TwiML nor a documented fallback, described; null when none was. */
  firstOther: string | null;
  /** Seconds from D1's return (or the last answer, without an outage) until every record was there and matching; null if never within the limit. */
  recordsCompleteAfterSeconds: number | null;
  events: EventTally | null;
}

export interface EventTally {
  /** Final status callbacks sent, and those the Worker took (204). */
  statusCallbacks: number;
  statusAccepted: number;
  /** call.started per answered call plus call.ended per status taken. */
  expected: number;
  /** Distinct webhook-ids the receiver answered 2xx, and the expected (call, type) pairs among them. */
  deliveredIds: number;
  delivered: number;
  missing: number;
  /** Deliveries the receiver saw in all (retries included), failed on purpose, and while it was down. */
  requests: number;
  refused: number;
  /** Signatures that did not verify with standardwebhooks. */
  unverified: number;
  /** Calls whose call.ended reached the receiver before their call.started. */
  outOfOrder: number;
  /** Deliveries still pending or failed in D1 at the end (GET /api/stats). */
  pending: number;
  failed: number;
  /** Seconds from the last answer until every expected event was in; null if never within waitSeconds. */
  completeAfterSeconds: number | null;
  downSeconds: { from: number; to: number } | null;
}

export interface LoadReport {
  tally: Tally;
  seconds: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
  retellRequests: number;
  /** When D1 was gone and back, in seconds from the first request. */
  outageSeconds: { from: number; to: number } | null;
  busyLine: BusyLineReport | null;
}

interface Sent {
  callSid: string;
  from: string;
  to: string;
  kind: "first" | "copy" | "repeat";
  /** The send this request belongs to: the copies of one burst share it. */
  wave: number;
  status: number;
  answer: Answer;
  sipCallId?: string;
  /** The start of an answer that was neither SIP TwiML nor a documented fallback, to say what it was. */
  otherText?: string;
  start: number;
  end: number;
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

function classify(text: string): { answer: Answer; sipCallId?: string; otherText?: string } {
  const sip = /<Sip>sip:([A-Za-z0-9_-]+)@/.exec(text);
  if (sip) return { answer: "sip", sipCallId: sip[1] };
  if (/<Dial[^>]*><Number>\+\d+<\/Number><\/Dial>/.test(text)) return { answer: "fallback_number" };
  if (text.includes(`<Say>${APOLOGY_MESSAGE}</Say><Hangup/>`)) return { answer: "apology" };
  return { answer: "other", otherText: text.slice(0, 300) };
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

const matches = (record: ListedCall, s: Sent) => OUTCOME_FOR[s.answer].includes(record.outcome ?? "") && (s.answer !== "sip" || record.retellCallId === s.sipCallId);

const groupBy = <T, K>(items: T[], key: (item: T) => K) => {
  const groups = new Map<K, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
};

/** Each call's requests that may have decided its record: those still in flight when its last send began. */
function deciding(requests: Sent[]): Sent[] {
  const lastStart = Math.max(...requests.map((r) => r.start));
  return requests.filter((r) => r.end >= lastStart);
}

/** Records against answers: how many calls have none, and how many have one no answer accounts for. */
function compareRecords(byCall: Map<string, Sent[]>, records: Map<string, ListedCall>): { missing: number; mismatched: number } {
  let missing = 0;
  let mismatched = 0;
  for (const [callSid, requests] of byCall) {
    const record = records.get(callSid);
    if (!record) missing++;
    // A repeat can upgrade a failed first attempt to a connected call; copies in flight together answer alike,
    // unless one gave up waiting: the record must match one of the answers that could have decided it.
    else if (!deciding(requests).some((s) => matches(record, s))) mismatched++;
  }
  return { missing, mismatched };
}

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const say = options.log ?? (() => {});
  const deadline = Date.now() + options.maxSeconds * 1000;
  const state = mkdtempSync(join(tmpdir(), "bridge-load-"));
  const retell = await startRetellStandIn({ apiKey: API_KEY, defaults: { chaos: options.chaos } });
  const receiver = await startReceiverStandIn({ secret: SIGNING_SECRET });
  // Twilio's REST API for the busy line's dequeues of held callers (line/dequeue.ts).
  const twilio = await startTwilioStandIn({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  if (options.events) receiver.setBehaviour(EVENTS_PATH, { chaos: { failRate: options.events.failRate, dropRate: options.events.dropRate } });
  const dev = await startDev({
    configPath: "wrangler.toml",
    persistTo: state,
    vars: {
      RETELL_BASE_URL: retell.url,
      RETELL_TIMEOUT_MS: "5000",
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      TWILIO_API_BASE_URL: twilio.url,
      RETELL_API_KEY: API_KEY,
      ADMIN_TOKEN,
      WEBHOOK_BASE_URL: "",
      WEBHOOK_SIGNING_SECRET: SIGNING_SECRET,
      ...(options.events && { EVENTS_RETRY_SCALE: String(options.events.retryScale) }),
    },
  });
  // The same persisted state as the running wrangler dev: local D1 is one SQLite file that both open.
  // The running Worker writes D1 all the time (records, call events' deliveries): a statement that finds the file
  // locked (SQLITE_BUSY) is tried again, up to 20 times a second apart.
  const d1 = async (sql: string, what: string) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await wrangler(["d1", "execute", "DB", "--local", "--persist-to", state, "--config", "wrangler.toml", "--command", sql], what);
      } catch (error) {
        const busy = error instanceof CliError && error.details.some((d) => d.includes("SQLITE_BUSY"));
        if (!busy || attempt >= 20) throw error;
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  };
  try {
    const numbers = Array.from({ length: options.numbers }, (_, i) => `+6141${String(i).padStart(7, "0")}`);
    const withFallback = new Set(numbers.filter((_, i) => i % 2 === 0));
    const agentOf = (i: number) => `agent_load${i}`;
    const down = (i: number) => i % options.downEvery < 2;
    numbers.forEach((_, i) => down(i) && retell.setBehaviour(agentOf(i), { status: 503 }));
    const store = { mode: "local" as const, persistTo: state, configPath: "wrangler.toml" };
    await putMany(
      store,
      [
        ...numbers.map((n, i) => ({ key: n, value: serializeAgentConfig({ retellAgentId: agentOf(i), ...(withFallback.has(n) && { fallbackNumber: FALLBACK }) }) })),
        ...(options.events ? [{ key: WEBHOOKS_KEY, value: JSON.stringify([{ id: "load", url: receiver.url + EVENTS_PATH }]) }] : []),
        ...(options.busyLine
          ? [{ key: BUSY_LINE, value: serializeAgentConfig({ retellAgentId: BUSY_AGENT, fallbackNumber: FALLBACK, maxConcurrentCalls: options.busyLine.maxConcurrentCalls, maxHoldSeconds: options.busyLine.maxHoldSeconds }) }]
          : []),
      ],
    );
    // The busy line measures the queue, not Retell's failures: its agent always registers.
    if (options.busyLine) retell.setBehaviour(BUSY_AGENT, {});
    await wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", state, "--config", "wrangler.toml"], "Applying D1 migrations locally");
    say(`wrangler dev on ${dev.url}; Retell stand-in on ${retell.url} (chaos: ${JSON.stringify(options.chaos)}; 2 in ${options.downEvery} agents down); ${options.numbers} numbers seeded`);

    const webhookUrl = `${dev.url}/api/webhooks/twilio`;
    const statusUrl = `${dev.url}/api/webhooks/twilio/status`;
    /** Final status callbacks: CallSid → whether the Worker took it (204). */
    const statuses = new Map<string, boolean>();
    let downSeconds: EventTally["downSeconds"] = null;
    let downTimer: ReturnType<typeof setTimeout> | undefined;
    const downAt = options.events ? Math.round(options.requests * options.events.downAfter) : Infinity;
    const sent: Sent[] = [];
    /** First sends whose answers are in, for repeats to pick from. */
    const answered: Sent[] = [];
    let next = 0;
    let waves = 0;
    let calls = 0;
    const started = performance.now();
    const since = () => (performance.now() - started) / 1000;

    const sendWave = async (webhook: SignedWebhook, kind: "first" | "repeat", count: number) => {
      const wave = waves++;
      return Promise.all(
        Array.from({ length: count }, async (_, copy) => {
          const start = performance.now();
          // Twilio waits 15 s at most for a voice webhook.
          const res = await post(webhook.url, webhook.body, webhook.headers, 15_000);
          const { CallSid: callSid, From: from, To: to } = webhook.params as Record<"CallSid" | "From" | "To", string>;
          const entry: Sent = { callSid, from, to, kind: copy === 0 ? kind : "copy", wave, status: res.status, start, end: performance.now(), ...classify(res.text) };
          sent.push(entry);
          if (sent.length % 250 === 0) say(`  ${sent.length}/${options.requests} answered`);
          return entry;
        }),
      );
    };
    /** Sends until `limit` requests have gone out (copies count), `concurrency` sends at a time. */
    const sendUntil = (limit: number) =>
      Promise.all(
        Array.from({ length: options.concurrency }, async () => {
          while (next < limit && Date.now() < deadline) {
            const repeatOf = answered.length > 0 && Math.random() < options.repeatRate ? answered[Math.floor(Math.random() * answered.length)] : undefined;
            if (repeatOf) {
              next++;
              const params = inboundCallParams({ from: repeatOf.from, to: repeatOf.to, accountSid: ACCOUNT_SID });
              params.CallSid = repeatOf.callSid;
              await sendWave(signedWebhook({ url: webhookUrl, authToken: AUTH_TOKEN, params }), "repeat", 1);
              continue;
            }
            const { rate, min, max } = options.copies;
            const count = Math.min(limit - next, Math.random() < rate ? min + Math.floor(Math.random() * (max - min + 1)) : 1);
            next += count;
            const call = calls++;
            const to = numbers[call % numbers.length] as string;
            // A caller of its own per call, as rate limits per caller would need.
            const from = `+1415${String(call).padStart(7, "0")}`;
            const webhook = signedWebhook({ url: webhookUrl, authToken: AUTH_TOKEN, params: inboundCallParams({ from, to, accountSid: ACCOUNT_SID }) });
            const [firstAnswer] = await sendWave(webhook, "first", count);
            if (firstAnswer) answered.push(firstAnswer);
            if (options.events && firstAnswer) {
              if (next >= downAt && !downSeconds) {
                const from = since();
                downSeconds = { from, to: from + options.events.downSeconds };
                receiver.setDown(true);
                say(`  receiver down at ${from.toFixed(1)} s for ${options.events.downSeconds} s`);
                downTimer = setTimeout(() => receiver.setDown(false), options.events.downSeconds * 1000);
              }
              const params = { AccountSid: ACCOUNT_SID, CallSid: firstAnswer.callSid, CallStatus: "completed", Direction: "inbound", From: from, To: to, CallDuration: "30", SequenceNumber: "9" };
              const status = signedWebhook({ url: statusUrl, authToken: AUTH_TOKEN, params });
              statuses.set(firstAnswer.callSid, (await post(status.url, status.body, status.headers, 15_000)).status === 204);
            }
          }
        }),
      );

    let outageSeconds: LoadReport["outageSeconds"] = null;
    let sentDuringOutage = 0;
    let recoveredAt = 0;
    if (options.outage) {
      await sendUntil(Math.round(options.requests * options.outage.after));
      await d1("ALTER TABLE calls RENAME TO calls_outage", "Taking D1's calls table away");
      const from = since();
      say(`  D1 gone at ${from.toFixed(1)} s (calls renamed to calls_outage)`);
      const before = sent.length;
      await sendUntil(Math.round(options.requests * (options.outage.after + options.outage.during)));
      sentDuringOutage = sent.length - before;
      await d1("ALTER TABLE calls_outage RENAME TO calls", "Bringing D1's calls table back");
      recoveredAt = performance.now();
      outageSeconds = { from, to: since() };
      say(`  D1 back at ${outageSeconds.to.toFixed(1)} s`);
    }
    await sendUntil(options.requests);
    const seconds = since();
    if (!options.outage) recoveredAt = performance.now();

    const registrations = retell.requests.filter((r: RecordedRequest) => r.path === "/v2/register-phone-call" && r.status === 201);
    const issued = new Map<string, string[]>();
    for (const r of registrations) {
      const callSid = (r.body as { metadata?: { twilio_call_sid?: string } }).metadata?.twilio_call_sid ?? "";
      issued.set(callSid, [...(issued.get(callSid) ?? []), r.callId ?? ""]);
    }
    const byCall = groupBy(sent, (s) => s.callSid);

    // Records reach D1 from the line objects' alarms (~1 s after each change; every ≤ 30 s while D1 failed).
    let records = new Map<string, ListedCall>();
    let recordsCompleteAfterSeconds: number | null = null;
    for (;;) {
      records = new Map((await allRecords(dev.url)).map((r) => [r.callSid, r]));
      const { missing, mismatched } = compareRecords(byCall, records);
      if (missing === 0 && mismatched === 0 && records.size === byCall.size) {
        recordsCompleteAfterSeconds = (performance.now() - recoveredAt) / 1000;
        break;
      }
      if (performance.now() - recoveredAt > RECORDS_WITHIN_MS) break;
      await new Promise((r) => setTimeout(r, RECORDS_POLL_MS));
    }
    const { missing, mismatched } = compareRecords(byCall, records);
    const events = options.events ? await waitForEvents(options.events.waitSeconds, dev.url, receiver.requests, byCall, statuses, downSeconds, say) : null;
    clearTimeout(downTimer);

    let busyLine: BusyLineReport | null = null;
    if (options.busyLine) {
      say(`Busy line: ${options.busyLine.calls} callers at once to a line with maxConcurrentCalls ${options.busyLine.maxConcurrentCalls}, each connected for ${options.busyLine.connectedMs} ms`);
      busyLine = await runBusyLine(dev.url, BUSY_LINE, AUTH_TOKEN, ACCOUNT_SID, options.busyLine, twilio);
    }

    const tally: Tally = {
      sent: sent.length,
      answered: { sip: 0, fallback_number: 0, apology: 0, other: 0 },
      status5xx: sent.filter((s) => s.status >= 500).length,
      statusOther: sent.filter((s) => s.status !== 200 && s.status < 500).length,
      wrongFallback: 0,
      foreignCallIds: 0,
      repeats: sent.filter((s) => s.kind === "repeat").length,
      repeatsAnsweredDifferently: 0,
      copyBursts: 0,
      copies: sent.filter((s) => s.kind === "copy").length,
      burstsAnsweredDifferently: 0,
      burstsPartlyFallback: 0,
      duplicateRegistrations: [...issued.values()].filter((ids) => ids.length > 1).length,
      uniqueCalls: byCall.size,
      outage: options.outage !== null,
      sentDuringOutage,
      copyFailuresLogged: dev.lines.filter((l) => l.includes(COPY_FAILED)).length,
      lineUnavailableLogged: dev.lines.filter((l) => l.includes(LINE_UNAVAILABLE)).length,
      records: records.size,
      missingRecords: missing,
      mismatchedRecords: mismatched,
      firstOther: (() => {
        const other = sent.find((s) => s.answer === "other");
        return other ? `a ${other.kind} webhook for ${other.callSid}, HTTP ${other.status}, ${JSON.stringify(other.otherText)}` : null;
      })(),
      recordsCompleteAfterSeconds,
      events,
    };
    for (const s of sent) {
      tally.answered[s.answer]++;
      if ((s.answer === "fallback_number" && !withFallback.has(s.to)) || (s.answer === "apology" && withFallback.has(s.to))) tally.wrongFallback++;
      if (s.answer === "sip" && !(issued.get(s.callSid) ?? []).includes(s.sipCallId ?? "")) tally.foreignCallIds++;
    }
    for (const requests of byCall.values()) {
      const firstSip = requests.find((s) => s.kind !== "repeat" && s.answer === "sip");
      tally.repeatsAnsweredDifferently += requests.filter((s) => s.kind === "repeat" && firstSip && s.sipCallId !== firstSip.sipCallId).length;
    }
    for (const burst of groupBy(sent, (s) => s.wave).values()) {
      if (burst.length < 2) continue;
      tally.copyBursts++;
      const sipIds = new Set(burst.filter((s) => s.answer === "sip").map((s) => s.sipCallId));
      if (sipIds.size > 1) tally.burstsAnsweredDifferently++;
      else if (sipIds.size === 1 && burst.some((s) => s.answer !== "sip")) tally.burstsPartlyFallback++;
    }
    const latencies = sent.map((s) => s.end - s.start).sort((a, b) => a - b);
    return {
      tally,
      seconds,
      requestsPerSecond: sent.length / seconds,
      latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies[latencies.length - 1] ?? NaN },
      retellRequests: retell.requests.length,
      outageSeconds,
      busyLine,
    };
  } finally {
    await dev.stop();
    await retell.close();
    await receiver.close();
    await twilio.close();
    agent.destroy();
    rmSync(state, { recursive: true, force: true });
  }
}

/** A delivery's call and type, from its body (our events: `data.callSid`). */
function eventOf(r: ReceivedRequest): { callSid: string; type: string; sequence: number } | null {
  try {
    const body = JSON.parse(r.body) as { type?: string; sequence?: number; data?: { callSid?: string } };
    return body.type && body.data?.callSid ? { callSid: body.data.callSid, type: body.type, sequence: body.sequence ?? 0 } : null;
  } catch {
    return null;
  }
}

/** Waits until every expected event reached the receiver (2xx) or `waitSeconds` pass, then tallies them. */
async function waitForEvents(
  waitSeconds: number,
  url: string,
  requests: ReceivedRequest[],
  byCall: Map<string, Sent[]>,
  statuses: Map<string, boolean>,
  downSeconds: EventTally["downSeconds"],
  say: (line: string) => void,
): Promise<EventTally> {
  const expected = new Set<string>();
  for (const [callSid] of byCall) expected.add(`${callSid} call.started`);
  for (const [callSid, took] of statuses) if (took) expected.add(`${callSid} call.ended`);
  const start = performance.now();
  const deliveredKeys = () => {
    const keys = new Set<string>();
    for (const r of requests) {
      const e = r.status >= 200 && r.status < 300 ? eventOf(r) : null;
      if (e) keys.add(`${e.callSid} ${e.type}`);
    }
    return keys;
  };
  let completeAfterSeconds: number | null = null;
  let lastSaid = 0;
  for (;;) {
    const keys = deliveredKeys();
    const missing = [...expected].filter((k) => !keys.has(k)).length;
    if (missing === 0) {
      completeAfterSeconds = (performance.now() - start) / 1000;
      break;
    }
    if (performance.now() - start > waitSeconds * 1000) break;
    if (performance.now() - lastSaid > 10_000) {
      say(`  events: ${expected.size - missing}/${expected.size} delivered`);
      lastSaid = performance.now();
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const keys = deliveredKeys();
  for (const key of [...expected].filter((k) => !keys.has(k)).slice(0, 10)) {
    const [callSid, type] = key.split(" ");
    const res = await fetch(`${url}/api/deliveries?callSid=${callSid}`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    say(`  missing ${type} of ${callSid}: ${JSON.stringify(((await res.json()) as { deliveries?: unknown[] }).deliveries ?? [])}`);
  }
  const firstDelivered = new Map<string, number>();
  for (const r of requests) {
    const e = r.status >= 200 && r.status < 300 ? eventOf(r) : null;
    if (e && !firstDelivered.has(`${e.callSid} ${e.type}`)) firstDelivered.set(`${e.callSid} ${e.type}`, requests.indexOf(r));
  }
  let outOfOrder = 0;
  for (const [callSid] of byCall) {
    const started = firstDelivered.get(`${callSid} call.started`);
    const ended = firstDelivered.get(`${callSid} call.ended`);
    if (started !== undefined && ended !== undefined && ended < started) outOfOrder++;
  }
  const stats = await fetch(`${url}/api/stats?since=1d`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
  const counts = ((await stats.json()) as { deliveries?: { pending: number; failed: number } }).deliveries ?? { pending: -1, failed: -1 };
  const ok = requests.filter((r) => r.status >= 200 && r.status < 300);
  return {
    statusCallbacks: statuses.size,
    statusAccepted: [...statuses.values()].filter(Boolean).length,
    expected: expected.size,
    deliveredIds: new Set(ok.map((r) => r.headers["webhook-id"])).size,
    delivered: [...expected].filter((k) => keys.has(k)).length,
    missing: [...expected].filter((k) => !keys.has(k)).length,
    requests: requests.length,
    refused: requests.length - ok.length,
    unverified: requests.filter((r) => !r.verified).length,
    outOfOrder,
    pending: counts.pending,
    failed: counts.failed,
    completeAfterSeconds,
    downSeconds,
  };
}

/** The tally's failures, as sentences; empty when everything held. */
export function tallyProblems(t: Tally): string[] {
  return [
    t.status5xx > 0 && `${t.status5xx} answers were 5xx`,
    t.statusOther > 0 && `${t.statusOther} answers were not 200`,
    t.answered.other > 0 && `${t.answered.other} answers were neither SIP TwiML nor a documented fallback (the first: ${t.firstOther}; line.unavailable logged ${t.lineUnavailableLogged} times)`,
    t.wrongFallback > 0 && `${t.wrongFallback} fallbacks did not match the number's agent`,
    t.foreignCallIds > 0 && `${t.foreignCallIds} SIP answers carried a call id Retell did not issue for that CallSid`,
    t.repeatsAnsweredDifferently > 0 && `${t.repeatsAnsweredDifferently} repeated CallSids got a different SIP URI`,
    t.duplicateRegistrations > 0 && `${t.duplicateRegistrations} CallSids were registered with Retell more than once`,
    t.burstsAnsweredDifferently > 0 && `${t.burstsAnsweredDifferently} bursts of copies dialed different Retell calls`,
    t.outage && t.sentDuringOutage === 0 && "no request was answered while D1 was gone",
    t.outage && t.copyFailuresLogged === 0 && "no D1 copy failed during the outage, so it was no outage",
    t.missingRecords > 0 && `${t.missingRecords} calls have no record`,
    t.mismatchedRecords > 0 && `${t.mismatchedRecords} records disagree with the caller's answer`,
    t.records !== t.uniqueCalls && `${t.records} records for ${t.uniqueCalls} calls`,
    t.recordsCompleteAfterSeconds === null && `the records were not all there and matching ${RECORDS_WITHIN_MS / 1000} s after D1 came back`,
    ...(t.events ? eventProblems(t.events) : []),
  ].filter((p): p is string => typeof p === "string");
}

function eventProblems(e: EventTally): (string | false)[] {
  return [
    e.statusAccepted !== e.statusCallbacks && `${e.statusCallbacks - e.statusAccepted} status callbacks were not taken`,
    e.missing > 0 && `${e.missing} of ${e.expected} events never reached the receiver`,
    e.deliveredIds < e.expected && `${e.deliveredIds} distinct webhook-ids delivered for ${e.expected} events`,
    e.unverified > 0 && `${e.unverified} deliveries did not verify with standardwebhooks`,
    e.outOfOrder > 0 && `${e.outOfOrder} calls' call.ended arrived before their call.started`,
    e.pending !== 0 && `${e.pending} deliveries still pending in D1`,
    e.failed !== 0 && `${e.failed} deliveries failed`,
    e.refused === 0 && "the receiver refused nothing, so retries were never exercised",
  ];
}

async function main() {
  const { values } = parseArgs({
    options: { requests: { type: "string" }, concurrency: { type: "string" }, numbers: { type: "string" }, "max-seconds": { type: "string" } },
    strict: true,
  });
  const options: LoadOptions = {
    ...DEFAULT_LOAD,
    requests: Number(values.requests ?? DEFAULT_LOAD.requests),
    concurrency: Number(values.concurrency ?? DEFAULT_LOAD.concurrency),
    numbers: Number(values.numbers ?? DEFAULT_LOAD.numbers),
    maxSeconds: Number(values["max-seconds"] ?? DEFAULT_LOAD.maxSeconds),
    log: (line) => console.log(line),
  };
  const report = await runLoad(options);
  const t = report.tally;
  const pct = (share: number) => `${Math.round(share * 100)} %`;
  console.log(`\nLoad: ${t.sent} signed voice webhooks for ${t.uniqueCalls} calls (${t.copyBursts} first webhooks sent as ${options.copies.min}–${options.copies.max} copies at once, ${t.copies} copies in all; ${t.repeats} repeated CallSids), each call from its own caller, to ${options.numbers} numbers, ${options.concurrency} sends at a time, through wrangler dev on 127.0.0.1.`);
  console.log(`Retell stand-in: 2 in ${options.downEvery} agents always 503; otherwise ${pct(options.chaos.failRate)} 503, ${pct(options.chaos.dropRate)} dropped connections, ${pct(options.chaos.slowRate)} answered after ${options.chaos.slowMs} ms; ${report.retellRequests} requests reached it.`);
  if (report.outageSeconds) {
    console.log(`D1 outage: the calls table renamed away from ${report.outageSeconds.from.toFixed(1)} s to ${report.outageSeconds.to.toFixed(1)} s; ${t.sentDuringOutage} webhooks answered meanwhile; the Worker logged ${t.copyFailuresLogged} failed copies.`);
  }
  const e = t.events;
  if (e && options.events) {
    console.log(
      `Call events: ${e.expected} expected (call.started per call, call.ended per status callback), to a receiver answering 500 to ${pct(options.events.failRate)} and dropping ${pct(options.events.dropRate)} of deliveries${e.downSeconds ? `, down from ${e.downSeconds.from.toFixed(1)} s for ${options.events.downSeconds} s` : ""}; retry schedule × ${options.events.retryScale}. ${e.requests} deliveries reached it (${e.refused} refused or dropped); ${e.deliveredIds} distinct webhook-ids delivered; ${e.missing} missing; ${e.outOfOrder} out of order; ${e.unverified} unverified; ${e.pending} pending and ${e.failed} failed in D1; all in ${e.completeAfterSeconds === null ? "NEVER within the limit" : `${e.completeAfterSeconds.toFixed(1)} s`} after the last answer.`,
    );
  }
  console.log(`Every record in D1 and matching ${t.recordsCompleteAfterSeconds === null ? "NEVER within the limit" : `${t.recordsCompleteAfterSeconds.toFixed(1)} s`} after ${report.outageSeconds ? "D1 came back" : "the last answer"}.\n`);
  console.log(`| requests/s | p50 ms | p99 ms | max ms |\n| ---: | ---: | ---: | ---: |\n| ${report.requestsPerSecond.toFixed(1)} | ${report.latencyMs.p50.toFixed(1)} | ${report.latencyMs.p99.toFixed(1)} | ${report.latencyMs.max.toFixed(1)} |\n`);
  console.log("| tally | count |\n| --- | ---: |");
  for (const [k, v] of Object.entries({ ...t, events: undefined, answered: undefined, ...Object.fromEntries(Object.entries(t.answered).map(([a, n]) => [`answered ${a}`, n])) })) {
    if (v !== undefined) console.log(`| ${k} | ${typeof v === "number" && !Number.isInteger(v) ? v.toFixed(1) : v} |`);
  }
  if (report.busyLine && options.busyLine) {
    const b = report.busyLine;
    console.log(`\nBusy line: ${b.calls} callers at once, maxConcurrentCalls ${options.busyLine.maxConcurrentCalls}, each call connected ${options.busyLine.connectedMs} ms, hold turns of ${options.busyLine.turnMs} ms, maxHoldSeconds ${options.busyLine.maxHoldSeconds}: at most ${b.maxConnectedAtOnce} connected at once; ${b.held} held (${b.dequeuedByRest} dequeued through Twilio's REST API), longest hold ${(b.longestHoldMs / 1_000).toFixed(1)} s; ${b.connected} connected, ${b.sentOn} sent on, ${b.lost} lost; ${b.seconds.toFixed(1)} s.`);
  }
  const problems = [...tallyProblems(t), ...(report.busyLine && options.busyLine ? busyLineProblems(report.busyLine, options.busyLine) : [])];
  console.log(
    problems.length
      ? `\nFAILED: ${problems.join("; ")}`
      : "\nEvery call answered with SIP TwiML or the documented fallback; no 5xx; copies answered alike; no duplicate registrations; every record present and matching after the outage.",
  );
  if (problems.length) process.exitCode = 1;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
