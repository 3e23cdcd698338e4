/// <reference lib="dom" />
/**
 * The operator page (/admin) as a person uses it: the Worker under `wrangler dev` (which builds the page with
 * wrangler.toml's [build] command and serves it as static assets; the Workers test pool cannot serve assets),
 * seeded with the statistics data set (test/stats-data.ts), opened in headless Chromium (scripts/lib/browser.ts).
 * The tests run in order on one page, as one operator's session: sign in, filter, page, open a call.
 * Screenshots at desktop and phone widths go to test-results/admin-page/ (docs/admin-page.md).
 */
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDev, type DevServer } from "../../cli/lib/dev.ts";
import { sqlLiteral, type SqlValue } from "../../src/records/sql.ts";
import type { AgentStats } from "../../src/records/stats.ts";
import { failureResponse } from "../../src/errors.ts";
import { CONTEXT_OPTIONS, DESKTOP, launchChromium, PHONE } from "../../scripts/lib/browser.ts";
import { STATS_ROWS, STATS_SINCE, STATS_UNTIL } from "../stats-data.ts";
import { transferAttempt } from "../transfer-attempt.ts";
import { NODE, RETELL_KEY, ROOT, TWILIO_TOKEN, WRANGLER_JS, cleanEnv, removeTempDirs, tempDir } from "../cli/helpers.ts";

const exec = promisify(execFile);
const ADMIN_TOKEN = "test_page_admin_token_0123456789";
export const SCREENSHOTS = join(ROOT, "test-results", "admin-page");
/** Starting wrangler dev (its build included) and the browser on a busy 2-core machine. */
const START_TIMEOUT_MS = 180_000;

const T = Date.parse("2026-11-19T12:00:00Z");
const TIMELINE_SID = `CA${"f".repeat(32)}`;
const XSS_SID = `CA${"e".repeat(32)}`;
const SCRIPT = `<script>document.title="owned"</script>`;
const IMG = `<img src=x onerror="document.title='owned'">`;

/** One call with every step a call can have: registration on the second try, a transfer nobody answered, Retell's analysis. */
const TIMELINE_ROW = {
  call_sid: TIMELINE_SID, created_at: T, agent_key: "+61341510001", retell_agent_id: "agent_alpha", from_number: "+14155550199", to_number: "+61341510001",
  outcome: "connected", retell_call_id: "call_timeline", retell_register_ms: 180, retell_register_attempts: 2, voice_received_at: T, voice_answered_at: T + 200,
  retell_started_at: T + 1_500, retell_ended_at: T + 60_400, disconnection_reason: "call_transfer", retell_event_at: T + 65_000,
  call_summary: "The caller asked about a bill.", user_sentiment: "Positive", call_successful: 1,
  dial_status: "completed", dial_sip_code: 200, dial_duration_s: 58, dial_ended_at: T + 60_500,
  twilio_status: "completed", twilio_status_at: T + 120_000, twilio_ended_at: T + 120_000, duration_s: 120,
  transfers: JSON.stringify([transferAttempt({ requestedAt: T + 60_000, retellCallId: "call_timeline", update: "accepted", dialStatus: "no-answer", dialEndedAt: T + 80_000, returnRetellCallId: "call_back" })]),
};
/** Markup where a caller's number and a Retell summary go: it must show as text. */
const XSS_ROW = { call_sid: XSS_SID, created_at: T + 5, agent_key: "+61341510001", retell_agent_id: "agent_alpha", from_number: SCRIPT, to_number: "+61341510001", outcome: "connected", call_summary: IMG, retell_ended_at: T + 9_000 };

/** The timeline call's events as its endpoints received them: delivered, retrying after 503s, and refused with a 410 (the endpoint turned off). */
const DELIVERY_ROWS = [
  { event_id: "msg_started", endpoint_id: "crm", call_sid: TIMELINE_SID, sequence: 1, type: "call.started", state: "delivered", attempts: 1, last_status: 200, created_at: T + 200, updated_at: T + 450, delivered_at: T + 450 },
  { event_id: "msg_started", endpoint_id: "warehouse", call_sid: TIMELINE_SID, sequence: 1, type: "call.started", state: "pending", attempts: 3, last_status: 503, last_error: "HTTP 503", next_attempt_at: T + 300_000, created_at: T + 200, updated_at: T + 70_000 },
  { event_id: "msg_ended", endpoint_id: "crm", call_sid: TIMELINE_SID, sequence: 2, type: "call.ended", state: "failed", attempts: 1, last_status: 410, last_error: "410 Gone: endpoint turned off", created_at: T + 120_000, updated_at: T + 121_000 },
  // Markup where an endpoint id and an event type go (D1 holds whatever was written): it must show as text.
  { event_id: "msg_xss", endpoint_id: IMG, call_sid: XSS_SID, sequence: 1, type: SCRIPT, state: "failed", attempts: 2, last_status: 500, last_error: SCRIPT, created_at: T + 6_000, updated_at: T + 8_000 },
];

let dev: DevServer | undefined;
let browser: Browser | undefined;
let context: BrowserContext;
let page: Page;
const consoleErrors: string[] = [];
const REFUSED = "Failed to load resource: the server responded with a status of 401 (Unauthorized)";
const violations: string[] = [];

async function rawD1(args: string[], persistTo: string): Promise<void> {
  await exec(NODE, [WRANGLER_JS, "d1", ...args, "--local", "--persist-to", persistTo], { cwd: ROOT, env: { ...cleanEnv(), CI: "true", WRANGLER_SEND_METRICS: "false" } });
}

async function seed(persistTo: string): Promise<void> {
  await rawD1(["migrations", "apply", "DB"], persistTo);
  const insert = (table: string, row: Record<string, SqlValue | undefined>) => {
    const columns = Object.keys(row);
    return `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map((c) => sqlLiteral(row[c] ?? null)).join(", ")});`;
  };
  const inserts = [
    ...[...STATS_ROWS, TIMELINE_ROW, XSS_ROW].map((row) => insert("calls", { ...row, updated_at: row.created_at })),
    ...DELIVERY_ROWS.map((row) => insert("deliveries", row)),
  ];
  const file = join(tempDir("page-seed"), "seed.sql");
  writeFileSync(file, inserts.join("\n"));
  await rawD1(["execute", "DB", "--file", file, "--yes"], persistTo);
}

async function api<T>(pathAndQuery: string): Promise<T> {
  const res = await fetch(`${dev?.url}${pathAndQuery}`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

/** A number as en-US writes it (the browser's locale here): 8000 → 8,000. */
const n = (value: number | null) => value?.toLocaleString("en-US");
const figure = (key: string) => page.locator(`[data-figure="${key}"]`).textContent();
const rowSids = () => page.locator("#calls-table tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-call")));

async function applyFilters(filters: { agent?: string }): Promise<void> {
  await page.selectOption("#period", "dates");
  await page.fill("#since", STATS_SINCE);
  await page.fill("#until", STATS_UNTIL);
  await page.fill("#agent", filters.agent ?? "");
  await page.click("#filters button[type=submit]");
  await page.locator("#status:empty").waitFor({ state: "attached" });
}

beforeAll(async () => {
  const persistTo = tempDir("page");
  await seed(persistTo);
  dev = await startDev({ configPath: join(ROOT, "wrangler.toml"), persistTo, readyTimeoutMs: START_TIMEOUT_MS, vars: { TWILIO_AUTH_TOKEN: TWILIO_TOKEN, RETELL_API_KEY: RETELL_KEY, ADMIN_TOKEN } });
  browser = await launchChromium();
  context = await browser.newContext({ ...CONTEXT_OPTIONS, viewport: DESKTOP });
  page = await context.newPage();
  page.on("console", (message) => {
    // The wrong token is refused on purpose (below), and Chromium logs every refused request as an error.
    if (message.type() === "error" && message.text() !== REFUSED) consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => consoleErrors.push(error.message));
  await page.exposeFunction("reportViolation", (directive: string) => violations.push(directive));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event: SecurityPolicyViolationEvent) => (window as unknown as { reportViolation(d: string): void }).reportViolation(`${event.violatedDirective} ${event.blockedURI}`));
  });
  mkdirSync(SCREENSHOTS, { recursive: true });
}, START_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
  removeTempDirs();
});

describe("the operator page", () => {
  it("is served at /admin with a strict CSP, nosniff and no referrer", async () => {
    const res = await fetch(`${dev?.url}/admin`);
    expect(res.status).toBe(200);
    const csp = res.headers.get("Content-Security-Policy") ?? "";
    for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) expect(csp).toContain(directive);
    expect(csp).not.toContain("unsafe-inline");
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
    expect(await res.text()).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|\sstyle=|\son[a-z]+=/i);
  });

  it("asks for the token (focused, submitted with Enter), and brings the prompt back with one sentence after a wrong one", async () => {
    await page.goto(`${dev?.url}/admin`);
    await expect.poll(() => page.locator("#login").isVisible()).toBe(true);
    // By keyboard: the prompt has the focus, Enter submits.
    await page.keyboard.type("not-the-token");
    await page.keyboard.press("Enter");
    await expect.poll(() => page.locator("#login-message").textContent()).toBe("That token was not accepted: enter the ADMIN_TOKEN set on this Worker.");
    expect(await page.locator("#app").isVisible()).toBe(false);
    expect(await page.evaluate(() => sessionStorage.getItem("bridge-admin-token"))).toBeNull();
  });

  it("shows the figures of GET /api/stats for the same filters, for all agents and for one", async () => {
    await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
    await page.getByRole("button", { name: "Show calls" }).click();
    await page.locator("#app").waitFor();
    for (const agent of [undefined, "agent_alpha"]) {
      await applyFilters({ agent });
      const stats = await api<{ agents: AgentStats[] }>(`/api/stats?since=${STATS_SINCE}&until=${STATS_UNTIL}&group=all${agent ? `&agent=${agent}` : ""}`);
      const t = (stats.agents[0] as AgentStats).total;
      expect(await figure("calls")).toBe(String(t.calls));
      expect([await figure("connected"), await figure("fallbacks"), await figure("blocked"), await figure("rateLimited"), await figure("afterHours"), await figure("missed")]).toEqual(
        [t.connected, t.fallbacks, t.blocked, t.rateLimited, t.afterHours, t.missed].map(String),
      );
      expect(await figure("answerRate")).toBe(`${((t.answerRate ?? 0) * 100).toFixed(1)}% (${t.answered} answered)`);
      expect(await figure("duration")).toBe(`${n(t.durationS.p50)} s / ${n(t.durationS.p95)} s`);
      expect(await figure("registration")).toBe(`${n(t.retellRegisterMs.p50)} ms / ${n(t.retellRegisterMs.p95)} ms`);
      expect(await figure("transfers")).toBe(`${t.transfers.made} / ${t.transfers.answered} / ${t.transfers.failed}`);
      const reasons = await page.locator("#failures li").evaluateAll((items) => Object.fromEntries(items.map((i) => [i.getAttribute("data-reason"), Number(/(\d+)$/.exec(i.textContent ?? "")?.[1])])));
      expect(reasons).toEqual(t.failures);
    }
  });

  it("draws something in each of its four charts", async () => {
    await applyFilters({});
    const charts = await page.locator("[data-chart]").evaluateAll((blocks) => blocks.map((b) => [b.getAttribute("data-chart"), b.querySelectorAll("svg .mark").length]));
    expect(charts.map(([name]) => name)).toEqual(["outcomes", "answer-rate", "registration", "reasons"]);
    for (const [name, marks] of charts) expect(marks, `${name} has marks`).toBeGreaterThan(0);
  });

  it("pages through the calls with the cursor: the older page holds other calls, and Newest comes back", async () => {
    const first = await rowSids();
    expect(first).toHaveLength(25);
    await page.getByRole("button", { name: "Older calls" }).click();
    await expect.poll(rowSids).not.toEqual(first);
    const second = await rowSids();
    expect(second.length).toBeGreaterThan(0);
    expect(second.filter((sid) => first.includes(sid))).toEqual([]);
    await page.getByRole("button", { name: "Newest" }).click();
    await expect.poll(rowSids).toEqual(first);
  });

  it("filtering by agent shows that agent's calls alone", async () => {
    await applyFilters({ agent: "agent_twenty" });
    const agents = await page.locator("#calls-table tbody tr td:nth-child(5)").allTextContents();
    expect(agents).toHaveLength(20);
    expect(new Set(agents)).toEqual(new Set(["agent_twenty"]));
  });

  it("says in words that there is nothing to show when no call matches", async () => {
    await applyFilters({ agent: "agent_nobody" });
    expect(await page.locator("#overview-empty").isVisible()).toBe(true);
    expect(await page.locator("#calls-empty").textContent()).toBe("No calls match these filters.");
    expect(await page.locator("#chart-list svg").count()).toBe(0);
  });

  it("opens a call's timeline from the keyboard: every step in order, each with its time of day", async () => {
    await applyFilters({ agent: "agent_alpha" });
    // By keyboard: the call's button takes Enter, and the timeline takes the focus.
    await page.locator(`[data-open="${TIMELINE_SID}"]`).focus();
    await page.keyboard.press("Enter");
    await page.locator("#timeline").waitFor();
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe("timeline");
    const steps = await page.locator("#timeline-steps > li").evaluateAll((items) => items.map((i) => `${i.querySelector("time")?.textContent} ${i.querySelector(".step-title")?.textContent}`));
    expect(steps).toEqual([
      "12:00:00 Twilio's voice webhook received",
      "12:00:00 Registered with Retell",
      "12:00:00 Decision: connected",
      "12:00:00 Event call.started to endpoint crm: delivered",
      "12:00:01 Retell: call started",
      "12:01:00 Transfer 1 to sales requested by the agent",
      "12:01:00 Retell: call ended",
      "12:01:00 SIP dial ended: completed",
      "12:01:05 Retell: call analysed",
      "12:01:10 Event call.started to endpoint warehouse: retrying",
      "12:01:20 Transfer 1 to sales ended: no-answer",
      "12:02:00 Twilio: completed",
      "12:02:01 Event call.ended to endpoint crm: disabled",
    ]);
    expect(await page.locator("#timeline-steps").textContent()).toContain("2 attempts");
    expect(await page.locator("#timeline-steps").textContent()).toContain("summary: The caller asked about a bill.");
    expect(await page.locator("#timeline-steps").textContent()).toContain("back to the agent on Retell call call_back");
    const deliveries = await page.locator('#timeline-steps > li[data-kind="delivery"] ul').evaluateAll((lists) => lists.map((l) => Array.from(l.children, (i) => i.textContent)));
    expect(deliveries).toEqual([
      ["1 attempt", "last HTTP status 200", "event msg_started"],
      ["3 attempts", "last HTTP status 503", "last error: HTTP 503", "next attempt at 12:05:00", "event msg_started"],
      ["1 attempt", "last HTTP status 410", "last error: 410 Gone: endpoint turned off", "event msg_ended"],
    ]);
  });

  it("shows markup in a record as text: a <script> caller, an <img> summary, a delivery's <script> event type and <img> endpoint", async () => {
    await page.getByRole("button", { name: "Back to the calls" }).click();
    const row = page.locator(`#calls-table tr[data-call="${XSS_SID}"]`);
    expect(await row.locator("td:nth-child(3)").textContent()).toBe(SCRIPT);
    await row.locator("[data-open]").click();
    await expect.poll(() => page.locator("#timeline-steps").textContent()).toContain(`summary: ${IMG}`);
    expect(await page.locator('#timeline-steps > li[data-kind="delivery"] .step-title').textContent()).toBe(`Event ${SCRIPT} to endpoint ${IMG}: failed`);
    expect(await page.locator("#timeline-steps").textContent()).toContain(`last error: ${SCRIPT}`);
    expect(await page.locator("main script, main img").count()).toBe(0);
    expect(await page.title()).not.toBe("owned");
  });

  it("keeps nothing in the browser but the token in sessionStorage", async () => {
    const kept = await page.evaluate(() => ({ session: Object.keys(sessionStorage), local: Object.keys(localStorage), cookies: document.cookie }));
    expect(kept).toEqual({ session: ["bridge-admin-token"], local: [], cookies: "" });
  });

  it("is readable at 375 px wide: nothing wider than the screen; screenshots at desktop and phone widths", async () => {
    await applyFilters({});
    await page.screenshot({ path: join(SCREENSHOTS, "desktop.png"), fullPage: true });
    await page.setViewportSize(PHONE);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await page.screenshot({ path: join(SCREENSHOTS, "phone.png"), fullPage: true });
    await page.setViewportSize(DESKTOP);
  });

  it("says the admin routes are off, naming ADMIN_TOKEN, when the API answers so", async () => {
    const other = await context.newPage();
    const { status, body } = failureResponse({ kind: "admin_disabled" });
    await other.route("**/api/**", (route) => route.fulfill({ status, contentType: "application/json", body: JSON.stringify(body) }));
    await other.goto(`${dev?.url}/admin`);
    await other.evaluate((token) => sessionStorage.setItem("bridge-admin-token", token), ADMIN_TOKEN);
    await other.reload();
    await other.locator("#off").waitFor();
    expect(await other.locator("#off").textContent()).toContain("ADMIN_TOKEN");
    await other.close();
  });

  it("logged no console error and no Content-Security-Policy violation", () => {
    expect(consoleErrors).toEqual([]);
    expect(violations).toEqual([]);
  });
});
