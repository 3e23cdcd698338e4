/**
 * What one platform call costs the workerd process here, in CPU µs (and one HMAC, the signature the hook's request
 * and Twilio's check both compute): a probe Worker (workerd.ts `serveProbe`) makes
 * each kind of call a few thousand times and the process's CPU is divided by the count. Deployed, KV, D1 and the
 * rate limiter are services elsewhere whose work is not the Worker's CPU; locally, Miniflare emulates each in
 * the same workerd process, so these costs show up in every local CPU figure (docs/performance.md).
 */
import { serveProbe, type LocalWorker } from "./workerd.ts";

/**
 * The probe Workers' Durable Object (this file's and first-use.ts's): SQLite-backed, with one table; `run` reads or
 * writes a row of it `n` times in one request (`value` is what a write stores).
 */
const PROBE_OBJECT = String.raw`
export class Obj extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v TEXT)");
  }
  run(kind, n, value) {
    const sql = this.ctx.storage.sql;
    let rows = 0;
    for (let i = 0; i < n; i++) {
      if (kind === "read") rows += sql.exec("SELECT v FROM t WHERE k = ?", "k" + (i % 50)).toArray().length;
      else sql.exec("INSERT INTO t (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v", "k" + (i % 50), value);
    }
    return rows;
  }
  ping() {
    return 1;
  }
}`;

/**
 * A probe Worker's source (this file's and first-use.ts's): `prelude` at module level, the probe object, and a fetch
 * handler whose `body` runs with `env`, and `op` and `n` from the query probeRequest sends.
 */
export function probeScript(prelude: string, body: string): string {
  return String.raw`
import { DurableObject } from "cloudflare:workers";
${prelude}
${PROBE_OBJECT}
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const op = url.searchParams.get("op");
    const n = Number(url.searchParams.get("n"));
${body}
  },
};`;
}

/** Asks a probe Worker to run `op` `n` times in one request. */
export function probeRequest(probe: LocalWorker, op: string, n: number): Promise<string> {
  return fetch(new URL(`/?op=${encodeURIComponent(op)}&n=${n}`, probe.url)).then((r) => r.text());
}

const PROBE = probeScript(
  String.raw`
const encoder = new TextEncoder();
const signed = "msg_" + "0".repeat(32) + ".1800000000." + "x".repeat(400);
let key;`,
  String.raw`
    const stub = env.OBJ.get(env.OBJ.idFromName("probe"));
    if (op.startsWith("sql")) return new Response(String(await stub.run(op === "sql read" ? "read" : "write", n, "x".repeat(800))));
    for (let i = 0; i < n; i++) {
      if (op === "line RPC") await stub.ping();
      else if (op === "KV read") await env.KV.get("key", { cacheTtl: 60 });
      else if (op === "D1 query") await env.DB.prepare("SELECT 1 AS x").first();
      else if (op === "rate-limit count") await env.RL.limit({ key: "k" + (i % 50) });
      else if (op === "timer set and cleared") clearTimeout(setTimeout(() => {}, 5000));
      else if (op === "HMAC-SHA256 of 450 bytes") {
        key ??= await crypto.subtle.importKey("raw", new Uint8Array(32), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
        await crypto.subtle.sign("HMAC", key, encoder.encode(signed));
      }
    }
    return new Response("ok");`,
);

export const PROBED = ["KV read", "D1 query", "rate-limit count", "line RPC", "sql read", "sql write", "timer set and cleared", "HMAC-SHA256 of 450 bytes"] as const;

/** CPU µs per call of each probed kind, measured over `count` calls each (after a warm-up). */
export async function bindingCosts(count = 3_000): Promise<{ op: (typeof PROBED)[number]; cpuUs: number }[]> {
  const probe = await serveProbe(PROBE);
  const batch = 500;
  const call = (op: string, n: number) => probeRequest(probe, op, n);
  try {
    await (await probe.kv("KV")).put("key", JSON.stringify([{ id: "ep_1", url: "https://example.com/hooks", events: ["call.started"] }]));
    const costs = [];
    for (const op of PROBED) {
      await call(op, 100);
      const before = probe.cpuMs();
      for (let done = 0; done < count; done += batch) await call(op, batch);
      costs.push({ op, cpuUs: ((probe.cpuMs() - before) * 1000) / count });
    }
    return costs;
  } finally {
    await probe.dispose();
  }
}
