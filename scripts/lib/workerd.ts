/**
 * Serves the deployable bundle (`wrangler deploy --dry-run --outdir`) in workerd through Miniflare's API,
 * with nothing in front of it: no `wrangler dev` proxy, whose own cost would swamp the Worker's
 * (shared/reference/workers-platform.md §8). Bindings come from wrangler.toml, as wrangler itself reads them.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { unstable_getMiniflareWorkerOptions, unstable_splitSqlQuery } from "wrangler";

/** Miniflare as wrangler itself depends on it, so its workerd is the one wrangler deploys against. */
const requireFromWrangler = createRequire(createRequire(import.meta.url).resolve("wrangler"));
const { Miniflare, convertV4MiniflareOptions } = requireFromWrangler("miniflare") as typeof import("miniflare");

/** Inside the project: workerd refuses modules outside the Worker's root directory. */
export const BUNDLE_DIR = "dist";

export interface BundleSize {
  files: string[];
  rawKiB: number;
  gzipKiB: number;
  /** wrangler's own "Total Upload: … / gzip: …" line. */
  wranglerLine: string;
}

/** Builds the Worker exactly as `wrangler deploy` would, without uploading it, and measures it. */
export function buildBundle(): BundleSize {
  const output = execFileSync(process.execPath, ["node_modules/wrangler/bin/wrangler.js", "deploy", "--dry-run", "--outdir", BUNDLE_DIR], {
    encoding: "utf8",
    env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
  });
  const files = readdirSync(BUNDLE_DIR).filter((f) => f.endsWith(".js"));
  let raw = 0;
  let gz = 0;
  for (const file of files) {
    const bytes = readFileSync(join(BUNDLE_DIR, file));
    raw += bytes.length;
    gz += gzipSync(bytes, { level: 9 }).length;
  }
  return { files, rawKiB: raw / 1024, gzipKiB: gz / 1024, wranglerLine: /Total Upload:[^\n]*/.exec(output)?.[0] ?? "" };
}

/** The part of a KV namespace that scripts use to seed agent mappings. */
export interface KvWriter {
  put(key: string, value: string): Promise<void>;
}

interface D1Like {
  prepare(sql: string): unknown;
  batch(statements: unknown[]): Promise<unknown>;
}

/** Applies migrations/*.sql in order, as `wrangler d1 migrations apply --local` would on a fresh database. */
async function applyMigrations(db: D1Like): Promise<void> {
  if (!existsSync("migrations")) return;
  for (const file of readdirSync("migrations").filter((f) => f.endsWith(".sql")).sort()) {
    const statements = unstable_splitSqlQuery(readFileSync(join("migrations", file), "utf8"));
    await db.batch(statements.map((sql) => db.prepare(sql)));
  }
}

/** Linux's clock ticks per second for /proc/<pid>/stat times (USER_HZ, 100 on every mainstream kernel). */
const TICKS_PER_SECOND = 100;

/** The workerd processes running under this one (Miniflare starts one per instance). */
function workerdPids(): Set<number> {
  const pids = new Set<number>();
  if (!existsSync("/proc/self/stat")) return pids;
  const parentOf = new Map<number, number>();
  const names = new Map<number, string>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      names.set(Number(entry), stat.slice(stat.indexOf("(") + 1, close));
      parentOf.set(Number(entry), Number(stat.slice(close + 2).split(" ")[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  for (const [pid, name] of names) {
    if (!name.startsWith("workerd")) continue;
    for (let p = parentOf.get(pid); p !== undefined && p > 1; p = parentOf.get(p)) {
      if (p === process.pid) {
        pids.add(pid);
        break;
      }
    }
  }
  return pids;
}

/** CPU milliseconds (user + system) the processes have used so far; 0 where /proc is not available. */
function cpuMsOf(pids: Iterable<number>): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Gone.
    }
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** Starts a Miniflare instance and notes which workerd processes are its own, for CPU accounting. */
async function startMiniflare(options: Parameters<typeof convertV4MiniflareOptions>[0]) {
  const before = workerdPids();
  const mf = new Miniflare(convertV4MiniflareOptions(options));
  const url = await mf.ready;
  const own = [...workerdPids()].filter((pid) => !before.has(pid));
  return { mf, url, cpuMs: () => cpuMsOf(own) };
}

export interface LocalWorker {
  url: URL;
  /** CPU milliseconds its workerd process has used so far (Linux; 0 elsewhere). */
  cpuMs(): number;
  /** How many log lines the Worker has written. */
  logLines(): number;
  kv(binding: string): Promise<KvWriter>;
  dispose(): Promise<void>;
}

type RateLimitOptions = Record<string, { simple: { limit: number; period: number } } & Record<string, unknown>>;

/** wrangler.toml's `[[ratelimits]]` bindings as Miniflare takes them, with some `limit`s replaced. */
export function rateLimits(limits: Record<string, number> = {}): RateLimitOptions {
  const { workerOptions } = unstable_getMiniflareWorkerOptions("./wrangler.toml");
  const bindings = (workerOptions as { ratelimits?: RateLimitOptions }).ratelimits ?? {};
  return Object.fromEntries(
    Object.entries(bindings).map(([name, binding]) => [name, { ...binding, simple: { ...binding.simple, limit: limits[name] ?? binding.simple.limit } }]),
  );
}

/**
 * Starts the built bundle on 127.0.0.1 with wrangler.toml's bindings, `bindings` overriding vars and adding
 * secrets, and `limits` replacing rate-limit bindings' limits (a limit's size does not change what a check costs).
 */
export async function serveBundle(bindings: Record<string, string>, limits: Record<string, number> = {}): Promise<LocalWorker> {
  let logLines = 0;
  const { workerOptions } = unstable_getMiniflareWorkerOptions("./wrangler.toml");
  // modulesRules only matter when wrangler bundles; the bundle is already built.
  const { modulesRules: _rules, ...options } = workerOptions as Record<string, unknown> & { bindings?: Record<string, unknown> };
  const { mf, url, cpuMs } = await startMiniflare({
    ...options,
    ratelimits: rateLimits(limits) as Record<string, unknown>,
    modules: true,
    scriptPath: join(BUNDLE_DIR, "index.js"),
    bindings: { ...options.bindings, ...bindings },
    host: "127.0.0.1",
    port: 0,
    // The Worker still writes its log lines; they are counted, not printed: printing thousands of lines from
    // this process would slow the load client that shares it. In production, logs leave the request path.
    handleStructuredLogs: () => void logLines++,
  } as Parameters<typeof convertV4MiniflareOptions>[0]);
  const d1 = (options.d1Databases ?? {}) as Record<string, unknown>;
  for (const binding of Array.isArray(d1) ? d1 : Object.keys(d1)) {
    await applyMigrations((await mf.getD1Database(binding)) as unknown as D1Like);
  }
  return {
    url,
    cpuMs,
    logLines: () => logLines,
    kv: (binding) => mf.getKVNamespace(binding) as unknown as Promise<KvWriter>,
    dispose: () => mf.dispose(),
  };
}

/**
 * A Worker that only forwards each request's body to `target` and returns the answer: the floor that any
 * Worker calling Retell pays in this setup (the hop into workerd and workerd's outbound fetch). With `records`,
 * it also does what any Worker keeping call records in D1 and counting calls against rate limits must: one read
 * by key before the call (the replay check) beside two counts against wrangler.toml's rate-limit bindings, one
 * after the other as the Worker makes them, and one upsert after the answer. Locally both D1 and the limiters
 * (a Durable Object in Miniflare) run on the Worker's workerd thread; deployed, D1 is a network round trip and
 * the limiters count in the Cloudflare location, adding no meaningful latency
 * (developers.cloudflare.com/workers/runtime-apis/bindings/rate-limit).
 */
export async function servePassThrough(target: string, options: { records?: boolean } = {}): Promise<LocalWorker> {
  const script = options.records
    ? `export default { async fetch(request, env, ctx) {
    const callSid = "CA" + crypto.randomUUID().replaceAll("-", "");
    const [prior] = await Promise.all([
      env.DB.prepare("SELECT retell_call_id FROM calls WHERE call_sid = ?").bind(callSid).first("retell_call_id"),
      env.CALLER_RATE_LIMITER.limit({ key: callSid }).then(() => env.NUMBER_RATE_LIMITER.limit({ key: callSid })),
    ]);
    const answer = await fetch(env.TARGET, { method: "POST", headers: { "Content-Type": "application/json", Authorization: request.headers.get("Authorization") ?? "" }, body: await request.text() });
    const text = await answer.text();
    ctx.waitUntil((async () => {
      await new Promise((resolve) => setTimeout(resolve, 0));
      const now = Date.now();
      await env.DB.prepare("INSERT INTO calls (call_sid, outcome, retell_call_id, created_at, updated_at) VALUES (?1, 'connected', ?2, ?3, ?3) ON CONFLICT (call_sid) DO UPDATE SET updated_at = excluded.updated_at").bind(callSid, prior ?? callSid, now).run();
    })());
    return new Response(text, { status: answer.status, headers: { "Content-Type": "application/json" } });
  } };`
    : `export default { async fetch(request, env) {
    const answer = await fetch(env.TARGET, { method: "POST", headers: { "Content-Type": "application/json", Authorization: request.headers.get("Authorization") ?? "" }, body: await request.text() });
    return new Response(await answer.text(), { status: answer.status, headers: { "Content-Type": "application/json" } });
  } };`;
  const { mf, url, cpuMs } = await startMiniflare({
    modules: true,
    script,
    compatibilityDate: "2026-11-01",
    bindings: { TARGET: target },
    ...(options.records && { d1Databases: ["DB"], ratelimits: rateLimits() }),
    host: "127.0.0.1",
    port: 0,
  } as Parameters<typeof convertV4MiniflareOptions>[0]);
  if (options.records) await applyMigrations((await mf.getD1Database("DB")) as unknown as D1Like);
  return { url, cpuMs, logLines: () => 0, kv: () => Promise.reject(new Error("no KV in the pass-through Worker")), dispose: () => mf.dispose() };
}
