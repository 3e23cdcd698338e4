/**
 * Runs wrangler: `process.execPath node_modules/wrangler/bin/wrangler.js` (so it gets the project's Node 22),
 * with CI=true and no metrics. `BRIDGE_WRANGLER` replaces the binary (tests use a fake one for deploy).
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { fileURLToPath } from "node:url";
import { CliError, interrupted, onInterrupt } from "./errors.ts";

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

/** How long a wrangler process group has to end after SIGTERM before it gets SIGKILL. */
const STOP_GRACE_MS = 3_000;

/**
 * Every wrangler process still running. Each leads a process group of its own (wrangler's Node child, workerd,
 * esbuild are in it), so it can be ended whole, and a Ctrl-C in the terminal reaches only this command.
 */
const running = new Set<ChildProcess>();

/**
 * Starts wrangler in a process group of its own and keeps it in `running` until it exits. Once the command is
 * interrupted it starts nothing: a step that was about to run wrangler gets an error instead, so no wrangler
 * can start after the interrupt's clean-up looked for processes to stop.
 */
export function spawnWrangler(args: string[], options: SpawnOptions = {}): ChildProcess {
  if (interrupted()) throw new CliError("Interrupted: wrangler was not started.");
  const { file, args: lead } = wranglerCommand();
  const child = spawn(file, [...lead, ...args], { env: wranglerEnv(), stdio: ["ignore", "pipe", "pipe"], ...options, detached: true });
  running.add(child);
  // "close": its output pipes are shut, so nothing of the group that shared them is left.
  const forget = () => running.delete(child);
  child.once("close", forget);
  child.once("error", forget);
  return child;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): boolean {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
    return true;
  } catch {
    return false; // The group is gone.
  }
}

function hasExited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  });
}

/**
 * Ends a wrangler process group: SIGTERM (wrangler stops workerd itself), then SIGKILL if it has not exited
 * within STOP_GRACE_MS, then SIGKILL to whatever of the group is left (workerd may outlive wrangler a moment).
 */
export async function stopGroup(child: ChildProcess): Promise<void> {
  const exited = hasExited(child);
  for (const signal of ["SIGTERM", "SIGKILL"] as const) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    if (!signalGroup(child, signal)) break;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, STOP_GRACE_MS)))]);
    clearTimeout(timer);
  }
  signalGroup(child, "SIGKILL");
}

/** Ends every wrangler process group this command started that is still running, and waits for each. */
export async function stopAllWrangler(): Promise<void> {
  await Promise.all([...running].map(stopGroup));
}

onInterrupt(stopAllWrangler);

export function runWrangler(args: string[], options: { cwd?: string } = {}): Promise<WranglerResult> {
  return new Promise((resolve, reject) => {
    const child = spawnWrangler(args, options.cwd ? { cwd: options.cwd } : {});
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
