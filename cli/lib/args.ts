/**
 * Command-line parsing with node:util parseArgs in strict mode: an unknown flag, a missing value or a stray
 * argument is a usage error (exit 2) that names it, never silently ignored.
 */
import { parseArgs } from "node:util";
import { EXIT, usageError } from "./errors.ts";
import { out } from "./output.ts";

export type FlagSpec = Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }>;

type FlagValue<S extends FlagSpec[string]> = S["type"] extends "boolean"
  ? S["multiple"] extends true ? boolean[] : boolean
  : S["multiple"] extends true ? string[] : string;

export type Flags<S extends FlagSpec> = { [K in keyof S]?: FlagValue<S[K]> };

export interface Parsed<S extends FlagSpec> {
  flags: Flags<S>;
  positionals: string[];
}

interface NodeError extends Error {
  code?: string;
}

/** Parses `argv` against `spec`; `help` (-h/--help) is always accepted. `command` names the command in messages. */
export function parseFlags<S extends FlagSpec>(argv: string[], spec: S, command: string): Parsed<S> & { help: boolean } {
  const options = { ...spec, help: { type: "boolean", short: "h" } } as const;
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
    const { help, ...flags } = values as Record<string, unknown>;
    return { flags: flags as Flags<S>, positionals, help: help === true };
  } catch (error) {
    const err = error as NodeError;
    const flag = /'([^']+)'/.exec(err.message)?.[1];
    const hint = `run \`${command} --help\` for the flags it takes`;
    if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw usageError(`Unknown flag ${flag ?? ""} for \`${command}\`.`.replace("  ", " "), hint);
    if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      throw usageError(`Flag ${flag?.split(" ")[0] ?? ""} of \`${command}\` ${/argument missing/.test(err.message) ? "needs a value" : "takes no value"}.`, hint);
    }
    throw usageError(`${err.message} (\`${command}\`)`, hint);
  }
}

/** Exactly `count` positional arguments, named in the error by `names`. */
export function expectPositionals(positionals: string[], names: string[], command: string, optional = 0): string[] {
  const min = names.length - optional;
  if (positionals.length < min) {
    throw usageError(`\`${command}\` needs ${names.slice(positionals.length, min).map((n) => `<${n}>`).join(" ")}.`, `usage: ${command} ${names.map((n, i) => (i >= min ? `[${n}]` : `<${n}>`)).join(" ")}`);
  }
  if (positionals.length > names.length) {
    throw usageError(`Unexpected argument "${positionals[names.length]}" for \`${command}\`.`, `usage: ${command} ${names.map((n, i) => (i >= min ? `[${n}]` : `<${n}>`)).join(" ")}`);
  }
  return positionals;
}

/**
 * The subcommand named first in `argv`, one of `names`. With none, `--help`, `-h` or `help`, prints `usage` and
 * returns the exit code instead (2 when nothing was given, 0 when help was asked for); an unknown one is a usage error.
 */
export function subcommand<T extends string>(argv: string[], names: readonly T[], program: string, usage: string): { command: T; rest: string[] } | number {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    out(usage);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  if (!(names as readonly string[]).includes(command)) {
    throw usageError(`Unknown command "${command}" for \`${program}\`.`, `one of: ${names.join(", ")} (${program} -- --help)`);
  }
  return { command: command as T, rest };
}
