/**
 * Runs wrangler: `process.execPath node_modules/wrangler/bin/wrangler.js` (so it gets the project's Node 22),
 * with CI=true and no metrics. `BRIDGE_WRANGLER` replaces the binary (tests use a fake one for deploy).
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { fileURLToPath } from "node:url";
import { CliError, onInterrupt } from "./errors.ts";

export const WRANGLER_JS = fileURLToPath(new URL("../../node_modules/wrangler/bin/wrangler.js", import.meta.url));

export interface WranglerResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The program and leading arguments that start wrangler. */
export function wranglerCommand(): { file: string; args: string[] } {
  const override = process.env.BRIDGE_WRANGLER;
  if (override) return /\.(c|m)?(j|t)s$/.test(override) ? { file: process.execPath, args: [override] } : { file: override, args: [] };
  return { file: process.execPath, args: [WRANGLER_JS] };
}

export function wranglerEnv(): NodeJS.ProcessEnv {
  return { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", FORCE_COLOR: "0" };
}

export function spawnWrangler(args: string[], options: SpawnOptions = {}): ChildProcess {
  const { file, args: lead } = wranglerCommand();
  return spawn(file, [...lead, ...args], { env: wranglerEnv(), stdio: ["ignore", "pipe", "pipe"], ...options });
}

/** wrangler commands still running: each in its own process group, so an interrupt can end it whole. */
const running = new Set<ChildProcess>();
/** Set on Ctrl-C: a command started after it would outlive the exit (a detached group nobody ends), so none is. */
let interrupted = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

onInterrupt(async () => {
  interrupted = true;
  const children = [...running];
  for (const child of children) killGroup(child, "SIGTERM");
  await Promise.all(children.map((child) => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => {
      killGroup(child, "SIGKILL");
      resolve();
    }, 2_000);
    child.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
  })));
});

export function runWrangler(args: string[], options: { cwd?: string } = {}): Promise<WranglerResult> {
  return new Promise((resolve, reject) => {
    if (interrupted) return reject(new CliError("Interrupted: wrangler was not started."));
    const child = spawnWrangler(args, { detached: true, ...(options.cwd ? { cwd: options.cwd } : {}) });
    running.add(child);
    child.once("close", () => running.delete(child));
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", (error) => reject(new CliError(`Cannot start wrangler (${wranglerCommand().file}): ${error.message}`, { fix: "run `npm install` in the project folder" })));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

/** The lines of wrangler's output that explain a failure: its ✘ [ERROR] block, else the last lines. */
export function wranglerFailure(result: WranglerResult): string[] {
  const lines = (result.stderr + "\n" + result.stdout).replace(ANSI, "").split("\n").map((l) => l.trimEnd());
  const start = lines.findIndex((l) => /\[ERROR\]/.test(l));
  const picked: string[] = [];
  if (start !== -1) {
    for (let i = start; i < lines.length && picked.length < 12; i++) {
      const line = lines[i] as string;
      if (/Logs were written to|^\s*$/.test(line) && picked.length > 1 && /^\s*$/.test(lines[i + 1] ?? "")) break;
      if (!/Logs were written to/.test(line) && line.trim() !== "") picked.push(line.replace(/^✘\s*\[ERROR\]\s*/, "").trim());
    }
    return picked;
  }
  return lines.filter((l) => l.trim() !== "" && !/wrangler \d|^─+$|Logs were written to/.test(l)).slice(-8).map((l) => l.trim());
}

/** Runs wrangler and returns its stdout; a non-zero exit becomes a CliError that quotes wrangler's reason. */
export async function wrangler(args: string[], what: string, options: { cwd?: string; fix?: string } = {}): Promise<WranglerResult> {
  const result = await runWrangler(args, options);
  if (result.code !== 0) {
    const reason = wranglerFailure(result);
    const auth = reason.some((l) => /CLOUDFLARE_API_TOKEN|wrangler login|not authenticated|Authentication error/i.test(l));
    throw new CliError(`${what} failed: wrangler exited with code ${result.code}.`, {
      details: reason,
      ...(auth ? { fix: "run `npx wrangler login` once, or set CLOUDFLARE_API_TOKEN (and CLOUDFLARE_ACCOUNT_ID) in the environment" } : options.fix ? { fix: options.fix } : {}),
    });
  }
  return result;
}
