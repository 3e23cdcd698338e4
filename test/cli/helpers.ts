/**
 * Helpers for the CLI's end-to-end tests: run a command as an operator would (a child process on Node 22),
 * in a clean environment (no developer .dev.vars, no real credentials), and read local KV with raw wrangler.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
/** The real wrangler entry point (test/cli/calls.test.ts runs it directly). */
export const WRANGLER_JS = join(ROOT, "node_modules/wrangler/bin/wrangler.js");
export const FAKE_WRANGLER = join(ROOT, "test/cli/fixtures/fake-wrangler.mjs");
/** Node 22 (type stripping): this process's when it is one, else the project's `node` package. */
export const NODE = Number(process.versions.node.split(".")[0]) >= 22 ? process.execPath : join(ROOT, "node_modules/node/bin/node");

export const TWILIO_SID = "AC" + "0123456789abcdef".repeat(2);
export const TWILIO_TOKEN = "twilio_test_token_cli_0123456789";
export const RETELL_KEY = "key_test_cli_0123456789";

/** A process environment. */
export type ProcessEnvironment = Record<string, string | undefined>;

const dirs: string[] = [];
export function tempDir(label = "cli"): string {
  const dir = mkdtempSync(join(tmpdir(), `bridge-test-${label}-`));
  dirs.push(dir);
  return dir;
}
export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** The environment of the host minus every setting the CLI reads, so tests set exactly what they mean. */
export function cleanEnv(extra: Record<string, string> = {}): ProcessEnvironment {
  const env: ProcessEnvironment = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(TWILIO_|RETELL_|WEBHOOK_BASE_URL|CLOUDFLARE_|BRIDGE_|FAKE_WRANGLER)/.test(k)) env[k] = v;
  }
  return { ...env, BRIDGE_DEV_VARS: join(tmpdir(), "bridge-test-no-such.dev.vars"), ...extra };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr together. */
  output: string;
}

/**
 * Runs `node cli/<command>.ts ...args` from the project folder. `timeoutMs` only bounds a failing run, and
 * ends it before the test's own limit (120 s) so its output is reported.
 */
export function runCli(command: string, args: string[], env: ProcessEnvironment = cleanEnv(), timeoutMs = 110_000): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(NODE, [join(ROOT, "cli", `${command}.ts`), ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? -1, stdout, stderr, output: stdout + stderr });
    });
  });
}

export interface KvBinding {
  get(key: string): Promise<string | null>;
  put(key: string, value: string): Promise<void>;
  list(): Promise<{ keys: { name: string }[] }>;
}

/**
 * A local persistence folder opened in this process through wrangler's getPlatformProxy (the same local
 * store `--local --persist-to DIR` uses): tests seed and read it without spawning wrangler each time.
 */
export async function openLocalKv(persistTo: string): Promise<{ kv: KvBinding; read(keys: string[]): Promise<Record<string, string | null>>; keys(): Promise<string[]>; seed(entries: Record<string, string>): Promise<void>; dispose(): Promise<void> }> {
  const { getPlatformProxy } = await import("wrangler");
  const proxy = await getPlatformProxy<{ AGENTS: KvBinding }>({ configPath: join(ROOT, "wrangler.toml"), persist: { path: join(persistTo, "v3") } });
  const kv = proxy.env.AGENTS;
  return {
    kv,
    read: async (keys) => Object.fromEntries(await Promise.all(keys.map(async (k) => [k, await kv.get(k)] as const))),
    keys: async () => (await kv.list()).keys.map((k) => k.name),
    seed: async (entries) => {
      for (const [k, v] of Object.entries(entries)) await kv.put(k, v);
    },
    dispose: () => proxy.dispose(),
  };
}

/** A fake wrangler that records each invocation (see fixtures/fake-wrangler.mjs). */
export function fakeWrangler(state: Record<string, unknown> = {}): { env: Record<string, string>; calls: () => string[][]; state: () => Record<string, unknown> } {
  const dir = tempDir("fake");
  const log = join(dir, "calls.jsonl");
  const stateFile = join(dir, "state.json");
  writeFileSync(stateFile, JSON.stringify(state));
  return {
    env: { BRIDGE_WRANGLER: FAKE_WRANGLER, FAKE_WRANGLER_LOG: log, FAKE_WRANGLER_STATE: stateFile },
    calls: () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as string[]) : []),
    state: () => JSON.parse(readFileSync(stateFile, "utf8")) as Record<string, unknown>,
  };
}
