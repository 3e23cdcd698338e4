/**
 * npm run bench: how much time the Worker itself adds to a call, and how big it is.
 *
 * The Worker is built exactly as `wrangler deploy` would build it (`--dry-run --outdir`) and served by workerd
 * through Miniflare's API, without `wrangler dev`'s proxy (which would mostly measure wrangler; see
 * shared/reference/workers-platform.md §8). A local Retell stand-in answers after a fixed delay. Every request
 * is a Twilio-signed voice webhook for a fresh CallSid. The same client, in the same run, also calls the
 * stand-in directly: the Worker's overhead is its latency minus that reference, so the client's own cost
 * and the machine's speed cancel out. A pass-through Worker that only forwards to the stand-in gives the floor
 * any Worker pays here (the hop into workerd, workerd's outbound fetch); a second one that also reads and
 * upserts one D1 row per call and counts it against the two rate-limit bindings gives the floor of any Worker
 * that keeps call records and rate limits (local D1 and Miniflare's limiter, a Durable Object, run on the same
 * workerd thread, so their work shows up as the Worker's). The Worker's own work is its latency minus that floor.
 *
 * Targets: the Worker's own work p50 < 2 ms at one connection; bundle < 50 KiB gzip. Exit code 1 when one is missed.
 */
import http from "node:http";
import os from "node:os";
import { getExpectedTwilioSignature } from "twilio/lib/webhooks/webhooks.js";
import { BLOCKLIST_KEY } from "../src/rules/blocklist.ts";
import { startRetellStandIn } from "../stand-ins/retell.ts";
import { buildBundle, serveBundle, servePassThrough } from "./lib/workerd.ts";

/** The stand-in's fixed answer delay: a stand-in for Retell's round trip. */
const RETELL_DELAY_MS = 20;
const SEQUENTIAL_REQUESTS = Number(process.env.BENCH_SEQUENTIAL ?? 800);
const CONCURRENT_REQUESTS = Number(process.env.BENCH_CONCURRENT ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const NUMBERS = 20;
/**
 * The bench calls each number far more often than NUMBER_RATE_LIMITER allows (60 a minute): its Worker runs with
 * that limit raised. Each call is still counted, at the same cost; only the verdict changes.
 */
const BENCH_NUMBER_LIMIT = 1_000_000;
/**
 * Every number's agent has routing rules, so their cost is in the figures: a schedule (open at every hour, in a
 * zone with DST), blocked callers and a global blocklist (rules/decide.ts). Each call comes from a caller of its
 * own, within the per-caller rate limit.
 */
const SCHEDULE = { timeZone: "Australia/Melbourne", hours: Object.fromEntries(["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map((d) => [d, ["00:00-24:00"]])), afterHours: { say: "We are closed." } };
const BLOCKLIST = Array.from({ length: 50 }, (_, i) => `+1900${String(i).padStart(7, "0")}`).concat(["+1976*", "anonymous"]);
const TARGET_OVERHEAD_P50_MS = 2;
const TARGET_BUNDLE_GZIP_KIB = 50;
const TOKEN = "bench_twilio_auth_token";
const API_KEY = "key_bench";

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function post(url: URL, body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", agent, headers: { ...headers, "Content-Length": String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

interface Run {
  latencies: number[];
  seconds: number;
  failures: number;
}

async function run(count: number, concurrency: number, send: (i: number) => Promise<boolean>): Promise<Run> {
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        if (!(await send(i))) failures++;
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { latencies: latencies.sort((a, b) => a - b), seconds, failures };
}

const fmt = (n: number) => n.toFixed(2);

async function main() {
  const size = buildBundle();
  const retell = await startRetellStandIn({ apiKey: API_KEY, defaults: { delayMs: RETELL_DELAY_MS } });
  const passThrough = await servePassThrough(new URL("/v2/register-phone-call", retell.url).toString());
  const recordsFloor = await servePassThrough(new URL("/v2/register-phone-call", retell.url).toString(), { records: true });
  const worker = await serveBundle(
    { RETELL_BASE_URL: retell.url, RETELL_TIMEOUT_MS: "8000", WEBHOOK_BASE_URL: "", TWILIO_AUTH_TOKEN: TOKEN, RETELL_API_KEY: API_KEY },
    { NUMBER_RATE_LIMITER: BENCH_NUMBER_LIMIT },
  );
  try {
    const { url } = worker;
    const kv = await worker.kv("AGENTS");
    const numbers = Array.from({ length: NUMBERS }, (_, i) => `+6139000${String(i).padStart(4, "0")}`);
    for (const [i, n] of numbers.entries()) {
      await kv.put(n, JSON.stringify({ retellAgentId: `agent_bench${i}`, schedule: SCHEDULE, blockedCallers: ["+1900*", "anonymous"] }));
    }
    await kv.put(BLOCKLIST_KEY, JSON.stringify(BLOCKLIST));

    const webhook = new URL("/api/webhooks/twilio", url);
    let sequence = 0;
    const sendWebhook = async (i: number) => {
      const params = {
        AccountSid: "AC00000000000000000000000000000000",
        CallSid: `CA${process.pid.toString(16).padStart(8, "0")}${(sequence++).toString(16).padStart(24, "0")}`,
        CallStatus: "ringing",
        Direction: "inbound",
        From: `+1415${String(sequence).padStart(7, "0")}`,
        To: numbers[i % NUMBERS] as string,
      };
      const signature = getExpectedTwilioSignature(TOKEN, webhook.toString(), params);
      const res = await post(webhook, new URLSearchParams(params).toString(), {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
      });
      return res.status === 200 && res.text.includes("<Sip>sip:call_");
    };
    const registerUrl = new URL("/v2/register-phone-call", retell.url);
    const sendDirect = async () => {
      const body = JSON.stringify({ agent_id: "agent_direct", from_number: "+14155550100", to_number: "+61390000000", direction: "inbound" });
      const res = await post(registerUrl, body, { "Content-Type": "application/json", Authorization: `Bearer ${API_KEY}` });
      return res.status === 201;
    };

    const forwardTo = (target: URL) => async () => {
      const body = JSON.stringify({ agent_id: "agent_direct", from_number: "+14155550100", to_number: "+61390000000", direction: "inbound" });
      const res = await post(target, body, { "Content-Type": "application/json", Authorization: `Bearer ${API_KEY}` });
      return res.status === 201;
    };
    const sendPassThrough = forwardTo(passThrough.url);
    const sendRecordsFloor = forwardTo(recordsFloor.url);

    // Warm-up: isolates, the HMAC key cache, the agent memo, keep-alive connections.
    await run(100, 4, sendWebhook);
    await run(100, 4, sendDirect);
    await run(100, 4, sendPassThrough);
    await run(100, 4, sendRecordsFloor);

    // Interleaved rounds, so a burst of load from elsewhere on the machine hits every target alike.
    const direct1: Run = { latencies: [], seconds: 0, failures: 0 };
    const pass1: Run = { latencies: [], seconds: 0, failures: 0 };
    const worker1: Run = { latencies: [], seconds: 0, failures: 0 };
    const records1: Run = { latencies: [], seconds: 0, failures: 0 };
    // The Worker's own work is taken round by round (its p50 minus the floor's p50 in the same round), then the
    // median over rounds: a drift in the machine's speed moves both sides of each difference alike.
    const ROUNDS = 16;
    const ownByRound: number[] = [];
    // workerd CPU per target: each target runs in a workerd process of its own, so this is exact per target.
    const cpu = new Map<Run, number>();
    const processOf = new Map<Run, { cpuMs(): number }>([[pass1, passThrough], [records1, recordsFloor], [worker1, worker]]);
    for (let round = 0; round < ROUNDS; round++) {
      const p50s = new Map<Run, number>();
      for (const [target, send] of [[direct1, sendDirect], [pass1, sendPassThrough], [records1, sendRecordsFloor], [worker1, sendWebhook]] as const) {
        const cpuBefore = processOf.get(target)?.cpuMs() ?? 0;
        const r = await run(Math.ceil(SEQUENTIAL_REQUESTS / ROUNDS), 1, send);
        cpu.set(target, (cpu.get(target) ?? 0) + (processOf.get(target)?.cpuMs() ?? 0) - cpuBefore);
        target.latencies.push(...r.latencies);
        target.seconds += r.seconds;
        target.failures += r.failures;
        p50s.set(target, percentile(r.latencies, 50));
      }
      ownByRound.push((p50s.get(worker1) as number) - (p50s.get(records1) as number));
    }
    for (const r of [direct1, pass1, records1, worker1]) r.latencies.sort((a, b) => a - b);
    const directN = await run(CONCURRENT_REQUESTS, CONCURRENCY, sendDirect);
    const passN = await run(CONCURRENT_REQUESTS, CONCURRENCY, sendPassThrough);
    const recordsN = await run(CONCURRENT_REQUESTS, CONCURRENCY, sendRecordsFloor);
    const workerN = await run(CONCURRENT_REQUESTS, CONCURRENCY, sendWebhook);

    const p = (r: Run, q: number) => percentile(r.latencies, q);
    const ownP50 = percentile([...ownByRound].sort((a, b) => a - b), 50);
    const ownP99 = p(worker1, 99) - p(records1, 99);
    const withD1P50 = p(worker1, 50) - p(pass1, 50);
    const d1P50 = p(records1, 50) - p(pass1, 50);
    const cpuPerRequest = (r: Run) => (cpu.get(r) ?? 0) / r.latencies.length;
    const overheadP50 = p(worker1, 50) - p(direct1, 50);
    const overheadP99 = p(worker1, 99) - p(direct1, 99);
    const row = (name: string, r: Run, conns: number) =>
      `| ${name} | ${conns} | ${r.latencies.length} | ${fmt(r.latencies.length / r.seconds)} | ${fmt(percentile(r.latencies, 50))} | ${fmt(percentile(r.latencies, 99))} | ${fmt(percentile(r.latencies, 50) - RETELL_DELAY_MS)} | ${fmt(percentile(r.latencies, 99) - RETELL_DELAY_MS)} | ${r.failures} |`;

    console.log(`\nBench: Retell stand-in answers after ${RETELL_DELAY_MS} ms; Worker built by 'wrangler deploy --dry-run', served by workerd through Miniflare's API (no dev proxy); ${process.version}, ${process.platform}/${process.arch}.\n`);
    console.log("| target | conns | requests | req/s | p50 ms | p99 ms | p50 − delay | p99 − delay | failed |");
    console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    console.log(row("Retell stand-in, direct (reference)", direct1, 1));
    console.log(row("pass-through Worker (floor)", pass1, 1));
    console.log(row("pass-through Worker + D1 read and upsert + 2 rate-limit counts (floor with records and limits)", records1, 1));
    console.log(row("this Worker: signed webhook → SIP TwiML", worker1, 1));
    console.log(row("Retell stand-in, direct (reference)", directN, CONCURRENCY));
    console.log(row("pass-through Worker (floor)", passN, CONCURRENCY));
    console.log(row("pass-through Worker + D1 read and upsert + 2 rate-limit counts (floor with records and limits)", recordsN, CONCURRENCY));
    console.log(row("this Worker: signed webhook → SIP TwiML", workerN, CONCURRENCY));
    console.log(`\nThe Worker's own work (this Worker − pass-through Worker with D1), 1 connection: p50 ${fmt(ownP50)} ms (median of ${ROUNDS} rounds' p50 differences; per round ${ownByRound.map(fmt).join(" ")}), p99 ${fmt(ownP99)} ms (target p50 < ${TARGET_OVERHEAD_P50_MS} ms).`);
    console.log(
      `workerd CPU per request, 1 connection: pass-through ${fmt(cpuPerRequest(pass1))} ms, with D1 ${fmt(cpuPerRequest(records1))} ms, this Worker ${fmt(cpuPerRequest(worker1))} ms: the Worker's own CPU ${fmt(cpuPerRequest(worker1) - cpuPerRequest(records1))} ms per call.`,
    );
    console.log(`Local D1's share (pass-through with D1 − pass-through): p50 ${fmt(d1P50)} ms; the Worker over the plain pass-through: p50 ${fmt(withD1P50)} ms.`);
    console.log(`Everything local between caller and Retell (this Worker − direct reference), 1 connection: p50 ${fmt(overheadP50)} ms, p99 ${fmt(overheadP99)} ms.`);
    console.log(`The Worker wrote ${worker.logLines()} log lines (one per webhook), counted rather than printed.`);
    console.log(`Client CPU is shared with the server on this ${os.cpus().length}-core machine; load average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}.`);
    console.log(`Bundle: ${size.files.join(", ")}: ${fmt(size.rawKiB)} KiB, ${fmt(size.gzipKiB)} KiB gzip -9 (target < ${TARGET_BUNDLE_GZIP_KIB} KiB); wrangler says "${size.wranglerLine}".`);

    const failed = [direct1, pass1, records1, worker1, directN, passN, recordsN, workerN].reduce((n, r) => n + r.failures, 0);
    const misses = [
      ownP50 >= TARGET_OVERHEAD_P50_MS && `own work p50 ${fmt(ownP50)} ms`,
      size.gzipKiB >= TARGET_BUNDLE_GZIP_KIB && `bundle ${fmt(size.gzipKiB)} KiB gzip`,
      failed > 0 && `${failed} requests did not get the expected answer`,
    ].filter(Boolean);
    if (misses.length) {
      console.log(`\nMISSED: ${misses.join("; ")}`);
      process.exitCode = 1;
    } else {
      console.log("\nAll targets met.");
    }
  } finally {
    await worker.dispose();
    await passThrough.dispose();
    await recordsFloor.dispose();
    await retell.close();
    agent.destroy();
  }
}

await main();
