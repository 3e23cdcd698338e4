/**
 * `wrangler dev` as a child process for the demo and the tests: loopback only, a port of its own, local
 * state in a folder of its own, its output kept so a Worker log line can be found, and a stop() that ends the
 * whole process group (wrangler, workerd, esbuild) and waits for it.
 */
import type { ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { CliError } from "./errors.ts";
import { spawnWrangler } from "./wrangler.ts";

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
  waitForLine(match: (line: string) => boolean, timeoutMs: number): Promise<string | null>;
  stop(): Promise<void>;
}

const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;

/**
 * Starts wrangler dev and resolves once GET /health answers. `onSpawn` receives stop() as soon as the process
 * exists, so a caller interrupted during the start-up (Ctrl-C) can still end it.
 */
export async function startDev(options: { configPath: string; persistTo: string; vars: Record<string, string>; readyTimeoutMs?: number; onSpawn?: (stop: () => Promise<void>) => void }): Promise<DevServer> {
  const port = await freePort();
  const inspectorPort = await freePort();
  const args = [
    "dev", "--config", options.configPath, "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort),
    "--persist-to", options.persistTo, "--show-interactive-dev-session=false", "--log-level", "log",
    ...Object.entries(options.vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
  ];
  const child: ChildProcess = spawnWrangler(args, { detached: true });
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
  const exit = new Promise<void>((resolve) => child.on("exit", () => {
    exited = true;
    for (const wake of waiters) wake();
    resolve();
  }));

  let stopped = false;
  const stop = async () => {
    stopped = true;
    if (child.pid === undefined) return;
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      if (exited) break;
      try {
        process.kill(-child.pid, signal);
      } catch {
        break; // The group is gone.
      }
      await Promise.race([exit, new Promise((r) => setTimeout(r, 3_000))]);
    }
    // workerd may outlive wrangler for a moment: end what is left of the group.
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // Nothing left.
    }
  };

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

  options.onSpawn?.(stop);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 45_000);
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
      throw new CliError(`wrangler dev was not ready within ${Math.round((options.readyTimeoutMs ?? 45_000) / 1000)} s.`, { details: lines.slice(-15) });
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  return { url, pid: child.pid as number, lines, waitForLine, stop };
}
