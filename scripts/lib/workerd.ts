/**
 * Serves the deployable bundle (`wrangler deploy --dry-run --outdir`) in workerd through Miniflare's API,
 * with nothing in front of it: no `wrangler dev` proxy, whose own cost would swamp the Worker's
 * (shared/reference/workers-platform.md §8). Bindings come from wrangler.toml, as wrangler itself reads them.
 * Also serves the bench's own Workers beside it (bench-workers.ts): floors, and the bundle with delayed bindings.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { unstable_getMiniflareWorkerOptions, unstable_splitSqlQuery } from "wrangler";
import { BUNDLE_ENTRY, FLOOR_PATH, floorScript, NO_TIMERS, type BindingTimers, type FloorKind } from "./bench-workers.ts";

/** Miniflare as wrangler itself depends on it, so its workerd is the one wrangler deploys against. */
const requireFromWrangler = createRequire(createRequire(import.meta.url).resolve("wrangler"));
const { Miniflare, convertV4MiniflareOptions } = requireFromWrangler("miniflare") as typeof import("miniflare");

/** Inside the project: workerd refuses modules outside the Worker's root directory. */
export const BUNDLE_DIR = "dist";

export interface FileSize {
  files: string[];
  rawKiB: number;
  gzipKiB: number;
}

export interface BundleSize extends FileSize {
  /** The source maps wrangler uploads beside the bundle: not part of the Worker's size or its cold start. */
  sourceMaps: FileSize;
  /** wrangler's own "Total Upload: … / gzip: …" line (the modules only, without source maps). */
  wranglerLine: string;
}

function sizeOf(files: string[]): FileSize {
  let raw = 0;
  let gz = 0;
  for (const file of files) {
    const bytes = readFileSync(join(BUNDLE_DIR, file));
    raw += bytes.length;
    gz += gzipSync(bytes, { level: 9 }).length;
  }
  return { files, rawKiB: raw / 1024, gzipKiB: gz / 1024 };
}

/** Builds the Worker exactly as `wrangler deploy` would (minified, per wrangler.toml), without uploading it, and measures it. */
export function buildBundle(): BundleSize {
  rmSync(BUNDLE_DIR, { recursive: true, force: true });
  const output = execFileSync(process.execPath, ["node_modules/wrangler/bin/wrangler.js", "deploy", "--dry-run", "--outdir", BUNDLE_DIR], {
    encoding: "utf8",
    env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
  });
  const files = readdirSync(BUNDLE_DIR);
  return {
    ...sizeOf(files.filter((f) => f.endsWith(".js"))),
    sourceMaps: sizeOf(files.filter((f) => f.endsWith(".js.map"))),
    wranglerLine: /Total Upload:[^\n]*/.exec(output)?.[0] ?? "",
  };
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
async function startMiniflare(options: MiniflareOptions) {
  const before = workerdPids();
  const mf = new Miniflare(convertV4MiniflareOptions(options));
  const url = await mf.ready;
  const own = [...workerdPids()].filter((pid) => !before.has(pid));
  return { mf, url, cpuMs: () => cpuMsOf(own) };
}

/** The part of a D1 database that scripts use to count what the Worker copied there. */
export interface D1Reader {
  prepare(sql: string): { bind(...values: unknown[]): { first<T>(): Promise<T | null> } };
}

export interface LocalWorker {
  url: URL;
  /** CPU milliseconds its workerd process has used so far (Linux; 0 elsewhere). */
  cpuMs(): number;
  /** How many log lines the Worker has written. */
  logLines(): number;
  kv(binding: string): Promise<KvWriter>;
  d1(binding: string): Promise<D1Reader>;
  dispose(): Promise<void>;
}

type MiniflareOptions = Parameters<typeof convertV4MiniflareOptions>[0];
type WorkerConfig = Record<string, unknown> & { bindings?: Record<string, unknown>; compatibilityDate?: string };

let projectConfig: WorkerConfig | undefined;
/** The Worker's options as wrangler reads them from wrangler.toml (read once: wrangler warns on every read). */
function workerConfig(): WorkerConfig {
  if (!projectConfig) {
    // modulesRules only matter when wrangler bundles; the bundle is already built.
    const { modulesRules: _rules, ...config } = unstable_getMiniflareWorkerOptions("./wrangler.toml").workerOptions as WorkerConfig;
    projectConfig = config;
  }
  return projectConfig;
}

export type RateLimitOptions = Record<string, { simple: { limit: number; period: number } } & Record<string, unknown>>;

/**
 * wrangler.toml's `[[ratelimits]]` bindings as Miniflare takes them, with the `limit`s named in `limits` replaced:
 * a limit's size changes only the verdict, not what a count costs. Naming a binding wrangler.toml lacks throws.
 */
export function rateLimits(limits: Record<string, number> = {}): RateLimitOptions {
  const bindings = (workerConfig().ratelimits ?? {}) as RateLimitOptions;
  for (const name of Object.keys(limits)) {
    if (!(name in bindings)) throw new Error(`wrangler.toml has no [[ratelimits]] binding ${name}`);
  }
  return Object.fromEntries(
    Object.entries(bindings).map(([name, binding]) => [name, { ...binding, simple: { ...binding.simple, limit: limits[name] ?? binding.simple.limit } }]),
  );
}

/** How the bench serves a Worker: its binding calls' delays, and rate limits raised (binding name → limit). */
export interface ServeOptions {
  timers?: BindingTimers;
  limits?: Record<string, number>;
  /** For the `hook` and `least` floors: where the pre-call hook is, and (`hook` only) the body the bench client signed for it. */
  hook?: { url: string; body: string };
  /** For the `least` floor: the secrets it shares with the Worker (TWILIO_AUTH_TOKEN, RETELL_API_KEY, WEBHOOK_SIGNING_SECRET). */
  secrets?: Record<string, string>;
  /** An entry module of the bench's own in front of the bundle (`./index.js`), instead of the bundle itself. */
  entry?: string;
  /** Opens workerd's DevTools inspector on this port (scripts/profile.ts takes CPU profiles through it). */
  inspectorPort?: number;
}

/**
 * Where local storage lives: in memory-backed files (tmpfs) where the machine has them, so the bench measures the
 * Worker rather than this machine's disk flushes (on a shared disk, flushes added several ms to every line-object write).
 * Production storage does not share that cost; the latency model adds production's round trips instead.
 */
const MEMORY_FILES = "/dev/shm";

/** Starts a Worker, applies migrations to its D1 databases, and wraps what scripts need of it. */
async function serve(options: Record<string, unknown>, d1Bindings: string[], inspectorPort?: number): Promise<LocalWorker> {
  let logLines = 0;
  const storage = existsSync(MEMORY_FILES) ? mkdtempSync(join(MEMORY_FILES, "bridge-bench-")) : undefined;
  const { mf, url, cpuMs } = await startMiniflare({
    ...options,
    ...(storage && { resourcePersistencePath: storage }),
    host: "127.0.0.1",
    port: 0,
    ...(inspectorPort !== undefined && { inspectorPort }),
    // The Worker still writes its log lines; they are counted, not printed: printing thousands of lines from
    // this process would slow the load client that shares it. In production, logs leave the request path.
    handleStructuredLogs: () => void logLines++,
  } as unknown as MiniflareOptions);
  for (const binding of d1Bindings) await applyMigrations((await mf.getD1Database(binding)) as unknown as D1Like);
  return {
    url,
    cpuMs,
    logLines: () => logLines,
    kv: (binding) => mf.getKVNamespace(binding) as unknown as Promise<KvWriter>,
    d1: (binding) => mf.getD1Database(binding) as unknown as Promise<D1Reader>,
    dispose: async () => {
      await mf.dispose();
      if (storage) rmSync(storage, { recursive: true, force: true });
    },
  };
}

/**
 * Starts the built bundle on 127.0.0.1 with wrangler.toml's bindings (the line objects' SQLite class and its
 * migration included), `bindings` overriding vars and adding secrets, and `limits` raising rate limits. With
 * `timers`, the bundle is served through the bench's entry module (bench-workers.ts), which delays every binding
 * call and adds `POST /__bench/line`.
 */
export async function serveBundle(bindings: Record<string, string>, options: ServeOptions = {}): Promise<LocalWorker> {
  const config = workerConfig();
  const entryModule = options.entry ?? (options.timers && BUNDLE_ENTRY);
  const entry = entryModule
    ? {
        modules: [
          { type: "ESModule", path: join(BUNDLE_DIR, "bench-entry.js"), contents: entryModule },
          { type: "ESModule", path: join(BUNDLE_DIR, "index.js") },
        ],
      }
    : { modules: true, scriptPath: join(BUNDLE_DIR, "index.js") };
  const d1 = (config.d1Databases ?? {}) as Record<string, unknown>;
  return serve(
    { ...config, ...entry, ratelimits: rateLimits(options.limits), bindings: { ...config.bindings, ...bindings, ...(options.timers && { BENCH_TIMERS: JSON.stringify(options.timers) }) } },
    Array.isArray(d1) ? (d1 as string[]) : Object.keys(d1),
    options.inspectorPort,
  );
}

/**
 * A floor Worker (bench-workers.ts): forwards each request's body to `target` and returns the answer, doing only
 * the platform work its kind names, each binding call delayed by `timers`. It has the Worker's static assets, and
 * its `url` is FLOOR_PATH, one of the Worker's own paths. Its rate-limit bindings are wrangler.toml's, with
 * `limits` raised as for the Worker, so its counts cost what the Worker's do.
 */
export async function serveFloor(target: string, kind: FloorKind, options: ServeOptions = {}): Promise<LocalWorker> {
  const stored = kind === "line" || kind === "d1" || kind === "least";
  const stores = {
    ...(kind !== "pass" && kind !== "hook" && { ratelimits: rateLimits(options.limits) }),
    ...(stored && { kvNamespaces: ["AGENTS"], d1Databases: ["DB"] }),
    ...((kind === "line" || kind === "least") && { durableObjects: { LINES: { className: "FloorLine", useSQLite: true } } }),
  };
  const floor = await serve(
    {
      modules: true,
      script: floorScript(kind),
      // The Worker's own date, so floors and Worker get the same runtime.
      compatibilityDate: workerConfig().compatibilityDate,
      // The Worker's static assets and their routing, so a floor's requests take the same way in as the
      // Worker's webhooks: through the asset router, straight to the script (run_worker_first).
      assets: workerConfig().assets,
      bindings: { TARGET: target, BENCH_TIMERS: JSON.stringify(options.timers ?? NO_TIMERS), ...(options.hook && { HOOK_URL: options.hook.url, HOOK_BODY: options.hook.body }), ...options.secrets },
      ...stores,
    },
    stored ? ["DB"] : [],
    options.inspectorPort,
  );
  return { ...floor, url: new URL(FLOOR_PATH, floor.url) };
}

/**
 * A script of the bench's own (scripts/lib/binding-costs.ts) with one of each binding the Worker uses, as
 * wrangler.toml declares them: a SQLite Durable Object class `Obj`, KV `KV`, D1 `DB` and the rate limiter `RL`.
 */
export async function serveProbe(script: string): Promise<LocalWorker> {
  const [limiter] = Object.values(rateLimits({ NUMBER_RATE_LIMITER: 1_000_000 })).slice(0, 1);
  return serve(
    {
      modules: true,
      script,
      compatibilityDate: workerConfig().compatibilityDate,
      durableObjects: { OBJ: { className: "Obj", useSQLite: true } },
      kvNamespaces: ["KV"],
      d1Databases: ["DB"],
      ratelimits: { RL: limiter },
    },
    ["DB"],
  );
}
