/**
 * Errors the operator can act on, and the process exit codes every command uses (docs/operations.md "Exit codes").
 */
import { note } from "./output.ts";

/** 0: done. 1: a check or an operation failed (Twilio, Retell, wrangler, doctor ✗). 2: bad usage or bad input; nothing was written. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export interface CliErrorOptions {
  exitCode?: number;
  /** One line telling the operator what to do about it. */
  fix?: string;
  /** Extra lines printed under the message (e.g. every invalid row of an import). */
  details?: string[];
}

export class CliError extends Error {
  override name = "CliError";
  exitCode: number;
  fix: string | undefined;
  details: string[];
  constructor(message: string, options: CliErrorOptions = {}) {
    super(message);
    this.exitCode = options.exitCode ?? EXIT.failed;
    this.fix = options.fix;
    this.details = options.details ?? [];
  }
}

/** Bad flags, arguments or input files: exit 2, nothing written. */
export function usageError(message: string, fix?: string, details?: string[]): CliError {
  return new CliError(message, { exitCode: EXIT.usage, ...(fix !== undefined && { fix }), ...(details && { details }) });
}

const interruptHooks = new Set<() => Promise<void> | void>();
let interruptedBy: NodeJS.Signals | undefined;

/** True once Ctrl-C or SIGTERM arrived: from then on the command starts no new process, so none can outlive it. */
export function interrupted(): boolean {
  return interruptedBy !== undefined;
}

/** Runs `hook` when the command is interrupted (Ctrl-C, SIGTERM) before it exits; returns an unregister function. */
export function onInterrupt(hook: () => Promise<void> | void): () => void {
  interruptHooks.add(hook);
  return () => interruptHooks.delete(hook);
}

function handleInterrupt(signal: NodeJS.Signals): void {
  interruptedBy = signal;
  note(`\n${signal}: stopping what this command started…`);
  void Promise.allSettled([...interruptHooks].map(async (hook) => hook())).finally(() => process.exit(130));
}

/**
 * Runs a command's main function: prints a CliError as one clear message (no stack) and sets the exit code.
 * On Ctrl-C or SIGTERM, every onInterrupt hook runs (child processes are stopped) and the exit code is 130.
 */
export async function runMain(main: () => Promise<number | void>): Promise<void> {
  process.once("SIGINT", handleInterrupt);
  process.once("SIGTERM", handleInterrupt);
  try {
    const code = await main();
    process.exitCode = code ?? EXIT.ok;
  } catch (error) {
    if (error instanceof CliError) {
      note(`✗ ${error.message}`);
      for (const line of error.details) note(`  ${line}`);
      if (error.fix) note(`  fix: ${error.fix}`);
      process.exitCode = error.exitCode;
    } else {
      const err = error instanceof Error ? error : new Error(String(error));
      note(`✗ Unexpected error: ${err.message}`);
      if (process.env.BRIDGE_DEBUG) note(err.stack ?? "");
      else note("  (set BRIDGE_DEBUG=1 for the stack trace)");
      process.exitCode = EXIT.failed;
    }
  }
}
