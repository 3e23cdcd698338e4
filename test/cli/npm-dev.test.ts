/**
 * `npm run dev` (cli/dev.ts): the Worker under wrangler dev with every variable of .dev.vars, the optional secrets
 * included (wrangler itself would load only the `[secrets] required` ones), and nothing left behind once stopped.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../cli/lib/dev.ts";
import { NODE, RETELL_KEY, ROOT, TWILIO_TOKEN, cleanEnv, removeTempDirs, tempDir } from "./helpers.ts";

afterAll(removeTempDirs);

const ADMIN = "local admin token #1!";

/**
 * The folder of the config generated for the wrangler dev that keeps its state in `state` (read from its
 * command line in /proc): this run's own, whatever other runs on the machine create beside it.
 */
function generatedDir(state: string): string | undefined {
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(join("/proc", pid, "cmdline"), "utf8").split("\0");
      const config = cmd[cmd.indexOf("--config") + 1];
      if (cmd.includes("dev") && cmd.includes(state) && cmd.includes("--config") && config) return dirname(config);
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined;
}

async function waitForHealth(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`wrangler dev did not answer at ${url} within ${timeoutMs} ms`);
}

describe("npm run dev", () => {
  it("gives the Worker ADMIN_TOKEN from .dev.vars, and removes its generated config when stopped", async () => {
    const dir = tempDir("npm-dev");
    const devVars = join(dir, ".dev.vars");
    writeFileSync(devVars, `TWILIO_AUTH_TOKEN=${TWILIO_TOKEN}\nRETELL_API_KEY=${RETELL_KEY}\nADMIN_TOKEN='${ADMIN}'\n`);
    const port = await freePort();
    const inspector = await freePort();
    const child = spawn(
      NODE,
      [join(ROOT, "cli/dev.ts"), "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspector), "--persist-to", join(dir, "state"), "--show-interactive-dev-session=false"],
      { cwd: ROOT, env: cleanEnv({ BRIDGE_DEV_VARS: devVars }), stdio: "ignore", detached: true },
    );
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    let generated: string | undefined;
    try {
      const url = `http://127.0.0.1:${port}`;
      // A bound for a failing run only, as long as wrangler dev's own start-up allows (cli/lib/dev.ts).
      await waitForHealth(url, 90_000);
      expect((await fetch(`${url}/api/stats`, { headers: { Authorization: `Bearer ${ADMIN}` } })).status).toBe(200);
      expect((await fetch(`${url}/api/stats`, { headers: { Authorization: "Bearer wrong" } })).status).toBe(401);
      generated = generatedDir(join(dir, "state"));
      expect(generated).toMatch(/bridge-dev-/);
      expect(existsSync(generated as string)).toBe(true);
    } finally {
      process.kill(-(child.pid as number), "SIGTERM");
      await exited;
    }
    expect(existsSync(generated as string)).toBe(false);
  }, 150_000);
});
