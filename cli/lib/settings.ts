/**
 * Settings the CLI reads: the environment first, then `.dev.vars` (next to wrangler.toml, as wrangler reads it).
 * `BRIDGE_DEV_VARS` points at another file (tests use it so a developer's own .dev.vars never leaks in).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

export interface Setting {
  value: string;
  source: "environment" | ".dev.vars";
}

/** Parses dotenv-style text: `NAME=value`, `export NAME=value`, `#` comments, single or double quotes. */
export function parseDevVars(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    const name = match[1] as string;
    let value = match[2] as string;
    const quote = value[0];
    if (quote === '"' || quote === "'") {
      let body = value.slice(1);
      // A double-quoted value may span lines until its closing quote.
      while (!body.includes(quote) && quote === '"' && i + 1 < lines.length) body += "\n" + lines[++i];
      const end = body.indexOf(quote);
      value = end === -1 ? body : body.slice(0, end);
      if (quote === '"') value = value.replace(/\\n/g, "\n").replace(/\\"/g, '"');
    } else {
      value = value.replace(/\s+#.*$/, "").trim();
    }
    vars.set(name, value);
  }
  return vars;
}

export function devVarsPath(configPath: string): string {
  return process.env.BRIDGE_DEV_VARS ? resolve(process.env.BRIDGE_DEV_VARS) : join(dirname(resolve(configPath)), ".dev.vars");
}

export class Settings {
  readonly devVarsFile: string;
  #devVars: Map<string, string> | undefined;

  constructor(configPath: string) {
    this.devVarsFile = devVarsPath(configPath);
  }

  #file(): Map<string, string> {
    if (!this.#devVars) {
      this.#devVars = existsSync(this.devVarsFile) ? parseDevVars(readFileSync(this.devVarsFile, "utf8")) : new Map();
    }
    return this.#devVars;
  }

  /** A non-empty setting, with where it came from. */
  get(name: string): Setting | undefined {
    const env = process.env[name];
    if (env !== undefined && env !== "") return { value: env, source: "environment" };
    const file = this.#file().get(name);
    if (file !== undefined && file !== "") return { value: file, source: ".dev.vars" };
    return undefined;
  }

  value(name: string): string | undefined {
    return this.get(name)?.value;
  }
}
