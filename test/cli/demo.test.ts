/**
 * `npm run demo` as an operator runs it on a fresh clone: no credentials, offline. It must exit 0, show the SIP
 * TwiML, both fallbacks and a transfer, and leave no process behind (also when interrupted with Ctrl-C).
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { NODE, ROOT, cleanEnv, runCli } from "./helpers.ts";

/** A bound for a failing run only: the demo takes well under a minute, several on a loaded 2-core machine. */
const DEMO_LIMIT_MS = 240_000;

/** Processes whose command line mentions `text` (read from /proc, so no `ps` is needed). */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(join("/proc", pid, "cmdline"), "utf8").replace(/\0/g, " ");
      if (cmd.includes(text)) found.push(`${pid} ${cmd}`);
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("npm run demo", () => {
  it("exits 0 after a SIP dial, a not-in-service answer, a fallback dial and a transfer that comes back to the agent, and leaves nothing running", async () => {
    const result = await runCli("demo", [], cleanEnv(), DEMO_LIMIT_MS);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toContain("RETELL STAND-IN: a local imitation of Retell's API, NOT the real Retell.");
    expect(result.stdout).toMatch(/<Sip>sip:call_[0-9a-f]{32}@sip\.retellai\.com;transport=tcp<\/Sip>/);
    expect(result.stdout).toMatch(/POST \/v2\/register-phone-call\s+Authorization: Bearer/);
    expect(result.stdout).toContain("<Say>Sorry, the number you have called is not in service. Goodbye.</Say>");
    expect(result.stdout).toContain("<Number>+14155550142</Number>");
    expect(result.stdout).toMatch(/"event":"twilio\.voice".*"outcome":"connected"/);
    expect(result.stdout).toMatch(/"outcome":"fallback_dialed","reason":"retell_unavailable"/);
    // The outbound call: placed through POST /api/calls, created on the Twilio stand-in, registered outbound once answered.
    expect(result.stdout).toMatch(/← HTTP 201 \{"callSid":"CA[0-9a-f]{32}","status":"queued"\}/);
    expect(result.stdout).toContain("Twilio stand-in received POST …/Calls.json");
    expect(result.stdout).toContain('"direction": "outbound"');
    expect(result.stdout).toMatch(/✓ outbound call → placed, then SIP dial once answered: sip:call_[0-9a-f]{32}@sip\.retellai\.com;transport=tcp/);
    // The transfer: the function's answer, Twilio's call update with the whisper, back to the agent, then answered.
    expect(result.stdout).toContain('{"ok":true,"message":"The caller is being put through to sales now."}');
    expect(result.stdout).toMatch(/Twilio stand-in received: POST \/2010-04-01\/Accounts\/AC[0-9a-f]{32}\/Calls\/CA[0-9a-f]{32}\.json/);
    expect(result.stdout).toMatch(/<Number url="http:\/\/[^"]+\/api\/webhooks\/twilio\/transfer-whisper\?line=[^"]+&amp;whisper=[0-9a-f-]+&amp;end=1">\+14155550150<\/Number>/);
    expect(result.stdout).toContain('"transfer_failed": "sales"');
    expect(result.stdout).toContain("<Sip>sip:desk@pbx.example.com</Sip>");
    expect(result.stdout).toMatch(/<Response>\s+<Hangup\/>\s+<\/Response>/);
    // Call 1's events at the local receiver: every one signed and verified with standardwebhooks, in order.
    expect(result.stdout).toMatch(/⇐ msg_[0-9a-f]{32} {2}#1 call\.started\s+signature ✓ verified/);
    expect(result.stdout).toMatch(/#6 call\.ended\s+signature ✓ verified/);
    expect(result.stdout).toContain("✓ call 1's events → your endpoint, in order, every signature verified: call.started, transfer.started, transfer.ended, transfer.started, transfer.ended, call.ended");
    // The busy line: the second caller is held in the line's queue, then connected once the first call's dial ends.
    expect(result.stdout).toMatch(/<Enqueue action="[^"]+\/api\/webhooks\/twilio\/hold-complete\?[^"]+" method="POST" waitUrl="[^"]+\/api\/webhooks\/twilio\/hold\?[^"]+" waitUrlMethod="POST">hold:\+14155550125<\/Enqueue>/);
    expect(result.stdout).toMatch(/✓ line full → second caller held, then connected when the first call ends: sip:call_[0-9a-f]{32}@/);
    // The pre-call hook: the CRM stand-in verified the signed request and the caller's name reached Retell.
    expect(result.stdout).toContain("the CRM stand-in received POST /hooks/crm, signature verified with standardwebhooks");
    expect(result.stdout).toContain('"customer_name": "Ada Lovelace"');
    expect(result.stdout).toContain("✓ pre-call hook → the caller greeted by name (customer_name): Ada Lovelace");
    expect(result.stdout).not.toContain("✗");
    const state = /Local state for this run: (\S+)/.exec(result.stdout)?.[1] as string;
    const pid = Number(/wrangler dev, pid (\d+)/.exec(result.stdout)?.[1]);
    expect(existsSync(state)).toBe(false);
    expect(alive(pid)).toBe(false);
    expect(processesMentioning(state)).toEqual([]);
  }, DEMO_LIMIT_MS + 30_000);

  /** Starts the demo with its output captured. */
  function startDemo() {
    const child = spawn(NODE, [join(ROOT, "cli/demo.ts")], { cwd: ROOT, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    return {
      child,
      exited,
      // The demo's stderr too: a demo that exits on its own before a marker says why there.
      output: () => `${stdout}\n--- stderr ---\n${stderr}`,
      state: () => /Local state for this run: (\S+)/.exec(stdout)?.[1],
      /** True once the demo prints a whole line holding `marker` (so a path printed on it is complete), false if it exits first. */
      printed: (marker: string) =>
        new Promise<boolean>((resolve) => {
          const check = () => stdout.split("\n").slice(0, -1).some((line) => line.includes(marker)) && resolve(true);
          child.stdout.on("data", check);
          check();
          void exited.then(() => resolve(false));
        }),
    };
  }

  /** Each stage of the start-up, by the line the demo prints as it enters it. */
  it.each([
    ["starting the stand-ins", "Local state for this run: "],
    ["seeding local KV", "Seeding local KV"],
    ["applying the D1 migrations", "✓ local KV"],
    ["waiting for wrangler dev to answer", "Starting the Worker with wrangler dev"],
  ])("stops every process it started when interrupted with Ctrl-C while %s", async (_, marker) => {
    const demo = startDemo();
    expect(await demo.printed(marker), demo.output()).toBe(true);
    demo.child.kill("SIGINT");
    const state = demo.state() as string;
    expect(await demo.exited).toBe(130);
    expect(processesMentioning(state)).toEqual([]);
    expect(existsSync(state)).toBe(false);
  }, DEMO_LIMIT_MS + 30_000);

  // Each wrangler is a workerd of its own on the state folder; two opening its SQLite files at once fail with
  // SQLITE_BUSY (seen in CI on a loaded machine when wrangler dev started beside the migrations).
  it("runs no wrangler dev while it applies the D1 migrations", async () => {
    const demo = startDemo();
    expect(await demo.printed("✓ local KV"), demo.output()).toBe(true);
    const running = processesMentioning(demo.state() as string);
    demo.child.kill("SIGINT");
    expect(await demo.exited).toBe(130);
    expect(running.filter((p) => p.includes(" dev "))).toEqual([]);
  }, DEMO_LIMIT_MS + 30_000);

  it("passes its secrets to wrangler dev in a file no command line shows, and deletes it when interrupted with Ctrl-C", async () => {
    const demo = startDemo();
    const deadline = Date.now() + DEMO_LIMIT_MS;
    let config: string | undefined;
    while (Date.now() < deadline && !config) {
      const state = demo.state();
      const wrangler = state ? processesMentioning(state).find((p) => p.includes(" dev ")) : undefined;
      config = wrangler ? /--config (\S+)/.exec(wrangler)?.[1] : undefined;
      if (!config) await new Promise((r) => setTimeout(r, 50));
    }
    expect(config).toBeTruthy();
    const varsFile = join(dirname(config as string), ".dev.vars");
    const secrets = readFileSync(varsFile, "utf8").split("\n").filter((l) => /^(TWILIO_AUTH_TOKEN|RETELL_API_KEY)=/.test(l)).map((l) => l.slice(l.indexOf("=") + 2, -1));
    expect(secrets).toHaveLength(2);
    for (const secret of secrets) expect(processesMentioning(secret)).toEqual([]);
    demo.child.kill("SIGINT");
    expect(await demo.exited).toBe(130);
    expect(existsSync(varsFile)).toBe(false);
  }, DEMO_LIMIT_MS + 30_000);
});
