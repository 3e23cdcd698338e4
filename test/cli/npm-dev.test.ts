/**
 * `npm run dev` (cli/dev.ts): the Worker under wrangler dev with every variable of .dev.vars, the optional secrets
 * included (wrangler itself would load only the `[secrets] required` ones), and nothing left behind once stopped.
 */
import { spawn } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../cli/lib/dev.ts";
import { NODE, RETELL_KEY, ROOT, TWILIO_TOKEN, cleanEnv, removeTempDirs, tempDir } from "./helpers.ts";

afterAll(removeTempDirs);

const ADMIN = "local admin token #1!";
/** The generated-config folders in `tmp`: the command gets a temp folder of its own, so other tests' folders never count. */
const generatedDirs = (tmp: string) => readdirSync(tmp).filter((name) => name.startsWith("bridge-dev-"));

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
    const tmp = tempDir("npm-dev-tmp");
    const port = await freePort();
    const inspector = await freePort();
    const child = spawn(
      NODE,
      [join(ROOT, "cli/dev.ts"), "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspector), "--persist-to", join(dir, "state"), "--show-interactive-dev-session=false"],
      { cwd: ROOT, env: cleanEnv({ BRIDGE_DEV_VARS: devVars, TMPDIR: tmp }), stdio: "ignore", detached: true },
    );
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitForHealth(url, 60_000);
      expect((await fetch(`${url}/api/stats`, { headers: { Authorization: `Bearer ${ADMIN}` } })).status).toBe(200);
      expect((await fetch(`${url}/api/stats`, { headers: { Authorization: "Bearer wrong" } })).status).toBe(401);
    } finally {
      process.kill(-(child.pid as number), "SIGTERM");
      await exited;
    }
    expect(generatedDirs(tmp)).toEqual([]);
  }, 90_000);
});
