/**
 * The operator page (/admin): the overview and charts from GET /api/stats?group=all, the calls from
 * GET /api/calls (paged with its cursor), one call's timeline from GET /api/calls/:callSid and the deliveries of its
 * events from GET /api/deliveries?callSid=…. The token is the only
 * thing kept in the browser (sessionStorage, this tab); every value from the API is inserted as text (dom.ts).
 */
import "./style.css";
import type { Delivery } from "../../src/records/delivery.ts";
import type { CallPage, CallRecord } from "../../src/records/list.ts";
import type { AgentStats, Figures } from "../../src/records/stats.ts";
import { getJson, query, type ApiResult } from "./api.ts";
import { horizontalBars, lines, stackedBars, type Series } from "./charts.ts";
import { byId, el, fill, table } from "./dom.ts";
import * as f from "./format.ts";
import { timeline } from "./timeline.ts";

const TOKEN_KEY = "bridge-admin-token";
/** Calls per page: a screenful, and far under the API's limit. */
const PAGE_SIZE = 25;
/** Failure reasons in the chart; the list above it has them all. */
const TOP_REASONS = 8;
const DAY_MS = 86_400_000;
/** A call's deliveries asked for: GET /api/deliveries's most (MAX_DELIVERY_LIST), far above a call's events times endpoints. */
const DELIVERIES_PER_CALL = 200;

interface StatsAnswer {
  since: string;
  until: string;
  agents: AgentStats[];
}

interface Filters {
  since: string;
  until?: string;
  agent?: string;
  direction?: string;
}

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) ?? "",
  filters: { since: "7d" } as Filters,
  /** The cursor the calls shown were asked for with; undefined for the newest page. */
  cursor: undefined as string | undefined,
  nextCursor: null as string | null,
};

const status = (text: string) => (byId("status").textContent = text);

function show(section: "login" | "off" | "app"): void {
  for (const id of ["login", "off", "app"]) byId(id).hidden = id !== section;
  byId("forget").hidden = section !== "app";
}

function showLogin(message = ""): void {
  state.token = "";
  sessionStorage.removeItem(TOKEN_KEY);
  byId("login-message").textContent = message;
  status("");
  show("login");
  byId<HTMLInputElement>("token").value = "";
  byId<HTMLInputElement>("token").focus();
}

/** An API answer that is not a value ends here: back to the prompt, the "off" notice, or a message. */
function handled<T>(result: ApiResult<T>): result is { ok: true; value: T } {
  if (result.ok) return true;
  if (result.reason === "unauthorized") showLogin(result.message);
  else if (result.reason === "disabled") {
    show("off");
    status("");
  } else status(result.message);
  return false;
}

function readFilters(): Filters {
  const period = byId<HTMLSelectElement>("period").value;
  const filters: Filters = { since: period };
  if (period === "dates") {
    filters.since = byId<HTMLInputElement>("since").value;
    filters.until = byId<HTMLInputElement>("until").value;
  }
  const agent = byId<HTMLInputElement>("agent").value.trim();
  if (agent) filters.agent = agent;
  const direction = byId<HTMLSelectElement>("direction").value;
  if (direction) filters.direction = direction;
  return filters;
}

/** Every UTC day from `since` to `until`, so days without calls are zeros in the charts, not gaps. */
function daysOf(since: string, until: string): string[] {
  const days: string[] = [];
  const end = Date.parse(until);
  for (let t = Date.parse(since.slice(0, 10)); t < end; t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

function figure(key: string, term: string, value: string): HTMLElement {
  return el("div", {}, el("dt", {}, term), el("dd", { "data-figure": key }, value));
}

function renderOverview(answer: StatsAnswer): void {
  const entry = answer.agents[0];
  byId("overview-window").textContent = `From ${answer.since.replace("T", " ").slice(0, 16)} to ${answer.until.replace("T", " ").slice(0, 16)} UTC.`;
  const empty = !entry || entry.total.calls === 0;
  byId("overview-empty").hidden = !empty;
  byId("figures").hidden = empty;
  byId("failures-title").hidden = empty;
  byId("failures").hidden = empty;
  if (empty) {
    fill(byId("figures"));
    fill(byId("failures"));
    fill(byId("chart-list"), el("p", { class: "empty" }, "No calls in this period, so there is nothing to chart."));
    return;
  }
  const t = entry.total;
  fill(
    byId("figures"),
    figure("calls", "Calls", f.count(t.calls)),
    figure("connected", "Reached the agent", f.count(t.connected)),
    figure("answerRate", "Answer rate", `${f.percent(t.answerRate)} (${f.count(t.answered)} answered)`),
    figure("fallbacks", "Fallbacks dialed", f.count(t.fallbacks)),
    figure("blocked", "Blocked", f.count(t.blocked)),
    figure("rateLimited", "Rate-limited", f.count(t.rateLimited)),
    figure("afterHours", "After hours", f.count(t.afterHours)),
    figure("missed", "Missed (the bridge never answered)", f.count(t.missed)),
    figure("duration", "Duration p50 / p95", f.pair(f.seconds(t.durationS.p50), f.seconds(t.durationS.p95))),
    figure("registration", "Retell registration p50 / p95", f.pair(f.ms(t.retellRegisterMs.p50), f.ms(t.retellRegisterMs.p95))),
    figure("transfers", "Transfers made / answered / failed", `${f.count(t.transfers.made)} / ${f.count(t.transfers.answered)} / ${f.count(t.transfers.failed)}`),
    figure(
      "outbound",
      "Outbound calls",
      `${f.count(t.outbound.calls)}: person ${f.count(t.outbound.human)}, machine ${f.count(t.outbound.machine)}, no answer ${f.count(t.outbound.noAnswer)}, busy ${f.count(t.outbound.busy)}, failed ${f.count(t.outbound.failed)}`,
    ),
  );
  const reasons = Object.entries(t.failures).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  fill(byId("failures"), ...(reasons.length ? reasons.map(([r, n]) => el("li", { "data-reason": r }, `${f.reason(r)}: ${f.count(n)}`)) : [el("li", {}, "None.")]));
  renderCharts(answer, entry, reasons);
}

function chartBlock(key: string, title: string, chart: Element, headers: string[], rows: string[][], legend: Series[] = []): HTMLElement {
  return el(
    "figure",
    { class: "chart-block", "data-chart": key },
    el("figcaption", {}, title),
    legend.length ? el("ul", { class: "legend" }, ...legend.map((s) => el("li", {}, el("span", { class: `swatch ${s.cls}`, "aria-hidden": "true" }), s.name))) : null,
    chart,
    el("details", {}, el("summary", {}, "As a table"), table(headers, rows)),
  );
}

function renderCharts(answer: StatsAnswer, entry: AgentStats, reasons: [string, number][]): void {
  const days = daysOf(answer.since, answer.until);
  const byDay = new Map<string, Figures>(entry.days.map((d) => [d.day, d]));
  const per = (pick: (d: Figures) => number | null, zero: number | null) => days.map((day) => {
    const d = byDay.get(day);
    return d ? pick(d) : zero;
  });
  const outcomes: Series[] = [
    { name: "Connected", cls: "s0", values: per((d) => d.connected, 0) },
    { name: "Fallback dialed", cls: "s1", values: per((d) => d.fallbacks, 0) },
    { name: "Blocked or rate-limited", cls: "s2", values: per((d) => d.blocked + d.rateLimited, 0) },
    { name: "Other outcomes", cls: "s3", values: per((d) => d.calls - d.connected - d.fallbacks - d.blocked - d.rateLimited, 0) },
  ];
  const rate: Series[] = [{ name: "Answer rate", cls: "s0", values: per((d) => d.answerRate, null) }];
  const registration: Series[] = [
    { name: "p50", cls: "s0", values: per((d) => d.retellRegisterMs.p50, null) },
    { name: "p95", cls: "s1", values: per((d) => d.retellRegisterMs.p95, null) },
  ];
  const cell = (v: number | null, format: (n: number) => string) => (v === null ? f.NONE : format(v));
  const top = reasons.slice(0, TOP_REASONS).map(([r, n]) => ({ name: f.reason(r), value: n }));
  fill(
    byId("chart-list"),
    chartBlock("outcomes", "Calls per day, by outcome", stackedBars("Calls per day, stacked by outcome", days, outcomes), ["Day", ...outcomes.map((s) => s.name)], days.map((d, i) => [d, ...outcomes.map((s) => f.count(s.values[i] ?? 0))]), outcomes),
    chartBlock("answer-rate", "Answer rate per day", lines("Answer rate per day", days, rate, (v) => `${Math.round(v * 100)}%`, 1), ["Day", "Answer rate"], days.map((d, i) => [d, f.percent(rate[0]?.values[i] ?? null)])),
    chartBlock("registration", "Retell registration per day (ms)", lines("Retell registration latency per day, p50 and p95", days, registration, (v) => `${Math.round(v)}`), ["Day", "p50", "p95"], days.map((d, i) => [d, cell(registration[0]?.values[i] ?? null, f.ms), cell(registration[1]?.values[i] ?? null, f.ms)]), registration),
    chartBlock("reasons", "Top failure reasons", top.length ? horizontalBars("Top failure reasons", top) : el("p", { class: "empty" }, "No failures in this period."), ["Reason", "Calls"], top.map((r) => [r.name, f.count(r.value)])),
  );
}

function agentOf(call: CallRecord): string {
  return call.retellAgentId ?? call.agentKey ?? "-";
}

function renderCalls(page: CallPage): void {
  const body = byId("calls-table").querySelector("tbody") as HTMLTableSectionElement;
  fill(
    body,
    ...page.calls.map((call) =>
      el(
        "tr",
        { "data-call": call.callSid },
        el("td", {}, el("button", { type: "button", class: "link", "data-open": call.callSid, "aria-label": `Timeline of the call at ${f.dateTime(call.createdAt)}` }, f.dateTime(call.createdAt))),
        el("td", {}, call.direction),
        el("td", {}, call.from ?? f.NONE),
        el("td", {}, call.to ?? f.NONE),
        el("td", {}, agentOf(call)),
        el("td", {}, call.outcome ?? f.NONE, call.outcomeReason ? el("span", { class: "hint" }, ` (${call.outcomeReason})`) : null),
        el("td", {}, call.twilioStatus ?? f.NONE),
        el("td", {}, f.seconds(call.durationS ?? call.dialDurationS)),
      ),
    ),
  );
  byId("calls-empty").hidden = page.calls.length > 0;
  byId("calls-table").hidden = page.calls.length === 0;
  state.nextCursor = page.nextCursor;
  byId<HTMLButtonElement>("older").disabled = page.nextCursor === null;
  byId<HTMLButtonElement>("newest").disabled = state.cursor === undefined;
  const agents = new Set(page.calls.flatMap((c) => [c.retellAgentId, c.agentKey]).filter((a): a is string => a !== null));
  const list = byId("agents");
  const known = new Set([...list.querySelectorAll("option")].map((o) => o.value));
  for (const agent of agents) if (!known.has(agent)) list.append(el("option", { value: agent }));
}

async function loadCalls(): Promise<boolean> {
  const { since, until, agent, direction } = state.filters;
  const result = await getJson<CallPage>(`/api/calls${query({ since, until, agent, direction, limit: String(PAGE_SIZE), cursor: state.cursor })}`, state.token);
  if (!handled(result)) return false;
  renderCalls(result.value);
  return true;
}

async function load(): Promise<void> {
  status("Loading…");
  const { since, until, agent, direction } = state.filters;
  const [stats, callsShown] = await Promise.all([getJson<StatsAnswer>(`/api/stats${query({ since, until, agent, direction, group: "all" })}`, state.token), loadCalls()]);
  if (!handled(stats) || !callsShown) return;
  show("app");
  renderOverview(stats.value);
  status("");
}

async function openTimeline(callSid: string): Promise<void> {
  status("Loading the call…");
  const [result, sent] = await Promise.all([
    getJson<CallRecord>(`/api/calls/${encodeURIComponent(callSid)}`, state.token),
    getJson<{ deliveries: Delivery[] }>(`/api/deliveries${query({ callSid, limit: String(DELIVERIES_PER_CALL) })}`, state.token),
  ]);
  if (!handled(result)) return;
  if (!sent.ok && sent.reason !== "failed") {
    handled(sent);
    return;
  }
  // Without its deliveries the call's own steps still show, and the status line says what is missing.
  const missing = sent.ok ? "" : `The deliveries of its events could not be read: ${sent.message}`;
  const call = result.value;
  const deliveries = sent.ok ? sent.value.deliveries : [];
  const cut = deliveries.length >= DELIVERIES_PER_CALL ? ` Only its newest ${DELIVERIES_PER_CALL} deliveries are shown.` : "";
  byId("timeline-title").textContent = `Timeline of ${call.callSid}`;
  byId("timeline-summary").textContent = `${call.direction} call, ${call.from ?? "unknown caller"} → ${call.to ?? "unknown number"}, agent ${agentOf(call)}. Times of day in your time zone.${cut}`;
  fill(
    byId("timeline-steps"),
    ...timeline(call, deliveries).map((s) =>
      el(
        "li",
        { class: `step ${s.kind}`, "data-kind": s.kind },
        el("time", s.at === null ? {} : { datetime: new Date(s.at).toISOString() }, s.at === null ? "time unknown" : f.timeOfDay(s.at)),
        el("span", { class: "step-title" }, s.title),
        s.details.length ? el("ul", {}, ...s.details.map((d) => el("li", {}, d))) : null,
      ),
    ),
  );
  const section = byId("timeline");
  section.hidden = false;
  section.focus();
  section.scrollIntoView({ block: "start" });
  status(missing);
}

function wire(): void {
  byId("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = byId<HTMLInputElement>("token").value.trim();
    if (!token) return;
    state.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    void load();
  });
  byId("forget").addEventListener("click", () => showLogin("Token forgotten. Enter it again to see the calls."));
  byId("period").addEventListener("change", () => {
    const dates = byId<HTMLSelectElement>("period").value === "dates";
    for (const node of document.querySelectorAll<HTMLElement>(".dates")) node.hidden = !dates;
    for (const id of ["since", "until"]) byId<HTMLInputElement>(id).required = dates;
  });
  byId("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    state.filters = readFilters();
    state.cursor = undefined;
    byId("timeline").hidden = true;
    void load();
  });
  byId("older").addEventListener("click", () => {
    if (state.nextCursor === null) return;
    state.cursor = state.nextCursor;
    void loadCalls();
  });
  byId("newest").addEventListener("click", () => {
    state.cursor = undefined;
    void loadCalls();
  });
  byId("calls-table").addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target.closest("[data-open]") : null;
    const callSid = target?.getAttribute("data-open");
    if (callSid) void openTimeline(callSid);
  });
  byId("timeline-close").addEventListener("click", () => {
    byId("timeline").hidden = true;
    byId("calls-title").scrollIntoView({ block: "start" });
    byId<HTMLButtonElement>("older").focus();
  });
}

wire();
if (state.token) void load();
else showLogin();
