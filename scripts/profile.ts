/**
 * npm run profile: where the Worker's CPU goes on the voice webhook. The bench's call (scripts/lib/bench-client.ts:
 * a signed webhook for a fresh CallSid to an agent with routing rules, a global blocklist, both rate limits) is sent
 * PROFILE_CALLS times, one at a time, to the deployable bundle in workerd with its DevTools inspector open, under a
 * V8 CPU profile (Profiler domain of the Chrome DevTools Protocol, which workerd serves). Samples are mapped back to
 * src/ through the bundle's source map (scripts/lib/cpu-profile.ts): self time by function, the runtime's functions
 * by the Worker's function that called them, and self time by source file (the Worker's isolate runs its line
 * objects too, so their statements are in the same profile). First, the binding calls a call makes, counted by an
 * entry module in front of the bundle: each is cheap deployed but costs Miniflare's emulation hundreds of µs of CPU
 * here (docs/performance.md, "Where the CPU goes"), so they explain most of a local CPU figure.
 *
 * `PROFILE_CPU_ONLY=1` skips the profile and reports the process's CPU per call alone (before/after a change).
 * `PROFILE_TARGET=floor` profiles the bench's line floor instead (scripts/lib/bench-workers.ts), for comparison.
 * `PROFILE_HOOK=1` gives every agent a pre-call hook (a stand-in on loopback); `PROFILE_OUT=file.cpuprofile` keeps
 * the raw profile for Chrome's Performance panel. `PROFILE_FIRST_USE=1` prints instead what common operations cost
 * the first time in a request against each further time (scripts/lib/first-use.ts): about four minutes.
 */
import { writeFileSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { join } from "node:path";
import { startHookStandIn } from "../stand-ins/hook.ts";
import { startRetellStandIn } from "../stand-ins/retell.ts";
import { HOOK_ANSWER } from "./lib/bench-call.ts";
import { BENCH_SIGNING_SECRET, BENCH_TWILIO_TOKEN, closeClient, registerSender, seedAgents, webhookSender } from "./lib/bench-client.ts";
import { bindingCosts } from "./lib/binding-costs.ts";
import { firstUseCosts } from "./lib/first-use.ts";
import { largest, profileTables, type CallFrame, type Profile } from "./lib/cpu-profile.ts";
import { BUNDLE_DIR, buildBundle, serveBundle, serveFloor } from "./lib/workerd.ts";

const CALLS = Number(process.env.PROFILE_CALLS ?? 3000);
const WARM_UP = 300;
/** µs between samples: fine enough for a call of a few ms, coarse enough not to slow it much. */
const SAMPLING_US = Number(process.env.PROFILE_SAMPLING_US ?? 100);
const INSPECTOR_PORT = Number(process.env.PROFILE_INSPECTOR_PORT ?? 9339);
const NUMBERS = Array.from({ length: 20 }, (_, i) => `+6139000${String(i).padStart(4, "0")}`);
const API_KEY = "key_profile";
const ROWS = 45;

/**
 * The bundle behind an entry that counts every binding method call, by the Worker and by its line objects (whose
 * env is wrapped too): `GET /__profile/counts` returns them (`?reset=1` starts again).
 */
const COUNTING_ENTRY = String.raw`
import worker, { PhoneLine as RealPhoneLine } from "./index.js";
const counts = {};
const count = (name) => { counts[name] = (counts[name] ?? 0) + 1; };
const counted = (name, target) => new Proxy(target, {
  get(t, key) {
    const value = t[key];
    if (typeof value !== "function" || key === "then" || key === "constructor") return value;
    return (...args) => {
      count(name + "." + String(key));
      if (key === "batch" || key === "sendBatch") for (let i = 0; i < args[0].length; i++) count(name + "." + String(key) + " items");
      // Reflect.apply: an RPC method's own .apply would be a remote call.
      const result = Reflect.apply(value, t, args);
      return name === "LINES" && key === "get" ? counted("line", result) : result;
    };
  },
});
const wrapped = new WeakMap();
function countedEnv(env) {
  let w = wrapped.get(env);
  if (!w) {
    w = { ...env };
    for (const [k, v] of Object.entries(env)) if (v && typeof v === "object" && !Array.isArray(v)) w[k] = counted(k, v);
    wrapped.set(env, w);
  }
  return w;
}
export class PhoneLine extends RealPhoneLine {
  constructor(ctx, env) {
    super(ctx, countedEnv(env));
  }
}
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/__profile/counts") {
      if (url.searchParams.has("reset")) for (const k of Object.keys(counts)) delete counts[k];
      return Response.json(counts);
    }
    return worker.fetch(request, countedEnv(env), ctx);
  },
};
`;

interface Target {
  title?: string;
  id?: string;
  webSocketDebuggerUrl: string;
}

/** A DevTools session over one inspector target's WebSocket. */
async function session(target: Target) {
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let id = 0;
  const pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  ws.onmessage = (m) => {
    const msg = JSON.parse(String(m.data)) as { id?: number; result?: unknown; error?: unknown };
    if (msg.id === undefined) return;
    const waiter = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error) waiter?.reject(new Error(JSON.stringify(msg.error)));
    else waiter?.resolve(msg.result);
  };
  return {
    send: <T>(method: string, params: Record<string, unknown> = {}) =>
      new Promise<T>((resolve, reject) => {
        pending.set(++id, { resolve: resolve as (r: unknown) => void, reject });
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

/** Maps a bundle position to its source: `src/line/claims.ts:42 claimVoice`. */
function locator() {
  const map = new SourceMap(JSON.parse(readFileSync(join(BUNDLE_DIR, "index.js.map"), "utf8")));
  return (frame: CallFrame): { file: string; where: string } => {
    if (!frame.url) return { file: `(${frame.functionName || "native"})`, where: `(${frame.functionName || "native"})` };
    if (!frame.url.endsWith("index.js")) return { file: frame.url, where: `${frame.functionName || "(anonymous)"} ${frame.url}` };
    const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string; originalLine?: number; name?: string };
    const file = (entry.originalSource ?? "?").replace(/^.*?(src\/|node_modules\/)/, "$1");
    return { file, where: `${file}:${(entry.originalLine ?? 0) + 1} ${frame.functionName || entry.name || "(anonymous)"}` };
  };
}

function summarise(profile: Profile, calls: number): void {
  const tables = profileTables(profile, locator(), (frame) => frame.url.endsWith("index.js"));
  const perCall = (us: number) => (us / calls).toFixed(1).padStart(7);
  console.log(`\n${calls} calls: ${(tables.busyUs / calls / 1000).toFixed(3)} ms of JS-visible CPU per call (idle ${(tables.idleUs / calls / 1000).toFixed(2)} ms a call, waiting).`);
  console.log("\nSelf time per call, by function (µs):");
  for (const [where, us] of largest(tables.bySelf, ROWS)) console.log(`${perCall(us)}  ${where}`);
  console.log("\nThe runtime's functions, by the Worker's function that called them (µs per call):");
  for (const [key, us] of largest(tables.runtimeCallers, ROWS)) console.log(`${perCall(us)}  ${key}`);
  console.log("\nSelf time per call, by source file (µs):");
  for (const [file, us] of largest(tables.byFile, ROWS)) console.log(`${perCall(us)}  ${file}`);
}

async function printFirstUse() {
  console.log("What an operation costs the workerd process the first time in a request, and each time when a request runs it ten times (CPU µs; medians of interleaved rounds; `nothing` is the noise):");
  console.log(`${"first".padStart(8)}  ${"each of 10".padStart(10)}  operation`);
  for (const { op, firstUs, eachOfTenUs } of await firstUseCosts()) console.log(`${firstUs.toFixed(0).padStart(8)}  ${eachOfTenUs.toFixed(1).padStart(10)}  ${op}`);
}

async function main() {
  if (process.env.PROFILE_FIRST_USE) return printFirstUse();
  console.log("What each platform call costs the workerd process here (CPU µs per call; deployed, KV, D1 and the limiter are not the Worker's CPU):");
  for (const { op, cpuUs } of await bindingCosts()) console.log(`${cpuUs.toFixed(0).padStart(8)}  ${op}`);
  buildBundle();
  const retell = await startRetellStandIn({ apiKey: API_KEY, defaults: { delayMs: 1 } });
  const hooks = process.env.PROFILE_HOOK ? await startHookStandIn({ secret: BENCH_SIGNING_SECRET }) : undefined;
  hooks?.setBehaviour("profile", { delayMs: 1, answer: HOOK_ANSWER });
  const floor = process.env.PROFILE_TARGET === "floor";
  const limits = { limits: { NUMBER_RATE_LIMITER: 1_000_000 }, inspectorPort: INSPECTOR_PORT };
  const worker = floor ? await serveFloor(new URL("/v2/register-phone-call", retell.url).toString(), "line", limits) : await serveBundle(
    { RETELL_BASE_URL: retell.url, RETELL_TIMEOUT_MS: "8000", WEBHOOK_BASE_URL: "", TWILIO_AUTH_TOKEN: BENCH_TWILIO_TOKEN, RETELL_API_KEY: API_KEY, WEBHOOK_SIGNING_SECRET: BENCH_SIGNING_SECRET },
    { ...limits, entry: COUNTING_ENTRY },
  );
  try {
    await seedAgents(worker, NUMBERS, hooks ? { callHook: { url: new URL("/hooks/profile", hooks.url).toString() } } : {});
    const send = floor ? registerSender(new URL("/", worker.url), NUMBERS, API_KEY) : webhookSender(worker, NUMBERS);
    for (let i = 0; i < WARM_UP; i++) if (!(await send(i))) throw new Error("a warm-up call did not get Retell's SIP dial");
    const targets = (await (await fetch(`http://127.0.0.1:${INSPECTOR_PORT}/json`)).json()) as Target[];
    const own = targets.find((t) => t.title?.includes("core:user"));
    if (!own) throw new Error(`workerd's inspector lists no Worker of ours: ${targets.map((t) => t.title).join(", ")}`);
    const profiler = await session(own);
    await profiler.send("Profiler.enable");
    await profiler.send("Profiler.setSamplingInterval", { interval: SAMPLING_US });
    if (!floor) await fetch(new URL("/__profile/counts?reset=1", worker.url));
    // PROFILE_CPU_ONLY=1: the process's CPU per call without the profiler's own cost, for before/after comparisons.
    const sampling = !process.env.PROFILE_CPU_ONLY;
    if (sampling) await profiler.send("Profiler.start");
    const cpuBefore = worker.cpuMs();
    let failed = 0;
    for (let i = 0; i < CALLS; i++) if (!(await send(i))) failed++;
    const cpu = worker.cpuMs() - cpuBefore;
    const profile = sampling ? (await profiler.send<{ profile: Profile }>("Profiler.stop")).profile : undefined;
    profiler.close();
    const counts = floor ? {} : ((await (await fetch(new URL("/__profile/counts", worker.url))).json()) as Record<string, number>);
    if (process.env.PROFILE_OUT && profile) writeFileSync(process.env.PROFILE_OUT, JSON.stringify(profile));
    console.log(`workerd process CPU: ${(cpu / CALLS).toFixed(3)} ms per call (all threads${sampling ? ", profiler on" : ""}); ${failed} failed.`);
    if (!floor) {
      console.log("\nBinding calls per call (the Worker and its line objects; each costs Miniflare's emulation CPU locally):");
      for (const [name, n] of Object.entries(counts).sort((a, b) => b[1] - a[1])) console.log(`${(n / CALLS).toFixed(2).padStart(8)}  ${name}`);
    }
    if (profile) summarise(profile, CALLS);
  } finally {
    await worker.dispose();
    await retell.close();
    await hooks?.close();
    closeClient();
  }
}

await main();
