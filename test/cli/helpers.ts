/**
 * Helpers for the CLI's end-to-end tests: run a command as an operator would (a child process on Node 22),
 * in a clean environment (no developer .dev.vars, no real credentials), and read local KV with raw wrangler.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const WRANGLER_JS = join(ROOT, "node_modules/wrangler/bin/wrangler.js");
export const FAKE_WRANGLER = join(ROOT, "test/cli/fixtures/fake-wrangler.mjs");
/** Node 22 (type stripping): this process's when it is one, else the project's `node` package. */
export const NODE = Number(process.versions.node.split(".")[0]) >= 22 ? process.execPath : join(ROOT, "node_modules/node/bin/node");

export const TWILIO_SID = "AC" + "0123456789abcdef".repeat(2);
export const TWILIO_TOKEN = "twilio_test_token_cli_0123456789";
export const RETELL_KEY = "key_test_cli_0123456789";

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
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
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

/** Runs `node cli/<command>.ts ...args` from the project folder. */
export function runCli(command: string, args: string[], env: NodeJS.ProcessEnv = cleanEnv(), timeoutMs = 90_000): Promise<CliResult> {
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

const exec = promisify(execFile);

/** Raw wrangler on a local persistence folder, the way an operator would run it by hand. */
export async function rawWrangler(args: string[], persistTo: string): Promise<string> {
  const { stdout } = await exec(NODE, [WRANGLER_JS, ...args, "--binding", "AGENTS", "--local", "--persist-to", persistTo], {
    cwd: ROOT,
    env: { ...cleanEnv(), CI: "true", WRANGLER_SEND_METRICS: "false" },
  });
  return stdout;
}

/** Values of `keys` in a local store (null when absent), through raw `wrangler kv bulk get`. */
export async function readKv(persistTo: string, keys: string[]): Promise<Record<string, string | null>> {
  const file = join(tempDir("keys"), "keys.json");
  writeFileSync(file, JSON.stringify(keys));
  const stdout = await rawWrangler(["kv", "bulk", "get", file], persistTo);
  const parsed = JSON.parse(stdout.slice(stdout.indexOf("{"))) as Record<string, { value: string | null }>;
  return Object.fromEntries(keys.map((k) => [k, parsed[k]?.value ?? null]));
}

/** Every key in a local store, through raw `wrangler kv key list`. */
export async function listKv(persistTo: string): Promise<string[]> {
  const stdout = await rawWrangler(["kv", "key", "list"], persistTo);
  return (JSON.parse(stdout.slice(stdout.indexOf("["))) as { name: string }[]).map((k) => k.name);
}

/** Writes raw values into a local store with one `wrangler kv bulk put`. */
export async function seedKv(persistTo: string, entries: Record<string, string>): Promise<void> {
  const file = join(tempDir("seed"), "seed.json");
  writeFileSync(file, JSON.stringify(Object.entries(entries).map(([key, value]) => ({ key, value }))));
  await rawWrangler(["kv", "bulk", "put", file], persistTo);
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
