/**
 * `wrangler dev` as a child process for the demo and the tests: loopback only, a port of its own, local
 * state in a folder of its own, its output kept so a Worker log line can be found, and a stop() that ends the
 * whole process group (wrangler, workerd, esbuild) and waits for it.
 *
 * The variables it is given (secrets among them) never go on a command line, where `ps` and /proc show them
 * to every local user: they are written to a `.dev.vars` beside a generated copy of the Wrangler config, in a
 * folder only this user can open, which stop() deletes (also when the start fails or is interrupted).
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { CliError } from "./errors.ts";
import { spawnWrangler, stopGroup } from "./wrangler.ts";

/** The file wrangler dev reads secrets from, beside its config (Cloudflare: local-development/environment-variables). */
const DEV_VARS = ".dev.vars";
/** How long wrangler dev may take to answer: a few seconds usually, over a minute on a loaded 2-core machine. */
const READY_TIMEOUT_MS = 90_000;
/** JSON is a Wrangler config format of its own, so wrangler's parsed TOML can be written back as is. */
const GENERATED_CONFIG = "wrangler.json";
/** Values written between these quotes reach the Worker as they are: dotenv strips the pair and nothing else. */
const QUOTES = ["'", "`"] as const;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface DevServer {
  url: string;
  pid: number;
  /** Every line wrangler dev printed so far (stdout and stderr). */
  lines: string[];
  /** The .dev.vars file holding the variables while the server runs; stop() deletes it. */
  varsFile: string;
  waitForLine(match: (line: string) => boolean, timeoutMs: number): Promise<string | null>;
  stop(): Promise<void>;
}

const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;

/** One `NAME='value'` line of a .dev.vars file; a value dotenv cannot carry unchanged is refused, never altered. */
export function devVarsLine(name: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new CliError(`Cannot pass ${JSON.stringify(name)} to wrangler dev: not a variable name.`);
  const quote = QUOTES.find((q) => !value.includes(q));
  if (quote === undefined || /[\r\n]/.test(value)) {
    throw new CliError(`Cannot pass ${name} to wrangler dev: its value holds a line break or both ' and \`, which a .dev.vars file cannot carry unchanged.`);
  }
  return `${name}=${quote}${value}${quote}`;
}

/** Top-level paths wrangler resolves against the config's folder; the generated copy lives elsewhere, so they are made absolute. */
const PATH_FIELDS = ["main", "base_dir", "tsconfig"] as const;

type RawConfig = Record<string, unknown> & {
  vars?: Record<string, unknown>;
  secrets?: { required?: string[] };
  assets?: { directory?: string };
  build?: { command?: string; cwd?: string; watch_dir?: string | string[] };
  d1_databases?: { migrations_dir?: string }[];
};

/**
 * The project's config as wrangler reads it, with its relative paths made absolute, and every given variable
 * declared: when `secrets.required` is set, wrangler dev loads only those names (and [vars]) from .dev.vars.
 */
function devConfig(raw: RawConfig, configDir: string, names: string[]): RawConfig {
  const config: RawConfig = { ...raw };
  for (const field of PATH_FIELDS) if (typeof raw[field] === "string") config[field] = resolve(configDir, raw[field]);
  if (raw.assets?.directory) config.assets = { ...raw.assets, directory: resolve(configDir, raw.assets.directory) };
  // The build command (the operator page) runs where the project is, whatever folder wrangler is started from.
  if (raw.build?.command) {
    const watch = raw.build.watch_dir ?? "./src";
    config.build = { ...raw.build, cwd: resolve(configDir, raw.build.cwd ?? "."), watch_dir: Array.isArray(watch) ? watch.map((w) => resolve(configDir, w)) : resolve(configDir, watch) };
  }
  if (raw.d1_databases) config.d1_databases = raw.d1_databases.map((d) => (d.migrations_dir ? { ...d, migrations_dir: resolve(configDir, d.migrations_dir) } : d));
  if (raw.secrets?.required) {
    const undeclared = names.filter((n) => !(n in (raw.vars ?? {})) && !raw.secrets?.required?.includes(n));
    config.secrets = { ...raw.secrets, required: [...raw.secrets.required, ...undeclared] };
  }
  return config;
}

/** A folder only this user can open (mkdtemp makes it 0700), holding the generated config and its .dev.vars (0600). */
export async function writePrivateConfig(configPath: string, vars: Record<string, string>): Promise<{ dir: string; configPath: string; devVarsPath: string }> {
  const lines = Object.entries(vars).map(([name, value]) => devVarsLine(name, value));
  const { experimental_readRawConfig } = await import("wrangler");
  let raw: RawConfig;
  try {
    raw = experimental_readRawConfig({ config: configPath }).rawConfig as RawConfig;
  } catch (error) {
    throw new CliError(`Cannot read the Wrangler configuration ${configPath}: ${(error as Error).message}`);
  }
  const config = JSON.stringify(devConfig(raw, dirname(resolve(configPath)), Object.keys(vars)), null, 2);
  const dir = mkdtempSync(join(tmpdir(), "bridge-dev-"));
  const paths = { dir, configPath: join(dir, GENERATED_CONFIG), devVarsPath: join(dir, DEV_VARS) };
  try {
    writeFileSync(paths.devVarsPath, lines.join("\n") + "\n", { mode: 0o600, flag: "wx" });
    writeFileSync(paths.configPath, config, { mode: 0o600, flag: "wx" });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return paths;
}

/**
 * Starts wrangler dev and resolves once GET /health answers. `onSpawn` receives stop() as soon as the process
 * exists, so a caller interrupted during the start-up (Ctrl-C) can still end it.
 */
export async function startDev(options: { configPath: string; persistTo: string; vars: Record<string, string>; readyTimeoutMs?: number; onSpawn?: (stop: () => Promise<void>, varsFile: string) => void }): Promise<DevServer> {
  const port = await freePort();
  const inspectorPort = await freePort();
  const secrets = await writePrivateConfig(options.configPath, options.vars);
  const removeSecrets = () => rmSync(secrets.dir, { recursive: true, force: true });
  // A command that exits without stop() (an uncaught error) still deletes them.
  process.once("exit", removeSecrets);
  const args = [
    "dev", "--config", secrets.configPath, "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort),
    "--persist-to", resolve(options.persistTo), "--show-interactive-dev-session=false", "--log-level", "log",
  ];
  let child: ChildProcess;
  try {
    child = spawnWrangler(args);
  } catch (error) {
    removeSecrets();
    process.off("exit", removeSecrets);
    throw error;
  }
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let buffered = "";
  const onData = (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split("\n");
    buffered = parts.pop() ?? "";
    for (const part of parts) lines.push(part.replace(ANSI, "").trimEnd());
    for (const wake of waiters) wake();
  };
  child.stdout?.setEncoding("utf8").on("data", onData);
  child.stderr?.setEncoding("utf8").on("data", onData);
  let exited = false;
  const ended = () => {
    exited = true;
    for (const wake of waiters) wake();
  };
  child.on("exit", ended);
  // wrangler could not be started at all: there is no process to wait for.
  child.on("error", ended);

  let stopped = false;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      stopped = true;
      try {
        await stopGroup(child);
      } finally {
        removeSecrets();
        process.off("exit", removeSecrets);
      }
    })());

  const waitForLine = (match: (line: string) => boolean, timeoutMs: number) =>
    new Promise<string | null>((resolve) => {
      const check = () => {
        const found = lines.find(match);
        if (found !== undefined || exited) {
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found ?? null);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        resolve(lines.find(match) ?? null);
      }, timeoutMs);
      waiters.add(check);
      check();
    });

  options.onSpawn?.(stop, secrets.devVarsPath);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? READY_TIMEOUT_MS);
  while (true) {
    if (stopped) throw new CliError("wrangler dev was stopped while starting.");
    if (exited) {
      await stop();
      throw new CliError("wrangler dev stopped before it was ready.", { details: lines.slice(-15) });
    }
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new CliError(`wrangler dev was not ready within ${Math.round((options.readyTimeoutMs ?? READY_TIMEOUT_MS) / 1000)} s.`, { details: lines.slice(-15) });
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  return { url, pid: child.pid as number, lines, varsFile: secrets.devVarsPath, waitForLine, stop };
}
