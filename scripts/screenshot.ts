/**
 * npm run screenshot: refreshes the README's pictures of the operator page (docs/admin-page.png, and a call's
 * timeline in docs/admin-page-timeline.png) with the demo's data: runs `npm run demo -- --keep`, signs in with the
 * token it prints, takes the pictures in headless Chromium (scripts/lib/browser.ts), then stops the demo (Ctrl-C).
 */
import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CONTEXT_OPTIONS, DESKTOP, launchChromium } from "./lib/browser.ts";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
/** The demo starts wrangler dev and places its calls first. */
const DEMO_TIMEOUT_MS = 180_000;
/** Tall enough for the overview and the charts above the fold. */
const VIEW = { width: DESKTOP.width, height: 1100 };

const demo = spawn(process.execPath, [join(ROOT, "cli/demo.ts"), "--keep", "--stand-in"], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
const exited = new Promise<number | null>((done) => demo.on("exit", (code) => done(code)));
let output = "";
demo.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));

async function waitForPage(): Promise<{ url: string; token: string }> {
  const deadline = Date.now() + DEMO_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const url = /Operator page: (\S+)/.exec(output)?.[1];
    const token = /Admin token:\s+(\S+)/.exec(output)?.[1];
    if (url && token) return { url, token };
    if (demo.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the demo did not print the operator page's address:\n${output.slice(-2000)}`);
}

try {
  const { url, token } = await waitForPage();
  const browser = await launchChromium();
  try {
    const page = await (await browser.newContext({ ...CONTEXT_OPTIONS, viewport: VIEW })).newPage();
    await page.goto(url);
    await page.getByLabel("Admin token").fill(token);
    await page.getByRole("button", { name: "Show calls" }).click();
    await page.locator("#app").waitFor();
    await page.locator("#status:empty").waitFor({ state: "attached" });
    await page.screenshot({ path: join(ROOT, "docs/admin-page.png") });
    // The call that was transferred twice has the longest story.
    await page.locator("#calls-table tbody tr").last().locator("[data-open]").click();
    await page.locator("#timeline").waitFor();
    await page.locator("#timeline").screenshot({ path: join(ROOT, "docs/admin-page-timeline.png") });
    console.log("docs/admin-page.png and docs/admin-page-timeline.png refreshed.");
  } finally {
    await browser.close();
  }
} finally {
  demo.kill("SIGINT");
  await exited;
}
