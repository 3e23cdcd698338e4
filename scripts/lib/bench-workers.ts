/**
 * The bench's own Worker scripts, served by workerd beside the real bundle (scripts/lib/workerd.ts): floors that
 * do only the platform work a design cannot avoid, and an entry module that serves the real bundle with its
 * bindings delayed as they would be in production. Nothing here reaches src/: the bundle runs unchanged.
 *
 * They are JavaScript sources because workerd runs them as given; each is short and exercised by every bench run.
 */

/**
 * Per binding, the setTimeout argument each of its calls waits before it runs (null: no wait). The bench picks
 * them so each wait costs a production round trip as measured here: timers in local workerd wake late.
 */
export interface BindingTimers {
  /** An AGENTS (KV) read. */
  kv: number | null;
  /** One RPC to a line's object. */
  line: number | null;
  /** One D1 query or batch. */
  d1: number | null;
}

export const NO_TIMERS: BindingTimers = { kv: null, line: null, d1: null };

/**
 * Wrappers that make each binding call travel: its whole round trip is waited before the call, in one timer
 * (two half-trips would double the timers, each of which wakes late). Timers come from `env.BENCH_TIMERS`.
 */
const DELAYED_BINDINGS = String.raw`
const wait = (ms) => (ms === null ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms)));
async function travel(ms, work) {
  await wait(ms);
  return work();
}
const delayedKv = (kv, ms) => ({
  get: (...args) => travel(ms, () => kv.get(...args)),
  getWithMetadata: (...args) => travel(ms, () => kv.getWithMetadata(...args)),
  put: (...args) => travel(ms, () => kv.put(...args)),
  delete: (...args) => travel(ms, () => kv.delete(...args)),
  list: (...args) => travel(ms, () => kv.list(...args)),
});
const delayedStatement = (statement, ms) => ({
  statement,
  bind: (...values) => delayedStatement(statement.bind(...values), ms),
  first: (...args) => travel(ms, () => statement.first(...args)),
  run: () => travel(ms, () => statement.run()),
  all: () => travel(ms, () => statement.all()),
  raw: (...args) => travel(ms, () => statement.raw(...args)),
});
const delayedD1 = (db, ms) => ({
  prepare: (sql) => delayedStatement(db.prepare(sql), ms),
  batch: (statements) => travel(ms, () => db.batch(statements.map((s) => s.statement))),
  exec: (sql) => travel(ms, () => db.exec(sql)),
});
// Every method of a stub is an RPC; "then" must stay undefined, or awaiting the stub would call it.
const delayedStub = (stub, ms) =>
  new Proxy(stub, { get: (target, name) => (name === "then" || name === "id" || name === "name" ? target[name] : (...args) => travel(ms, () => target[name](...args))) });
const delayedLines = (namespace, ms) => ({
  idFromName: (name) => namespace.idFromName(name),
  idFromString: (id) => namespace.idFromString(id),
  newUniqueId: (options) => namespace.newUniqueId(options),
  get: (id, options) => delayedStub(namespace.get(id, options), ms),
});
const delayedEnvs = new WeakMap();
function delayedEnv(env) {
  let delayed = delayedEnvs.get(env);
  if (!delayed) {
    const timers = JSON.parse(env.BENCH_TIMERS);
    delayed = { ...env };
    if (env.AGENTS) delayed.AGENTS = delayedKv(env.AGENTS, timers.kv);
    if (env.LINES) delayed.LINES = delayedLines(env.LINES, timers.line);
    if (env.DB) delayed.DB = delayedD1(env.DB, timers.d1);
    delayedEnvs.set(env, delayed);
  }
  return delayed;
}
`;

/**
 * The entry module that serves the real bundle (`./index.js`) with delayed bindings, for the Worker and for its
 * line objects alike, plus one route of the bench's own: `POST /__bench/line` drives `calls` claim-and-answer pairs
 * (what each voice webhook asks of its line) against one line's object, `concurrency` at a time, and answers when
 * the last one is stored: how many calls one object takes per second, without the Worker's own work.
 */
export const BUNDLE_ENTRY = String.raw`
import worker, { PhoneLine as RealPhoneLine } from "./index.js";
${DELAYED_BINDINGS}
export class PhoneLine extends RealPhoneLine {
  constructor(ctx, env) {
    super(ctx, delayedEnv(env));
  }
}
async function driveLine(env, { line, calls, concurrency }) {
  const stub = env.LINES.get(env.LINES.idFromName(line));
  let next = 0;
  let failed = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < calls) {
      const i = next++;
      const callSid = "CA" + crypto.randomUUID().replaceAll("-", "");
      const from = "+1415" + String(i).padStart(7, "0");
      const receivedAt = Date.now();
      const claim = await stub.claimVoice(callSid, { from, to: line, receivedAt }, 8000);
      if (claim.kind !== "claimed") {
        failed++;
        continue;
      }
      const retellCallId = "call_" + callSid.slice(2);
      const answer = { agentKey: line, retellAgentId: "agent_bench", from, to: line, outcome: "connected", retellCallId, registerMs: 0, registerAttempts: 1, receivedAt, answeredAt: Date.now() };
      const outcome = { kind: "connected", retellCallId, sipUri: "sip:" + retellCallId + "@sip.retellai.com" };
      if (!(await stub.completeVoice(callSid, claim.token, answer, outcome))) failed++;
    }
  }));
  return { failed };
}
export default {
  async fetch(request, env, ctx) {
    if (new URL(request.url).pathname === "/__bench/line") return Response.json(await driveLine(delayedEnv(env), await request.json()));
    return worker.fetch(request, delayedEnv(env), ctx);
  },
  scheduled: (controller, env, ctx) => worker.scheduled(controller, delayedEnv(env), ctx),
};
`;

/**
 * Where a floor Worker is called: under `/api/`, one of wrangler.toml's run_worker_first paths, as the Worker's
 * webhooks are, so both take the same way past the static assets. Its timer probe is `${FLOOR_PATH}timer`.
 */
export const FLOOR_PATH = "/api/bench/";

/** What a floor Worker does besides forwarding each request to Retell. */
export type FloorKind =
  /** Nothing: the hop into workerd and workerd's outbound fetch, which any Worker calling Retell pays. */
  | "pass"
  /**
   * Only the two rate-limit counts, as this Worker makes them: deployed they need no round trip, so the latency
   * model measures what a Worker adds beyond this one, and what the counts cost locally (this − pass).
   */
  | "limits"
  /**
   * What any Worker keeping each call in its line's SQLite Durable Object and counting it against the two rate
   * limits must do, as this one does: the agent's KV read (through the same 30 s in-isolate memo) beside a claim
   * RPC that reads and writes the call's row and sets the alarm, then the two rate-limit counts, then Retell, then
   * (after the answer, in waitUntil) an answer RPC that writes the row again; the alarm copies changed rows to D1 in batches.
   */
  | "line"
  /**
   * The design before the line objects: the KV read beside a D1 read by CallSid (the replay check), then the two
   * rate-limit counts, then Retell, then the record upserted into D1 after the answer (waitUntil), so that write
   * never holds up the answer.
   */
  | "d1"
  /**
   * The pass-through plus the pre-call hook's round trip before Retell, and nothing of the hook's own handling:
   * the request's `webhook-*` headers (signed by the bench client) and `env.HOOK_BODY` go to `env.HOOK_URL`, and
   * the answer is read whole. So this − pass is the hook's latency as a Worker sees it (workerd's outbound hop
   * included), and the Worker's own work around its hook is measured over it.
   */
  | "hook"
  /**
   * The least Worker that does this one's job, called as it is (the bench's signed Twilio webhook, not a Retell
   * body): Twilio's form read, its signature checked (one HMAC-SHA1 over the URL and the sorted parameters,
   * `env.TWILIO_AUTH_TOKEN`, the key kept), the line floor's platform calls with the agent's `retellAgentId` from
   * its KV value, and a SIP `<Dial>` in one document. No framework, rules, log line or record beyond the floor's.
   * So this − line is the least own work any such Worker has here: what the target is measured against.
   * With `env.HOOK_URL`, it also asks that pre-call hook before Retell, as little as the job allows: the
   * `call_inbound` request signed (Standard Webhooks, `env.WEBHOOK_SIGNING_SECRET`, the key kept), a deadline,
   * the answer parsed and its variables and metadata sent on to Retell; no checks of the answer's shape.
   */
  | "least";

/**
 * A floor Worker's source. Each request is a Retell register-phone-call body; the call's line is its
 * `to_number`, so a floor spreads calls over objects as the bench spreads them over numbers.
 *
 * The rate-limit counts are made because Miniflare emulates each limiter as a Durable Object in the same workerd
 * process: their local cost would otherwise show up as the Worker's own work. Deployed, a count needs no round
 * trip (src/rules/limits.ts), so the latency model does not delay them.
 */
export function floorScript(kind: FloorKind): string {
  return String.raw`
import { DurableObject } from "cloudflare:workers";
${DELAYED_BINDINGS}
const KIND = ${JSON.stringify(kind)};
const memo = new Map();
async function agentOf(env, key) {
  const hit = memo.get(key);
  if (hit && hit.expires > Date.now()) return hit.value;
  const value = await env.AGENTS.get(key, { cacheTtl: 30 });
  memo.set(key, { value, expires: Date.now() + 30000 });
  return value;
}
const UPSERT = "INSERT INTO calls (call_sid, to_number, outcome, retell_call_id, created_at, updated_at) VALUES (?1, ?2, 'connected', ?3, ?4, ?4) ON CONFLICT (call_sid) DO UPDATE SET retell_call_id = excluded.retell_call_id, updated_at = excluded.updated_at";
// As the Worker counts (src/rules/limits.ts): the caller, then the dialed number. Each call is a caller of its own.
async function countCall(env, caller, to) {
  await env.CALLER_RATE_LIMITER.limit({ key: caller });
  await env.NUMBER_RATE_LIMITER.limit({ key: to });
}
export class FloorLine extends DurableObject {
  constructor(ctx, env) {
    super(ctx, delayedEnv(env));
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS calls (call_sid TEXT PRIMARY KEY, record TEXT NOT NULL, version INTEGER NOT NULL, copied_version INTEGER NOT NULL DEFAULT 0)");
  }
  async claim(callSid, call) {
    const prior = this.ctx.storage.sql.exec("SELECT record FROM calls WHERE call_sid = ?", callSid).toArray()[0];
    this.ctx.storage.sql.exec("INSERT INTO calls (call_sid, record, version) VALUES (?1, ?2, 1) ON CONFLICT (call_sid) DO UPDATE SET record = ?2, version = version + 1", callSid, JSON.stringify(call));
    await this.copySoon();
    return prior === undefined;
  }
  async answer(callSid, call) {
    this.ctx.storage.sql.exec("UPDATE calls SET record = ?2, version = version + 1 WHERE call_sid = ?1", callSid, JSON.stringify(call));
    await this.copySoon();
  }
  async copySoon() {
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + 1000);
  }
  async alarm() {
    const rows = this.ctx.storage.sql.exec("SELECT call_sid, record, version FROM calls WHERE version > copied_version LIMIT 50").toArray();
    if (rows.length === 0) return;
    const statement = this.env.DB.prepare(UPSERT);
    await this.env.DB.batch(rows.map((row) => {
      const call = JSON.parse(row.record);
      return statement.bind(row.call_sid, call.to, call.retellCallId ?? null, call.at);
    }));
    for (const row of rows) this.ctx.storage.sql.exec("UPDATE calls SET copied_version = ?1 WHERE call_sid = ?2", row.version, row.call_sid);
    if (rows.length === 50) await this.ctx.storage.setAlarm(Date.now());
  }
}
// The line floor's platform calls before Retell: the agent's KV read beside the call's claim, then the two counts.
async function claimAndCount(env, callSid, call, caller) {
  const line = env.LINES.get(env.LINES.idFromName(call.to));
  const [agent] = await Promise.all([agentOf(env, call.to), line.claim(callSid, call)]);
  await countCall(env, caller, call.to);
  return { line, agent };
}
async function register(env, body, authorization) {
  const answer = await fetch(env.TARGET, { method: "POST", headers: { "Content-Type": "application/json", Authorization: authorization }, body });
  return { status: answer.status, text: await answer.text() };
}
const encoder = new TextEncoder();
let twilioKey;
async function twilioSignature(env, payload) {
  twilioKey ??= crypto.subtle.importKey("raw", encoder.encode(env.TWILIO_AUTH_TOKEN), { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await twilioKey, encoder.encode(payload)));
  return btoa(String.fromCharCode(...mac));
}
let hookKey;
async function askHook(env, callInbound) {
  const body = JSON.stringify({ event: "call_inbound", call_inbound: callInbound });
  const id = "msg_" + crypto.randomUUID().replaceAll("-", "");
  const timestamp = String(Math.floor(Date.now() / 1000));
  hookKey ??= crypto.subtle.importKey("raw", Uint8Array.from(atob(env.WEBHOOK_SIGNING_SECRET.slice(6)), (c) => c.charCodeAt(0)), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await hookKey, encoder.encode(id + "." + timestamp + "." + body)));
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 5000);
  try {
    const answer = await fetch(env.HOOK_URL, { method: "POST", headers: { "Content-Type": "application/json", "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": "v1," + btoa(String.fromCharCode(...mac)) }, body, redirect: "manual", signal: controller.signal });
    return answer.status === 200 ? await answer.json() : {};
  } finally {
    clearTimeout(timer);
  }
}
async function leastAnswer(request, env, ctx) {
  const params = new URLSearchParams(await request.text());
  let payload = request.url;
  for (const name of [...params.keys()].sort()) payload += name + params.get(name);
  if ((await twilioSignature(env, payload)) !== request.headers.get("X-Twilio-Signature")) return new Response(null, { status: 403 });
  const to = params.get("To");
  const from = params.get("From");
  const callSid = params.get("CallSid");
  const call = { to, at: Date.now() };
  const { line, agent } = await claimAndCount(env, callSid, call, from);
  const registration = { agent_id: JSON.parse(agent).retellAgentId, from_number: from, to_number: to, direction: "inbound" };
  if (env.HOOK_URL) {
    const inbound = (await askHook(env, { agent_id: registration.agent_id, from_number: from, to_number: to, twilio_call_sid: callSid, caller_number: from, after_hours: false })).call_inbound ?? {};
    if (inbound.dynamic_variables) registration.retell_llm_dynamic_variables = inbound.dynamic_variables;
    if (inbound.metadata) registration.metadata = inbound.metadata;
  }
  const answer = await register(env, JSON.stringify(registration), "Bearer " + env.RETELL_API_KEY);
  const retellCallId = JSON.parse(answer.text).call_id;
  ctx.waitUntil(line.answer(callSid, { ...call, retellCallId }));
  const twiml = '<?xml version="1.0" encoding="UTF-8"?><Response><Dial><Sip>sip:' + retellCallId + "@sip.retellai.com</Sip></Dial></Response>";
  return new Response(twiml, { headers: { "Content-Type": "text/xml; charset=utf-8" } });
}
export default {
  async fetch(request, raw, ctx) {
    // The bench's timer probe: what one setTimeout(ms) costs a request here (no ms: no timer).
    const probe = new URL(request.url);
    if (probe.pathname === ${JSON.stringify(FLOOR_PATH + "timer")}) {
      await wait(probe.searchParams.has("ms") ? Number(probe.searchParams.get("ms")) : null);
      return new Response(null, { status: 204 });
    }
    const env = delayedEnv(raw);
    if (KIND === "least") return leastAnswer(request, env, ctx);
    const body = await request.text();
    const authorization = request.headers.get("Authorization") ?? "";
    if (KIND === "pass" || KIND === "hook") {
      if (KIND === "hook") {
        const signed = Object.fromEntries(["webhook-id", "webhook-timestamp", "webhook-signature"].map((name) => [name, request.headers.get(name) ?? ""]));
        const hook = await fetch(env.HOOK_URL, { method: "POST", headers: { "Content-Type": "application/json", ...signed }, body: env.HOOK_BODY, redirect: "manual" });
        await hook.text();
      }
      const answer = await register(env, body, authorization);
      return new Response(answer.text, { status: answer.status, headers: { "Content-Type": "application/json" } });
    }
    const to = JSON.parse(body).to_number;
    const callSid = "CA" + crypto.randomUUID().replaceAll("-", "");
    const call = { to, at: Date.now() };
    let answer;
    if (KIND === "limits") {
      await countCall(env, callSid, to);
      answer = await register(env, body, authorization);
    } else if (KIND === "line") {
      const { line } = await claimAndCount(env, callSid, call, callSid);
      answer = await register(env, body, authorization);
      // Stored after the answer, as the Worker stores its answer after the document (routes/voice.ts).
      const retellCallId = JSON.parse(answer.text).call_id;
      ctx.waitUntil(line.answer(callSid, { ...call, retellCallId }));
    } else {
      const [, prior] = await Promise.all([agentOf(env, to), env.DB.prepare("SELECT retell_call_id FROM calls WHERE call_sid = ?").bind(callSid).first("retell_call_id")]);
      await countCall(env, callSid, to);
      answer = await register(env, body, authorization);
      ctx.waitUntil((async () => {
        // Let the answer's last bytes flush first, as the old design did.
        await wait(0);
        await env.DB.prepare(UPSERT).bind(callSid, to, prior ?? JSON.parse(answer.text).call_id, call.at).run();
      })());
    }
    return new Response(answer.text, { status: answer.status, headers: { "Content-Type": "application/json" } });
  },
};
`;
}
