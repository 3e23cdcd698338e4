/**
 * What an operation costs the first time in a request, against each further time in the same request: a probe
 * Worker (workerd.ts `serveProbe`) answers batches of requests that each run one operation 0, 1 or 10 times, and
 * the workerd process's CPU per request is compared between batches, interleaved round by round (medians of the
 * rounds' differences). "nothing" runs a no-op: its row is the measurement's own noise.
 *
 * The step table (own-work.ts) runs each function thousands of times in a row, warm; a voice webhook runs each once,
 * between other requests' work and the bench client's on the same two cores. Where the first use costs many times
 * a warm one, the Worker's end-to-end CPU is set by how many distinct operations it runs per call, not by how
 * long each takes warm (docs/performance.md "Where the CPU goes").
 */
import { probeRequest, probeScript } from "./binding-costs.ts";
import { serveProbe } from "./workerd.ts";

/** Requests per batch: the process's CPU is read in 10 ms ticks, so 1 000 requests resolve 10 µs per request. */
const BATCH = 1_000;
/** Interleaved rounds per operation; the figure is the median of the rounds' differences. */
const ROUNDS = 8;

const PROBE = probeScript(
  String.raw`
const formatter = new Intl.DateTimeFormat("en-US", { timeZone: "America/New_York", hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
const record = { callSid: "CA" + "a".repeat(32), agentKey: "+61390000001", from: "+61412345678", to: "+61390000001", outcome: "connected", retellCallId: "call_" + "b".repeat(28), transfers: [], vars: Object.fromEntries(Array.from({ length: 20 }, (_, i) => ["variable_" + i, "value " + i])) };
const text = JSON.stringify(record);
const encoder = new TextEncoder();
let key;
let sink = 0;`,
  String.raw`
    key ??= await crypto.subtle.importKey("raw", new Uint8Array(32), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    if (op.startsWith("SQLite")) return new Response(String(await env.OBJ.get(env.OBJ.idFromName("probe")).run(op.includes("read") ? "read" : "write", n, text)));
    for (let i = 0; i < n; i++) {
      if (op === "nothing") sink += 1;
      else if (op === "Intl formatToParts (formatter kept)") sink += formatter.formatToParts(Date.now() + i * 60000).length;
      else if (op === "JSON.stringify of a 1 KB record") sink += JSON.stringify(record).length;
      else if (op === "JSON.parse of a 1 KB record") sink += JSON.parse(text).transfers.length;
      else if (op === "HMAC-SHA256 (key kept)") sink += (await crypto.subtle.sign("HMAC", key, encoder.encode(text))).byteLength;
      else if (op === "crypto.randomUUID") sink += crypto.randomUUID().length;
      else if (op === "AbortSignal.timeout") sink += AbortSignal.timeout(5000).aborted ? 0 : 1;
      else if (op === "new URL") sink += new URL("https://example.com/api/webhooks/twilio/status?x=" + i).pathname.length;
    }
    return new Response(String(sink));`,
);

export const FIRST_USE_OPS = [
  "nothing",
  "Intl formatToParts (formatter kept)",
  "JSON.stringify of a 1 KB record",
  "JSON.parse of a 1 KB record",
  "HMAC-SHA256 (key kept)",
  "crypto.randomUUID",
  "AbortSignal.timeout",
  "new URL",
  "SQLite read in the line's object",
  "SQLite write in the line's object",
] as const;

export interface FirstUseCost {
  op: (typeof FIRST_USE_OPS)[number];
  /** CPU µs a request spends on the operation run once. */
  firstUs: number;
  /** CPU µs per run when a request runs it 10 times (its first run's extra cost spread over ten). */
  eachOfTenUs: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

export async function firstUseCosts(): Promise<FirstUseCost[]> {
  const probe = await serveProbe(PROBE);
  const call = (op: string, n: number) => probeRequest(probe, op, n);
  const batch = async (op: string, n: number) => {
    const before = probe.cpuMs();
    for (let i = 0; i < BATCH; i++) await call(op, n);
    return ((probe.cpuMs() - before) * 1000) / BATCH;
  };
  try {
    const costs: FirstUseCost[] = [];
    for (const op of FIRST_USE_OPS) {
      for (let i = 0; i < 300; i++) await call(op, 10);
      const once: number[] = [];
      const ten: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const none = await batch(op, 0);
        once.push((await batch(op, 1)) - none);
        ten.push(((await batch(op, 10)) - none) / 10);
      }
      costs.push({ op, firstUs: median(once), eachOfTenUs: median(ten) });
    }
    return costs;
  } finally {
    await probe.dispose();
  }
}
