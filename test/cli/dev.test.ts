/**
 * `wrangler dev` as the demo, the doctor test and the load script start it (cli/lib/dev.ts): the variables it
 * is given, secrets among them, reach the Worker unchanged and never appear on a command line that `ps` or
 * /proc shows to other local users; the file that carries them is private and gone once the server stops.
 */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { devVarsLine, startDev, type DevServer } from "../../cli/lib/dev.ts";
import { inboundCallParams, sendWebhook, signedWebhook, sipTarget } from "../../cli/lib/webhook.ts";
import { wrangler } from "../../cli/lib/wrangler.ts";
import { startRetellStandIn, type RetellStandIn } from "../../stand-ins/retell.ts";
import { ROOT, TWILIO_SID, openLocalKv, removeTempDirs, tempDir } from "./helpers.ts";

const CONFIG = join(ROOT, "wrangler.toml");
/** Made-up secrets with what a shell or a dotenv file would mangle: quotes, $, #, spaces. */
const SECRETS = {
  TWILIO_AUTH_TOKEN: "test_twilio_token_dev 'quoted' $HOME #not-a-comment",
  RETELL_API_KEY: 'key_test_dev_"double" ${PATH} `tick`',
  ADMIN_TOKEN: "test_admin_token_dev_0123456789",
};
const MAPPED = "+61341517921";

/** wrangler dev and every process under it: its process group and its descendants, by /proc. */
function processTree(root: number): { pid: number; cmdline: string }[] {
  const parents = new Map<number, number>();
  const groups = new Map<number, number>();
  for (const entry of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(join("/proc", entry, "stat"), "utf8");
      const [, ppid, pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parents.set(Number(entry), Number(ppid));
      groups.set(Number(entry), Number(pgrp));
    } catch {
      // The process ended while we looked.
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parents.get(p)) if (p === root) return true;
    return groups.get(pid) === root;
  };
  const tree: { pid: number; cmdline: string }[] = [];
  for (const pid of parents.keys()) {
    if (!inTree(pid)) continue;
    try {
      tree.push({ pid, cmdline: readFileSync(join("/proc", String(pid), "cmdline"), "utf8").replace(/\0/g, " ") });
    } catch {
      // Ended meanwhile.
    }
  }
  return tree;
}

describe("startDev", () => {
  const dir = tempDir("dev");
  let retell: RetellStandIn;
  let dev: DevServer;

  beforeAll(async () => {
    retell = await startRetellStandIn({ apiKey: SECRETS.RETELL_API_KEY });
    const store = await openLocalKv(dir);
    await store.seed({ [MAPPED]: "agent_devSecrets" });
    await store.dispose();
    await wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", dir, "--config", CONFIG], "Applying D1 migrations locally");
    dev = await startDev({ configPath: CONFIG, persistTo: dir, vars: { ...SECRETS, RETELL_BASE_URL: retell.url } });
  });

  afterAll(async () => {
    await dev?.stop();
    await retell?.close();
    removeTempDirs();
  });

  it("puts no variable's value on the command line of wrangler dev or of any process it starts (workerd)", () => {
    const tree = processTree(dev.pid);
    expect(tree.map((p) => p.pid)).toContain(dev.pid);
    expect(tree.some((p) => /workerd/.test(p.cmdline))).toBe(true);
    for (const value of Object.values(SECRETS)) {
      expect(tree.filter((p) => p.cmdline.includes(value))).toEqual([]);
    }
  });

  it("prints no secret's value in wrangler dev's output", () => {
    for (const value of Object.values(SECRETS)) expect(dev.lines.filter((l) => l.includes(value))).toEqual([]);
  });

  it("keeps the variables in a file only this user can read, in a folder only this user can open", () => {
    expect(statSync(dev.varsFile).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(dev.varsFile)).mode & 0o777).toBe(0o700);
  });

  it("hands the Worker the auth token and the Retell key exactly as given, quotes, $ and # included", async () => {
    const webhook = signedWebhook({ url: `${dev.url}/api/webhooks/twilio`, authToken: SECRETS.TWILIO_AUTH_TOKEN, params: inboundCallParams({ from: "+14155550199", to: MAPPED, accountSid: TWILIO_SID }) });
    const answer = await sendWebhook(webhook);
    expect(answer.status, answer.text).toBe(200);
    expect(sipTarget(answer.text)).toMatch(/^sip:call_[0-9a-f]{32}@/);
    expect(retell.requests.find((r) => r.path === "/v2/register-phone-call")?.headers.authorization).toBe(`Bearer ${SECRETS.RETELL_API_KEY}`);
  });

  it("hands the Worker an optional secret that wrangler.toml does not list as required (ADMIN_TOKEN)", async () => {
    const res = await fetch(`${dev.url}/api/calls`, { headers: { Authorization: `Bearer ${SECRETS.ADMIN_TOKEN}` } });
    expect(res.status, await res.text()).toBe(200);
  });

  it("deletes the file and its folder when stopped", async () => {
    await dev.stop();
    expect(existsSync(dev.varsFile)).toBe(false);
    expect(existsSync(dirname(dev.varsFile))).toBe(false);
  });
});

describe("startDev when wrangler dev does not come up", () => {
  it("deletes the file when the start times out", async () => {
    let varsFile = "";
    const starting = startDev({ configPath: CONFIG, persistTo: tempDir("dev-timeout"), vars: SECRETS, readyTimeoutMs: 1, onSpawn: (_, file) => (varsFile = file) });
    await expect(starting).rejects.toThrow("wrangler dev was not ready within");
    expect(varsFile).not.toBe("");
    expect(existsSync(varsFile)).toBe(false);
  });
});

describe("devVarsLine", () => {
  it.each([
    ["a line break", "a\nb"],
    ["a carriage return", "a\rb"],
    ["both ' and `", "it's `here`"],
  ])("refuses a value with %s, without quoting it", (_, value) => {
    let message = "";
    try {
      devVarsLine("RETELL_API_KEY", value);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^Cannot pass RETELL_API_KEY to wrangler dev: its value holds/);
    expect(message).not.toContain(value);
  });
});
