/**
 * npm run profile: where the Worker's CPU goes on the voice webhook. The bench's call (scripts/lib/bench-client.ts:
 * a signed webhook for a fresh CallSid to an agent with routing rules, a global blocklist, both rate limits) is sent
 * PROFILE_CALLS times, one at a time, to the deployable bundle in workerd with its DevTools inspector open, under a
 * V8 CPU profile (Profiler domain of the Chrome DevTools Protocol, which workerd serves). Samples are mapped back to
 * src/ through the bundle's source map, and two tables are printed: self time by function, and time by source file
 * (the Worker's isolate runs its line objects too, so their statements are in the same profile).
 *
 * `PROFILE_TARGET=floor` profiles the bench's line floor instead (scripts/lib/bench-workers.ts), for comparison.
 * `PROFILE_HOOK=1` gives every agent a pre-call hook (a stand-in on loopback); `PROFILE_OUT=file.cpuprofile` keeps
 * the raw profile for Chrome's Performance panel.
 */
import { writeFileSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { join } from "node:path";
import { startHookStandIn } from "../stand-ins/hook.ts";
import { startRetellStandIn } from "../stand-ins/retell.ts";
import { HOOK_ANSWER } from "./lib/bench-call.ts";
import { BENCH_TWILIO_TOKEN, closeClient, registerSender, seedAgents, webhookSender } from "./lib/bench-client.ts";
import { BUNDLE_DIR, buildBundle, serveBundle, serveFloor } from "./lib/workerd.ts";

const CALLS = Number(process.env.PROFILE_CALLS ?? 3000);
const WARM_UP = 300;
/** µs between samples: fine enough for a call of a few ms, coarse enough not to slow it much. */
const SAMPLING_US = 50;
const INSPECTOR_PORT = Number(process.env.PROFILE_INSPECTOR_PORT ?? 9339);
const NUMBERS = Array.from({ length: 20 }, (_, i) => `+6139000${String(i).padStart(4, "0")}`);
const API_KEY = "key_profile";
const SIGNING_SECRET = `whsec_${Buffer.from("bench webhook signing secret 32b").toString("base64")}`;
const ROWS = 45;

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** A DevTools session over the inspector's WebSocket: one request at a time is all this script needs. */
async function devtools(port: number) {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { webSocketDebuggerUrl: string; title?: string; id?: string }[];
  const target = targets.find((t) => !/bench|floor/i.test(t.title ?? "")) ?? targets[0];
  if (!target) throw new Error("workerd's inspector lists no Worker");
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let id = 0;
  const pending = new Map<number, (result: unknown) => void>();
  ws.onmessage = (m) => {
    const msg = JSON.parse(String(m.data)) as { id?: number; result?: unknown; error?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.error ? Promise.reject(new Error(JSON.stringify(msg.error))) : msg.result);
  };
  return {
    targets: targets.map((t) => t.title ?? t.id),
    send: <T>(method: string, params: Record<string, unknown> = {}) =>
      new Promise<T>((resolve) => {
        pending.set(++id, resolve as (r: unknown) => void);
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
  const locate = locator();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((nodeId, i) => selfUs.set(nodeId, (selfUs.get(nodeId) ?? 0) + (profile.timeDeltas[i + 1] ?? 0)));
  const bySelf = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [nodeId, us] of selfUs) {
    const node = byId.get(nodeId) as ProfileNode;
    if (node.callFrame.functionName === "(idle)") {
      idle += us;
      continue;
    }
    total += us;
    const { file, where } = locate(node.callFrame);
    bySelf.set(where, (bySelf.get(where) ?? 0) + us);
    byFile.set(file, (byFile.get(file) ?? 0) + us);
  }
  const perCall = (us: number) => (us / calls).toFixed(1).padStart(7);
  // Who calls the runtime's own functions (fetch, SQL exec, timers): their self time is ours to explain.
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const callers = new Map<string, number>();
  for (const [nodeId, us] of selfUs) {
    const node = byId.get(nodeId) as ProfileNode;
    if (node.callFrame.url || ["(idle)", "(program)", "(garbage collector)", "(root)"].includes(node.callFrame.functionName)) continue;
    let parent = byId.get(parentOf.get(nodeId) ?? -1);
    while (parent && !parent.callFrame.url.endsWith("index.js")) parent = byId.get(parentOf.get(parent.id) ?? -1);
    const key = `${node.callFrame.functionName} ← ${parent ? locate(parent.callFrame).where : "(top)"}`;
    callers.set(key, (callers.get(key) ?? 0) + us);
  }
  console.log(`\n${calls} calls: ${(total / calls / 1000).toFixed(3)} ms of JS-visible CPU per call (idle ${(idle / calls / 1000).toFixed(2)} ms a call, waiting).`);
  console.log("\nSelf time per call, by function (µs):");
  for (const [where, us] of [...bySelf].sort((a, b) => b[1] - a[1]).slice(0, ROWS)) console.log(`${perCall(us)}  ${where}`);
  console.log("\nThe runtime's functions, by the Worker's function that called them (µs per call):");
  for (const [key, us] of [...callers].sort((a, b) => b[1] - a[1]).slice(0, ROWS)) console.log(`${perCall(us)}  ${key}`);
  console.log("\nSelf time per call, by source file (µs):");
  for (const [file, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, ROWS)) console.log(`${perCall(us)}  ${file}`);
}

async function main() {
  buildBundle();
  const retell = await startRetellStandIn({ apiKey: API_KEY, defaults: { delayMs: 1 } });
  const hooks = process.env.PROFILE_HOOK ? await startHookStandIn({ secret: SIGNING_SECRET }) : undefined;
  hooks?.setBehaviour("profile", { delayMs: 1, answer: HOOK_ANSWER });
  const floor = process.env.PROFILE_TARGET === "floor";
  const limits = { limits: { NUMBER_RATE_LIMITER: 1_000_000 }, inspectorPort: INSPECTOR_PORT };
  const worker = floor ? await serveFloor(new URL("/v2/register-phone-call", retell.url).toString(), "line", limits) : await serveBundle(
    { RETELL_BASE_URL: retell.url, RETELL_TIMEOUT_MS: "8000", WEBHOOK_BASE_URL: "", TWILIO_AUTH_TOKEN: BENCH_TWILIO_TOKEN, RETELL_API_KEY: API_KEY, WEBHOOK_SIGNING_SECRET: SIGNING_SECRET },
    limits,
  );
  try {
    await seedAgents(worker, NUMBERS, hooks ? { callHook: { url: new URL("/hooks/profile", hooks.url).toString() } } : {});
    const send = floor ? registerSender(new URL("/", worker.url), NUMBERS, API_KEY) : webhookSender(worker, NUMBERS);
    for (let i = 0; i < WARM_UP; i++) if (!(await send(i))) throw new Error("a warm-up call did not get Retell's SIP dial");
    const session = await devtools(INSPECTOR_PORT);
    console.log(`Inspector targets: ${session.targets.join(", ")}`);
    await session.send("Profiler.enable");
    await session.send("Profiler.setSamplingInterval", { interval: SAMPLING_US });
    await session.send("Profiler.start");
    const cpuBefore = worker.cpuMs();
    let failed = 0;
    for (let i = 0; i < CALLS; i++) if (!(await send(i))) failed++;
    const cpu = worker.cpuMs() - cpuBefore;
    const { profile } = await session.send<{ profile: Profile }>("Profiler.stop");
    session.close();
    if (process.env.PROFILE_OUT) writeFileSync(process.env.PROFILE_OUT, JSON.stringify(profile));
    console.log(`workerd process CPU: ${(cpu / CALLS).toFixed(3)} ms per call (all threads, profiler on); ${failed} failed.`);
    summarise(profile, CALLS);
  } finally {
    await worker.dispose();
    await retell.close();
    await hooks?.close();
    closeClient();
  }
}

await main();
