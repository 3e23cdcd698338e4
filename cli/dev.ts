/**
 * npm run dev: applies the local D1 migrations, then runs the Worker under wrangler dev (http://localhost:8787),
 * with every variable of .dev.vars.
 *
 * wrangler dev loads from .dev.vars only the names listed in wrangler.toml's `[secrets] required`
 * (developers.cloudflare.com/workers/local-development/environment-variables), so the optional secrets
 * (ADMIN_TOKEN, CALLS_TOKEN, TWILIO_AUTH_TOKEN_SECONDARY) would silently be dropped. They are handed over the way the demo
 * does it (cli/lib/dev.ts): a private copy of the config that declares them, beside a private .dev.vars, both
 * deleted when wrangler dev stops. Arguments after `--` go to wrangler dev (`npm run dev -- --port 9000`).
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { DEFAULT_CONFIG } from "./lib/config.ts";
import { writePrivateConfig } from "./lib/dev.ts";
import { onInterrupt, runMain } from "./lib/errors.ts";
import { note } from "./lib/output.ts";
import { devVarsPath, parseDevVars } from "./lib/settings.ts";
import { runWrangler, wranglerCommand, wranglerEnv } from "./lib/wrangler.ts";

/** Where wrangler dev keeps local state by default, beside the project's config; kept so `--local` commands share it. */
const STATE_DIR = ".wrangler/state";

async function main(argv: string[]): Promise<number> {
  const configPath = resolve(DEFAULT_CONFIG);
  // The state folder both steps use: the one given after `--`, else the project's.
  const given = argv.indexOf("--persist-to");
  const state = given >= 0 && argv[given + 1] ? resolve(argv[given + 1] as string) : join(dirname(configPath), STATE_DIR);
  const devArgs = given >= 0 ? argv.filter((_, i) => i !== given && i !== given + 1) : argv;
  const migrate = await runWrangler(["d1", "migrations", "apply", "DB", "--local", "--config", configPath, "--persist-to", state]);
  if (migrate.code !== 0) {
    note(migrate.stderr || migrate.stdout);
    return migrate.code;
  }
  const file = devVarsPath(configPath);
  const vars = existsSync(file) ? Object.fromEntries(parseDevVars(readFileSync(file, "utf8"))) : {};
  if (!existsSync(file)) note(`No ${file}: the Worker runs without secrets (copy .dev.vars.example to start).`);
  const generated = await writePrivateConfig(configPath, vars);
  const remove = () => rmSync(generated.dir, { recursive: true, force: true });
  process.once("exit", remove);
  const { file: program, args } = wranglerCommand();
  const child = spawn(program, [...args, "dev", "--config", generated.configPath, "--persist-to", state, ...devArgs], {
    env: { ...wranglerEnv(), CI: process.env.CI ?? "" },
    stdio: "inherit",
  });
  // Ctrl-C reaches wrangler dev through the terminal too; a SIGTERM to this process is passed on.
  onInterrupt(() => {
    child.kill("SIGTERM");
  });
  const code = await new Promise<number>((done) => child.on("exit", (c) => done(c ?? 130)));
  remove();
  return code;
}

await runMain(() => main(process.argv.slice(2)));
