/**
 * npm run bench: how much time the Worker itself adds to a call, what a real deployment's call setup would cost,
 * how many calls one line's object takes, and how big the upload is.
 *
 * The Worker is built exactly as `wrangler deploy` would build it (`--dry-run --outdir`, minified) and served by
 * workerd through Miniflare's API, without `wrangler dev`'s proxy (which would mostly measure wrangler; see
 * shared/reference/workers-platform.md §8), with its line objects' SQLite class and migration from wrangler.toml.
 * A local Retell stand-in answers after a fixed delay. Every request is a Twilio-signed voice webhook for a fresh
 * CallSid from a caller of its own, to a number whose agent has routing rules (ROUTING_RULES below), with a global
 * blocklist set and both rate limits counted (NUMBER_RATE_LIMITER raised, BENCH_LIMITS). The same client, in the
 * same run, also calls the stand-in directly: the Worker's overhead is its latency minus that reference, so the
 * client's own cost and the machine's speed cancel.
 *
 * 0. Own work per step (scripts/lib/own-work.ts, in a Node process of its own): the Worker's own functions for one
 *    call (signature, parameters, agent value, rules, rate-limit keys, the hook's request, signature and answer,
 *    the registration body, the TwiML, the log line, the line's record and call events), µs per call.
 * 1. Floors (scripts/lib/bench-workers.ts): a pass-through Worker gives what any Worker pays here (the hop into
 *    workerd, its outbound fetch); a line floor also makes our platform calls (KV read beside a claim RPC to a
 *    SQLite Durable Object, two rate-limit counts, an answer RPC after Retell, the alarm's copy to D1), which run
 *    in the same workerd process (Miniflare's limiter is a Durable Object too) and would otherwise show up as the
 *    Worker's. The Worker's own work is its latency minus that floor. Beside them, the least Worker that does
 *    this one's job (kind `least`: the line floor plus Twilio's form, one signature HMAC and a SIP document) shows
 *    how much of that own work any such Worker has here.
 * 2. Latency model: the same Worker with each binding call delayed as in production (PRODUCTION below; the
 *    timers are calibrated first, as local ones wake late; rate-limit counts need no round trip deployed, so they
 *    wait nothing), against a floor Worker reproducing the design before the line objects with the same delays;
 *    both are taken over a pass-through Worker that makes the same two counts, whose local cost is not production's.
 * 3. Ceiling: claim-and-answer pairs driven into one line's object as fast as it takes them.
 * 4. Pre-call hook: the same Worker for agents with a hook (a stand-in on loopback answering after HOOK_DELAY_MS,
 *    verifying each signature) over the Worker without one, less the hook's round trip as a floor Worker makes it
 *    (the pass-through plus a client-signed hook request): what the Worker adds around the operator's round trip
 *    (signing, the request, reading and checking the answer, the merge, keeping it on the line). Beside it, the
 *    least Worker doing this job with and without the same hook (signed, with a deadline, its answer sent on to
 *    Retell, nothing checked or kept): the least any Worker adds around a hook here.
 *
 * Targets below; exit code 1 when one is missed.
 */
import { execFileSync } from "node:child_process";
import os from "node:os";
import { startHookStandIn } from "../stand-ins/hook.ts";
import { startRetellStandIn } from "../stand-ins/retell.ts";
import { newMessageId, signedHeaders, signer } from "../src/standard-webhooks/sign.ts";
import { BLOCKLIST, HOOK_ANSWER, ROUTING_RULES } from "./lib/bench-call.ts";
import { BENCH_SIGNING_SECRET, BENCH_TWILIO_TOKEN, closeClient, post, seedAgents, webhookSender, registerSender, type Send } from "./lib/bench-client.ts";
import { NO_TIMERS, type BindingTimers } from "./lib/bench-workers.ts";
import { ownWorkTotalUs, printOwnWork, type StepFigure } from "./lib/own-work-table.ts";
import { buildBundle, serveBundle, serveFloor, type LocalWorker } from "./lib/workerd.ts";

/** The stand-in's fixed answer delay: a stand-in for Retell's round trip. */
const RETELL_DELAY_MS = 20;
const SEQUENTIAL_REQUESTS = Number(process.env.BENCH_SEQUENTIAL ?? 800);
const CONCURRENT_REQUESTS = Number(process.env.BENCH_CONCURRENT ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
/** Requests per target in the latency model: its figures are dominated by the delays, so fewer suffice. */
const MODEL_REQUESTS = Number(process.env.BENCH_MODEL ?? 240);
/** Calls driven into one line's object for the ceiling. */
const CEILING_CALLS = Number(process.env.BENCH_CEILING ?? 4000);
/** Dialed numbers the calls are spread over (one line object each); distinct callers are one per call anyway. */
const NUMBERS = Number(process.env.BENCH_NUMBERS ?? 20);
/**
 * The bench calls each number far more often than NUMBER_RATE_LIMITER allows (wrangler.toml: 60 a minute), so
 * its Workers and floors run with that limit raised. Every call is still counted, at the same cost: only the
 * verdict changes. The caller limit stays as deployed: each call comes from a caller of its own.
 */
const BENCH_LIMITS = { NUMBER_RATE_LIMITER: 1_000_000 };
/**
 * Round trips in a real deployment: a KV read served from the colo's cache (cacheTtl) about 1 ms; the line's
 * object, created near the first request for it (vendor-facts §E), in or near the Worker's colo, about 2 ms an
 * RPC; D1's single primary on another continent, 150 ms.
 */
const PRODUCTION: Record<keyof BindingTimers, number> = { kv: 1, line: 2, d1: 150 };
/** setTimeout arguments whose cost the bench measures, to pick the shortest that costs at least each small round trip. */
const PROBED_TIMERS = [0, 1, 2, 3, 4, 5, 6];
/** The Worker's own work over the line floor, every feature on: latency (p50) and workerd CPU per call (issue 21). */
const TARGET_OWN_P50_MS = 0.5;
const TARGET_OWN_CPU_MS = 0.5;
/** The hook stand-in's answer delay: the operator's server, on loopback. */
const HOOK_DELAY_MS = 20;
/** What the Worker may add around a hook's own round trip (p50). */
const TARGET_HOOK_ADDED_MS = 0.3;
/** With D1 150 ms away, what the Worker may add to call setup beyond Retell's own answer. */
const TARGET_ADDED_MS = 5;
/**
 * The product's bundle budget (gzip, as uploaded): small for fast cold starts, far inside the Free plan's 3 MB.
 * 62.3 KiB on 2026-12-06 with the pre-call hook, call events, busy lines, the page's API and the outbound country
 * tables, once esbuild's keepNames was turned off (wrangler.toml keep_names); 65.4 KiB once the loop guard, the
 * REST dequeue of held callers and missed-call records joined. The budget leaves a small margin.
 */
const TARGET_BUNDLE_GZIP_KIB = 68;
/** Interleaved rounds per stage; BENCH_ROUNDS raises it for a tighter median (the hook stage's rounds vary by more than 1 ms). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 16);
/** The hook stage's blocks: each serves its targets afresh, in new workerd processes (BENCH_BLOCKS; requests are split between them). */
const BLOCKS = Number(process.env.BENCH_BLOCKS ?? 1);
const API_KEY = "key_bench";
/** What the least Worker (bench-workers.ts, kind `least`) shares with this one: the same Twilio token, Retell key and hook signing secret. */
const LEAST_SECRETS = { TWILIO_AUTH_TOKEN: BENCH_TWILIO_TOKEN, RETELL_API_KEY: API_KEY, WEBHOOK_SIGNING_SECRET: BENCH_SIGNING_SECRET };

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}
const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 50);
/**
 * The median over rounds of a's p50 minus b's p50 in the same round: a drift in the machine's speed moves both
 * sides of each difference alike.
 */
const pairedP50 = (a: number[], b: number[]) => median(a.map((x, i) => x - (b[i] as number)));



interface Run {
  latencies: number[];
  seconds: number;
  failures: number;
  /** workerd CPU ms its target used during the run. */
  cpuMs: number;
}

const emptyRun = (): Run => ({ latencies: [], seconds: 0, failures: 0, cpuMs: 0 });

/** Adds `r` to `into`; its latencies stay unsorted until `rounds` sorts them at its end. */
function addRun(into: Run, r: Run): void {
  into.latencies.push(...r.latencies);
  into.seconds += r.seconds;
  into.failures += r.failures;
  into.cpuMs += r.cpuMs;
}

async function run(count: number, concurrency: number, send: Send, server?: LocalWorker): Promise<Run> {
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  const cpuBefore = server?.cpuMs() ?? 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        // A connection reset (a busy machine) is a failed request, counted, not the end of the bench.
        if (!(await send(i).catch(() => false))) failures++;
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { latencies: latencies.sort((a, b) => a - b), seconds, failures, cpuMs: (server?.cpuMs() ?? 0) - cpuBefore };
}

interface Target {
  name: string;
  send: Send;
  server?: LocalWorker;
}

/** Each target's runs merged, and each round's p50 per target, in the order the rounds ran. */
interface Rounds<K extends string> {
  merged: Record<K, Run>;
  p50s: Record<K, number[]>;
}

/**
 * Runs the targets at one connection in interleaved rounds, so a burst of load from elsewhere on the machine hits
 * every target alike. With `into` (an earlier call's result, for the same target keys) these rounds are added to it.
 */
async function rounds<K extends string>(targets: Record<K, Target>, perTarget: number, into?: Rounds<K>): Promise<Rounds<K>> {
  const keys = Object.keys(targets) as K[];
  const { merged, p50s } = into ?? {
    merged: Object.fromEntries(keys.map((k) => [k, emptyRun()])) as Record<K, Run>,
    p50s: Object.fromEntries(keys.map((k) => [k, []])) as unknown as Record<K, number[]>,
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const k of keys) {
      const r = await run(Math.ceil(perTarget / ROUNDS), 1, targets[k].send, targets[k].server);
      addRun(merged[k], r);
      p50s[k].push(percentile(r.latencies, 50));
    }
  }
  for (const k of keys) merged[k].latencies.sort((a, b) => a - b);
  return { merged, p50s };
}

const fmt = (n: number) => n.toFixed(2);
const p = (r: Run, q: number) => percentile(r.latencies, q);
const cpuPerRequest = (r: Run) => r.cpuMs / r.latencies.length;

function table(rows: { name: string; run: Run; conns: number; cpu?: boolean }[]): void {
  console.log("| target | conns | requests | req/s | p50 ms | p99 ms | p50 − delay | p99 − delay | workerd CPU / request | failed |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const { name, run: r, conns, cpu } of rows) {
    const cpuCell = cpu ? `${fmt(cpuPerRequest(r))} ms` : "—";
    console.log(
      `| ${name} | ${conns} | ${r.latencies.length} | ${fmt(r.latencies.length / r.seconds)} | ${fmt(p(r, 50))} | ${fmt(p(r, 99))} | ${fmt(p(r, 50) - RETELL_DELAY_MS)} | ${fmt(p(r, 99) - RETELL_DELAY_MS)} | ${cpuCell} | ${r.failures} |`,
    );
  }
}



interface Ceiling {
  calls: number;
  failed: number;
  /** Calls answered per second by the object (claim and answer stored). */
  answeredPerSecond: number;
  /** Calls per second from the first claim until the last call was in D1. */
  copiedPerSecond: number;
  catchUpSeconds: number;
}

/** Drives CEILING_CALLS claim-and-answer pairs into one line's object (POST /__bench/line) and waits for their D1 copies. */
async function ceiling(worker: LocalWorker, line: string, concurrency: number): Promise<Ceiling> {
  const db = await worker.d1("DB");
  const copied = async () => (await db.prepare("SELECT COUNT(*) AS n FROM calls WHERE to_number = ?").bind(line).first<{ n: number }>())?.n ?? 0;
  const started = performance.now();
  const res = await post(new URL("/__bench/line", worker.url), JSON.stringify({ line, calls: CEILING_CALLS, concurrency }), { "Content-Type": "application/json" });
  const answered = performance.now();
  const { failed } = JSON.parse(res.text) as { failed: number };
  // Copies retry every 30 s at worst: two minutes without reaching the count means they are not keeping up.
  while ((await copied()) < CEILING_CALLS && performance.now() - answered < 120_000) await new Promise((r) => setTimeout(r, 100));
  const done = performance.now();
  return {
    calls: CEILING_CALLS,
    failed: failed + (CEILING_CALLS - (await copied())),
    answeredPerSecond: CEILING_CALLS / ((answered - started) / 1000),
    copiedPerSecond: CEILING_CALLS / ((done - started) / 1000),
    catchUpSeconds: (done - answered) / 1000,
  };
}

interface TimerCalibration {
  /** What setTimeout(k) costs a request here, for each probed k. */
  costs: Map<number, number>;
  costOf(k: number | null): number;
  /**
   * The shortest setTimeout argument that costs at least `ms`, so the model errs long, never short (null for 0:
   * no timer); beyond the probes, `ms` less the lateness measured at the largest.
   */
  timerFor(ms: number): number | null;
}

/**
 * Local timers wake late (setTimeout(2) costs about 4 ms here), which would inflate every modelled round trip; so
 * the cost of each probed setTimeout(k) is measured first: the median over rounds of its p50 minus the p50 of the
 * same request without a timer.
 */
async function calibrateTimers(floor: LocalWorker): Promise<TimerCalibration> {
  const probe = (ms: number | null): Target => ({
    name: `setTimeout(${ms})`,
    send: async () => (await post(new URL(`timer${ms === null ? "" : `?ms=${ms}`}`, floor.url), "", {})).status === 204,
  });
  const targets: Record<string, Target> = { none: probe(null), ...Object.fromEntries(PROBED_TIMERS.map((k) => [String(k), probe(k)])) };
  const { p50s } = await rounds(targets, ROUNDS * 10);
  const costs = new Map(PROBED_TIMERS.map((k) => [k, pairedP50(p50s[String(k)] as number[], p50s.none as number[])]));
  const largest = Math.max(...PROBED_TIMERS);
  const lateness = (costs.get(largest) as number) - largest;
  return {
    costs,
    costOf: (k) => (k === null ? 0 : (costs.get(k) ?? k + lateness)),
    timerFor: (ms) => {
      if (ms <= 0) return null;
      const fits = [...costs].filter(([, cost]) => cost >= ms).map(([k]) => k);
      return fits.length > 0 ? Math.min(...fits) : Math.max(0, Math.round(ms - lateness));
    },
  };
}

interface Setup {
  numbers: string[];
  /** The Retell stand-in's register-phone-call URL, which floors forward to. */
  registerUrl: URL;
  /** Vars and secrets for the real bundle. */
  bindings: Record<string, string>;
  /** Starts a Worker that is disposed when the bench ends (or with `disposeAll`). */
  start(server: Promise<LocalWorker>): Promise<LocalWorker>;
  disposeAll(): Promise<void>;
}

/** 1. The Worker over its floors, nothing delayed. Returns its own work (p50, ms) and how many requests failed. */
async function overFloors(setup: Setup): Promise<{ ownP50: number; ownCpu: number; failed: number }> {
  const { numbers, registerUrl, bindings, start } = setup;
  const passThrough = await start(serveFloor(registerUrl.toString(), "pass"));
  const lineFloor = await start(serveFloor(registerUrl.toString(), "line", { limits: BENCH_LIMITS }));
  const least = await start(serveFloor(registerUrl.toString(), "least", { limits: BENCH_LIMITS, secrets: LEAST_SECRETS }));
  const worker = await start(serveBundle(bindings, { limits: BENCH_LIMITS }));
  await seedAgents(least, numbers);
  await seedAgents(worker, numbers);
  const targets = {
    direct: { name: "Retell stand-in, direct (reference)", send: registerSender(registerUrl, numbers, API_KEY) },
    pass: { name: "pass-through Worker (floor)", send: registerSender(passThrough.url, numbers, API_KEY), server: passThrough },
    line: { name: "pass-through Worker + KV read, 2 line-object RPCs, 2 rate-limit counts, D1 copy (line floor)", send: registerSender(lineFloor.url, numbers, API_KEY), server: lineFloor },
    least: { name: "the least Worker doing this job: the line floor + Twilio's form, one signature HMAC, SIP TwiML", send: webhookSender(least, numbers), server: least },
    worker: { name: "**this Worker**: signed webhook → SIP TwiML", send: webhookSender(worker, numbers), server: worker },
  } satisfies Record<string, Target>;
  // Warm-up: isolates, the HMAC key cache, the agent memo, the line objects, keep-alive connections.
  for (const t of Object.values<Target>(targets)) await run(100, 4, t.send);
  const { merged: one, p50s } = await rounds(targets, SEQUENTIAL_REQUESTS);
  const many: Run[] = [];
  for (const t of Object.values<Target>(targets)) many.push(await run(CONCURRENT_REQUESTS, CONCURRENCY, t.send, t.server));
  const oneLine = await run(CONCURRENT_REQUESTS, CONCURRENCY, webhookSender(worker, numbers.slice(0, 1)), worker);
  const logLines = worker.logLines();
  await setup.disposeAll();

  console.log(`\nBench: Retell stand-in answers after ${RETELL_DELAY_MS} ms; Worker built by 'wrangler deploy --dry-run', served by workerd through Miniflare's API (no dev proxy); ${process.version}, ${process.platform}/${process.arch}; calls spread over ${numbers.length} numbers, each from its own caller; every agent with routing rules (opening hours in ${ROUTING_RULES.schedule.timeZone}, ${ROUTING_RULES.blockedCallers.length} blocked-caller patterns), a global blocklist of ${BLOCKLIST.length} entries, both rate limits counted (NUMBER_RATE_LIMITER raised to ${BENCH_LIMITS.NUMBER_RATE_LIMITER} a minute).\n`);
  const names = Object.values<Target>(targets).map((t) => t.name);
  table([
    ...Object.values<Run>(one).map((r, i) => ({ name: names[i] as string, run: r, conns: 1, cpu: i > 0 })),
    ...many.map((r, i) => ({ name: names[i] as string, run: r, conns: CONCURRENCY })),
    { name: "this Worker, every call to one number", run: oneLine, conns: CONCURRENCY },
  ]);
  const ownP50 = pairedP50(p50s.worker, p50s.line);
  const perRound = p50s.worker.map((w, i) => fmt(w - (p50s.line[i] as number))).join(" ");
  const ownCpu = cpuPerRequest(one.worker) - cpuPerRequest(one.line);
  console.log(`\nThe Worker's own work (this Worker − line floor), 1 connection: p50 ${fmt(ownP50)} ms (median of ${ROUNDS} rounds' p50 differences; per round ${perRound}), p99 ${fmt(p(one.worker, 99) - p(one.line, 99))} ms; workerd CPU ${fmt(ownCpu)} ms per call (targets: ≤ ${TARGET_OWN_P50_MS} ms p50 and ≤ ${TARGET_OWN_CPU_MS} ms CPU).`);
  console.log(`The least Worker doing this job over the line floor (no framework, rules, log line or record of its own): p50 ${fmt(pairedP50(p50s.least, p50s.line))} ms, CPU ${fmt(cpuPerRequest(one.least) - cpuPerRequest(one.line))} ms per call; this Worker over it: p50 ${fmt(pairedP50(p50s.worker, p50s.least))} ms.`);
  console.log(`The line object's and the local rate limiters' share (line floor − pass-through): p50 ${fmt(p(one.line, 50) - p(one.pass, 50))} ms, CPU ${fmt(cpuPerRequest(one.line) - cpuPerRequest(one.pass))} ms per call; the Worker over the plain pass-through: p50 ${fmt(p(one.worker, 50) - p(one.pass, 50))} ms.`);
  console.log(`Everything local between caller and Retell (this Worker − direct reference), 1 connection: p50 ${fmt(p(one.worker, 50) - p(one.direct, 50))} ms, p99 ${fmt(p(one.worker, 99) - p(one.direct, 99))} ms.`);
  console.log(`The Worker wrote ${logLines} log lines (one per webhook), counted rather than printed.`);
  return { ownP50, ownCpu, failed: [...Object.values<Run>(one), ...many, oneLine].reduce((n, r) => n + r.failures, 0) };
}

/**
 * 2. The latency model: the same calls with every binding call as far away as in production, for this Worker and
 * for a floor reproducing the design before the line objects. Returns what the Worker adds and the failures.
 * It keeps running the delayed Worker for the ceiling (returned).
 */
async function latencyModel(setup: Setup, ownP50: number): Promise<{ after: number; failed: number; workerFar: LocalWorker }> {
  const { numbers, registerUrl, bindings, start } = setup;
  const passThrough = await start(serveFloor(registerUrl.toString(), "pass"));
  const calibration = await calibrateTimers(passThrough);
  const timers: BindingTimers = { kv: calibration.timerFor(PRODUCTION.kv), line: calibration.timerFor(PRODUCTION.line), d1: calibration.timerFor(PRODUCTION.d1) };
  const limitsFloor = await start(serveFloor(registerUrl.toString(), "limits", { limits: BENCH_LIMITS }));
  const oldFloor = await start(serveFloor(registerUrl.toString(), "d1", { timers, limits: BENCH_LIMITS }));
  const lineFloor = await start(serveFloor(registerUrl.toString(), "line", { timers, limits: BENCH_LIMITS }));
  const workerFar = await start(serveBundle(bindings, { timers, limits: BENCH_LIMITS }));
  await seedAgents(workerFar, numbers);
  const model = {
    direct: { name: "Retell stand-in, direct (reference)", send: registerSender(registerUrl, numbers, API_KEY) },
    pass: { name: "pass-through Worker (no bindings)", send: registerSender(passThrough.url, numbers, API_KEY), server: passThrough },
    limits: { name: "pass-through + 2 rate-limit counts (deployed: no round trip; the reference below)", send: registerSender(limitsFloor.url, numbers, API_KEY), server: limitsFloor },
    before: { name: "before: pass-through + KV ∥ D1 replay read, 2 rate-limit counts, record write after the answer (floor)", send: registerSender(oldFloor.url, numbers, API_KEY), server: oldFloor },
    line: { name: "after: pass-through + KV ∥ line claim, 2 rate-limit counts, line answer (floor)", send: registerSender(lineFloor.url, numbers, API_KEY), server: lineFloor },
    worker: { name: "after: **this Worker**", send: webhookSender(workerFar, numbers), server: workerFar },
  } satisfies Record<string, Target>;
  for (const t of Object.values<Target>(model)) await run(40, 4, t.send);
  const { merged, p50s } = await rounds(model, MODEL_REQUESTS);

  // What the Worker adds beyond a pass-through: this machine's hop into workerd and out (pass-through − direct)
  // is paid by any Worker in front of Retell, before and after alike, and is mostly CPU this slow machine spends.
  // The reference makes the same two rate-limit counts: both designs make them, and deployed they add no round
  // trip, but Miniflare's limiter, a Durable Object in the same workerd process, costs local time on each.
  const after = pairedP50(p50s.worker, p50s.limits);
  const beforeFloor = pairedP50(p50s.before, p50s.limits);
  const used = (Object.keys(PRODUCTION) as (keyof BindingTimers)[]).map((b) => `${b} ${PRODUCTION[b]} ms → setTimeout(${timers[b]}), costing ${fmt(calibration.costOf(timers[b]))} ms`);
  console.log(`\nLatency model: every binding call waits its production round trip before it runs (KV ${PRODUCTION.kv} ms, line object ${PRODUCTION.line} ms per RPC, D1 ${PRODUCTION.d1} ms); 1 connection, ${ROUNDS} interleaved rounds.`);
  console.log(`Timers wake late in local workerd; what setTimeout(k) costs a request here: ${PROBED_TIMERS.map((k) => `${k}: ${fmt(calibration.costOf(k))} ms`).join(", ")}. Each round trip uses the shortest that costs at least it: ${used.join("; ")}.\n`);
  table((Object.keys(model) as (keyof typeof model)[]).map((k) => ({ name: model[k].name, run: merged[k], conns: 1 })));
  console.log(`\nCall setup the Worker adds beyond Retell's own answer, D1 ${PRODUCTION.d1} ms away (medians of ${ROUNDS} rounds' paired p50 differences):`);
  console.log(`  after (this Worker, measured): ${fmt(after)} ms beyond a pass-through Worker making the same 2 rate-limit counts (target < ${TARGET_ADDED_MS} ms); its floor alone ${fmt(pairedP50(p50s.line, p50s.limits))} ms.`);
  console.log(`  before (modelled: the floor Worker reproducing the old sequence with the same delays, plus the Worker's own work measured above): ${fmt(beforeFloor)} + ${fmt(ownP50)} = ${fmt(beforeFloor + ownP50)} ms.`);
  console.log(`  Both on top of this machine's hop into workerd and out (pass-through − direct), which any Worker pays: ${fmt(pairedP50(p50s.pass, p50s.direct))} ms, and the 2 counts' local cost (that reference − pass-through): ${fmt(pairedP50(p50s.limits, p50s.pass))} ms; this Worker − direct: ${fmt(pairedP50(p50s.worker, p50s.direct))} ms.`);
  return { after, failed: Object.values<Run>(merged).reduce((n, r) => n + r.failures, 0), workerFar };
}

/** 3. The ceiling of one line's object: on this machine as it is, then with D1 far away for its copies. Returns the failures. */
async function lineCeiling(setup: Setup, workerFar: LocalWorker): Promise<number> {
  const line = "+61390009999";
  const local = await ceiling(await setup.start(serveBundle(setup.bindings, { timers: NO_TIMERS, limits: BENCH_LIMITS })), line, CONCURRENCY);
  const far = await ceiling(workerFar, line, CONCURRENCY);
  console.log(`\nCeiling of one line's object: ${CEILING_CALLS} claim-and-answer pairs (what each voice webhook asks of its line), ${CONCURRENCY} at a time, into the real PhoneLine class:`);
  for (const [name, c] of [["on this machine, nothing delayed", local], [`with D1 ${PRODUCTION.d1} ms away for its copies`, far]] as const) {
    console.log(`  ${name}: ${fmt(c.answeredPerSecond)} calls/s answered; every call in D1 ${fmt(c.catchUpSeconds)} s after the last answer (${fmt(c.copiedPerSecond)} calls/s end to end); ${c.failed} failed.`);
  }
  return local.failed + far.failed;
}

/** The hook's request body as the bench client signs it, for the direct reference and the hook floor alike. */
const HOOK_BODY = JSON.stringify({ event: "call_inbound", call_inbound: { agent_id: "agent_direct", from_number: "+14155550100", to_number: "+61390000000", twilio_call_sid: `CA${"0".repeat(32)}`, caller_number: "+14155550100", after_hours: false } });

let signedHook: { at: number; headers: Record<string, string> } | undefined;
/**
 * Standard Webhooks headers for HOOK_BODY, signed as the Worker signs (its own signer), renewed every minute (the
 * stand-in's tolerance is 5): the client's signing stays out of the latencies it compares.
 */
async function hookHeaders(): Promise<Record<string, string>> {
  if (signedHook && Date.now() - signedHook.at < 60_000) return signedHook.headers;
  const sign = signer({ primary: BENCH_SIGNING_SECRET, primaryName: "WEBHOOK_SIGNING_SECRET", secondaryName: "WEBHOOK_SIGNING_SECRET_SECONDARY" });
  if (!sign.ok) throw new Error(sign.problem);
  signedHook = { at: Date.now(), headers: await signedHeaders(sign.sign, newMessageId(), HOOK_BODY) };
  return signedHook.headers;
}

/** The hook's request straight to the hook stand-in (the hook's own latency, from this client). */
function hookSender(url: URL): Send {
  return async () => (await post(url, HOOK_BODY, { "Content-Type": "application/json", ...(await hookHeaders()) })).status === 200;
}

/** Retell's register body to the hook floor, with the hook's signed headers for it to forward. */
function hookFloorSender(target: URL, numbers: string[]): Send {
  return async (i) => {
    const body = JSON.stringify({ agent_id: "agent_direct", from_number: "+14155550100", to_number: numbers[i % numbers.length], direction: "inbound" });
    const res = await post(target, body, { "Content-Type": "application/json", Authorization: `Bearer ${API_KEY}`, ...(await hookHeaders()) });
    return res.status === 201;
  };
}

/**
 * 4. What the Worker adds around a pre-call hook's round trip: (Worker with hooks − Worker without) − (hook floor −
 * pass-through floor), each a median of paired round p50s. Returns that (ms) and the failures.
 */
async function hookOverhead(setup: Setup): Promise<{ added: number; failed: number }> {
  const { numbers, registerUrl, bindings, start } = setup;
  const hooks = await startHookStandIn({ secret: BENCH_SIGNING_SECRET });
  try {
    hooks.setBehaviour("bench", { delayMs: HOOK_DELAY_MS, answer: HOOK_ANSWER });
    const hookUrl = new URL("/hooks/bench", hooks.url);
    // Each block serves every target afresh (new workerd processes), so what one process's speed does to a whole
    // block is spread over the blocks rather than carried by the run.
    const serveTargets = async () => {
      const pass = await start(serveFloor(registerUrl.toString(), "pass"));
      const hookFloor = await start(serveFloor(registerUrl.toString(), "hook", { hook: { url: hookUrl.toString(), body: HOOK_BODY } }));
      const plain = await start(serveBundle({ ...bindings, WEBHOOK_SIGNING_SECRET: BENCH_SIGNING_SECRET }, { limits: BENCH_LIMITS }));
      const hooked = await start(serveBundle({ ...bindings, WEBHOOK_SIGNING_SECRET: BENCH_SIGNING_SECRET }, { limits: BENCH_LIMITS }));
      const least = await start(serveFloor(registerUrl.toString(), "least", { limits: BENCH_LIMITS, secrets: LEAST_SECRETS }));
      const leastHooked = await start(serveFloor(registerUrl.toString(), "least", { limits: BENCH_LIMITS, secrets: LEAST_SECRETS, hook: { url: hookUrl.toString(), body: HOOK_BODY } }));
      await seedAgents(plain, numbers);
      await seedAgents(hooked, numbers, { callHook: { url: hookUrl.toString() } });
      await seedAgents(least, numbers);
      await seedAgents(leastHooked, numbers);
      return {
        hook: { name: `hook stand-in, direct: signed, verified, answered after ${HOOK_DELAY_MS} ms (reference)`, send: hookSender(hookUrl) },
        pass: { name: "pass-through Worker (floor)", send: registerSender(pass.url, numbers, API_KEY), server: pass },
        hookFloor: { name: "pass-through Worker + the hook's round trip (hook floor)", send: hookFloorSender(hookFloor.url, numbers), server: hookFloor },
        plain: { name: "this Worker, agents without a hook", send: webhookSender(plain, numbers), server: plain },
        hooked: { name: "**this Worker, agents with a hook**", send: webhookSender(hooked, numbers), server: hooked },
        least: { name: "the least Worker doing this job (bench-workers.ts, kind least)", send: webhookSender(least, numbers), server: least },
        leastHooked: { name: "the least Worker doing this job, asking the hook", send: webhookSender(leastHooked, numbers), server: leastHooked },
      } satisfies Record<string, Target>;
    };
    type Key = keyof Awaited<ReturnType<typeof serveTargets>>;
    let targets!: Awaited<ReturnType<typeof serveTargets>>;
    let all: Rounds<Key> | undefined;
    for (let b = 0; b < BLOCKS; b++) {
      targets = await serveTargets();
      for (const t of Object.values<Target>(targets)) await run(100, 4, t.send);
      all = await rounds(targets, Math.ceil(SEQUENTIAL_REQUESTS / BLOCKS), all);
      await setup.disposeAll();
    }
    const { merged, p50s } = all as Rounds<Key>;
    const hookRequests = hooks.requests.filter((r) => r.hook === "bench");
    const unverified = hookRequests.filter((r) => !r.verified).length;
    const withHook = pairedP50(p50s.hooked, p50s.plain);
    const hookSeen = pairedP50(p50s.hookFloor, p50s.pass);
    // Each round's own estimate, from its four targets: a drift in the machine's speed during a round moves all four
    // alike, where the difference of two medians pairs only two at a time.
    const aroundHook = (withHook: Key, without: Key) =>
      p50s[withHook].map((h, i) => h - (p50s[without][i] as number) - ((p50s.hookFloor[i] as number) - (p50s.pass[i] as number)));
    const perRound = aroundHook("hooked", "plain");
    const added = median(perRound);
    const sortedRounds = [...perRound].sort((a, b) => a - b);
    const perBlock = Array.from({ length: BLOCKS }, (_, b) => fmt(median(perRound.slice(b * ROUNDS, (b + 1) * ROUNDS)))).join(", ");
    const leastPerRound = aroundHook("leastHooked", "least");
    const leastRounds = [...leastPerRound].sort((a, b) => a - b);
    console.log(`\nPre-call hook: every agent's hook answers after ${HOOK_DELAY_MS} ms on loopback (a stand-in verifying each signature with standardwebhooks); 1 connection, ${ROUNDS} interleaved rounds${BLOCKS > 1 ? ` in each of ${BLOCKS} blocks, every target served afresh for each` : ""}.\n`);
    table((Object.keys(targets) as Key[]).map((k) => ({ name: targets[k].name, run: merged[k], conns: 1, cpu: k !== "hook" })));
    console.log(`\nA hook costs a call ${fmt(withHook)} ms (Worker with − without); the hook's round trip as a Worker sees it (hook floor − pass-through) ${fmt(hookSeen)} ms, from this client directly ${fmt(median(p50s.hook))} ms; what the Worker adds around it: ${fmt(added)} ms p50 (median over ${ROUNDS * BLOCKS} rounds of each round's (with − without) − (hook floor − pass-through), interquartile ${fmt(percentile(sortedRounds, 25))} to ${fmt(percentile(sortedRounds, 75))} ms; the difference of the two medians above: ${fmt(withHook - hookSeen)} ms; target ≤ ${TARGET_HOOK_ADDED_MS} ms${BLOCKS > 1 ? `; per block ${perBlock} ms` : ""}); workerd CPU ${fmt(cpuPerRequest(merged.hooked) - cpuPerRequest(merged.plain))} ms more per call, of which the hook floor's round trip ${fmt(cpuPerRequest(merged.hookFloor) - cpuPerRequest(merged.pass))} ms. ${hookRequests.length} hook requests, ${unverified} with a signature that did not verify.`);
    console.log(`The least Worker asking the same hook (signed, with a deadline, its answer sent on to Retell, nothing checked or kept) adds ${fmt(median(leastRounds))} ms around it (interquartile ${fmt(percentile(leastRounds, 25))} to ${fmt(percentile(leastRounds, 75))} ms), workerd CPU ${fmt(cpuPerRequest(merged.leastHooked) - cpuPerRequest(merged.least) - (cpuPerRequest(merged.hookFloor) - cpuPerRequest(merged.pass)))} ms; this Worker adds ${fmt(median(perRound.map((x, i) => x - (leastPerRound[i] as number))))} ms more than it.`);
    console.log(
      `Hook target: a hook adds its own latency + at most ${TARGET_HOOK_ADDED_MS} ms p50. Measured: ${fmt(withHook)} ms = its latency ${fmt(hookSeen)} ms + ${fmt(added)} ms the Worker adds around it: ${added <= TARGET_HOOK_ADDED_MS ? "met" : "MISSED"}.`,
    );
    return { added, failed: Object.values<Run>(merged).reduce((n, r) => n + r.failures, 0) + unverified };
  } finally {
    await hooks.close();
  }
}

/**
 * 0. The per-step table: scripts/lib/own-work.ts in a Node process of its own (the Worker's modules type-check
 * against the Workers runtime, so this Node script does not import them). Returns the steps' total, µs.
 */
function ownWorkSteps(): number {
  const out = execFileSync(process.execPath, ["--no-warnings", "scripts/lib/own-work.ts", "--json"], { encoding: "utf8", maxBuffer: 1 << 20 });
  const figures = JSON.parse(out.trim().split("\n").at(-1) as string) as StepFigure[];
  printOwnWork(figures, `${process.version}, the same functions the Worker runs, imported from src/; Node's WebCrypto answers on its thread pool, so the two HMAC rows overstate workerd`);
  return ownWorkTotalUs(figures);
}

async function main() {
  const size = buildBundle();
  const retell = await startRetellStandIn({ apiKey: API_KEY, defaults: { delayMs: RETELL_DELAY_MS } });
  const servers: LocalWorker[] = [];
  const setup: Setup = {
    numbers: Array.from({ length: NUMBERS }, (_, i) => `+6139000${String(i).padStart(4, "0")}`),
    registerUrl: new URL("/v2/register-phone-call", retell.url),
    bindings: { RETELL_BASE_URL: retell.url, RETELL_TIMEOUT_MS: "8000", WEBHOOK_BASE_URL: "", TWILIO_AUTH_TOKEN: BENCH_TWILIO_TOKEN, RETELL_API_KEY: API_KEY },
    start: async (server) => {
      const s = await server;
      servers.push(s);
      return s;
    },
    disposeAll: async () => {
      for (const s of servers.splice(0)) await s.dispose();
    },
  };
  try {
    // BENCH_STAGE=own prints the per-step table alone; BENCH_STAGE=floors runs stage 1 alone; BENCH_STAGE=hook stage 4 (quick looks on a busy machine).
    if (process.env.BENCH_STAGE === "own") {
      ownWorkSteps();
      return;
    }
    if (process.env.BENCH_STAGE === "floors") {
      const floors = await overFloors(setup);
      if (floors.ownP50 > TARGET_OWN_P50_MS || floors.ownCpu > TARGET_OWN_CPU_MS || floors.failed > 0) process.exitCode = 1;
      return;
    }
    if (process.env.BENCH_STAGE === "hook") {
      const hook = await hookOverhead(setup);
      console.log(`\nLoad average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")} on ${os.cpus().length} cores.`);
      if (hook.added > TARGET_HOOK_ADDED_MS || hook.failed > 0) process.exitCode = 1;
      return;
    }
    const stepsUs = ownWorkSteps();
    const floors = await overFloors(setup);
    console.log(`Of that own work, the Worker's own functions (the per-step table's total) take ${fmt(stepsUs / 1000)} ms; the rest is the runtime around them: Hono's routing and middleware, the RPCs' serialisation and the line object's own statements.`);
    const model = await latencyModel(setup, floors.ownP50);
    const ceilingFailed = await lineCeiling(setup, model.workerFar);
    await setup.disposeAll();
    const hook = await hookOverhead(setup);

    console.log(`\nClient CPU is shared with the server on this ${os.cpus().length}-core machine; load average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}.`);
    console.log(
      `Bundle as uploaded: ${size.files.join(", ")}, minified: ${fmt(size.rawKiB)} KiB, ${fmt(size.gzipKiB)} KiB gzip -9 (target < ${TARGET_BUNDLE_GZIP_KIB} KiB); wrangler says "${size.wranglerLine}". ` +
        `Uploaded separately, outside the Worker's size: ${size.sourceMaps.files.join(", ") || "no source map"} (${fmt(size.sourceMaps.rawKiB)} KiB, ${fmt(size.sourceMaps.gzipKiB)} KiB gzip).`,
    );
    const failed = floors.failed + model.failed + ceilingFailed + hook.failed;
    const misses = [
      floors.ownP50 > TARGET_OWN_P50_MS && `own work p50 ${fmt(floors.ownP50)} ms`,
      floors.ownCpu > TARGET_OWN_CPU_MS && `own work CPU ${fmt(floors.ownCpu)} ms per call`,
      model.after > TARGET_ADDED_MS && `call setup adds ${fmt(model.after)} ms`,
      hook.added > TARGET_HOOK_ADDED_MS && `the Worker adds ${fmt(hook.added)} ms around a hook`,
      size.gzipKiB >= TARGET_BUNDLE_GZIP_KIB && `bundle ${fmt(size.gzipKiB)} KiB gzip`,
      failed > 0 && `${failed} requests or calls did not get the expected answer`,
    ].filter(Boolean);
    if (misses.length) {
      console.log(`\nMISSED: ${misses.join("; ")}`);
      process.exitCode = 1;
    } else {
      console.log("\nAll targets met.");
    }
  } finally {
    await setup.disposeAll();
    await retell.close();
    closeClient();
  }
}

await main();
