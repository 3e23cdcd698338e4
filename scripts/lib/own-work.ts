/**
 * The voice webhook's own work, step by step: a micro-benchmark of the same functions the Worker runs (imported
 * from src/), each on the bench's own call (an agent with routing rules and a pre-call hook, the global blocklist,
 * both rate limits, call events written on the line), run many times in this Node process. Node runs the same V8
 * as workerd; two things the Workers runtime has and Node lacks are stood in for: `crypto.subtle.timingSafeEqual`
 * (Node's `crypto.timingSafeEqual`) and the line object's SQLite (`node:sqlite`, in memory, behind SqlStorage's
 * `exec`). Each step first checks that it gives the answer the Worker needs (a valid signature, a call let through,
 * a SIP dial …), so a step that silently did nothing cannot look fast.
 *
 * The figure per step is the p50 over SAMPLES of the mean time of a batch of calls, in µs; the steps are
 * sequential in the Worker, so their sum is its CPU per call in its own functions. Node's WebCrypto runs each
 * HMAC on its thread pool (a hop per await) where workerd's answers in the same thread, so the two HMAC rows
 * (signature check, hook signing) overstate what they cost in the Worker.
 */
import { timingSafeEqual } from "node:crypto";
import { DatabaseSync } from "node:sqlite";
import { getExpectedTwilioSignature } from "twilio/lib/webhooks/webhooks.js";
import { agentKey, lookupAgent } from "../../src/agents/lookup.ts";
import { registrationParams } from "../../src/calls/connect.ts";
import { dialActions } from "../../src/calls/dial-complete.ts";
import { aiLeg, connectedOutcome, outcomeTwiml } from "../../src/calls/outcome.ts";
import { voiceAnswer } from "../../src/calls/answer.ts";
import { holdUrls } from "../../src/hold/twiml.ts";
import { parseHookAnswer } from "../../src/hook/answer.ts";
import { hookRequest } from "../../src/hook/request.ts";
import { lineName } from "../../src/line/address.ts";
import { createEventTables, recordChangeEvents } from "../../src/line/events-outbox.ts";
import { answerVoice, newRecord, receiveVoice } from "../../src/line/transitions.ts";
import { log } from "../../src/log.ts";
import { maskKey, maskPhone } from "../../src/phone.ts";
import { BLOCKLIST_KEY } from "../../src/rules/blocklist.ts";
import { applyRules, readRouting, type RouteBindings } from "../../src/rules/route-call.ts";
import { webhookSigner } from "../../src/config.ts";
import type { Bindings } from "../../src/env.ts";
import { newMessageId, signedHeaders } from "../../src/standard-webhooks/sign.ts";
import { identifierProblem, parseForm, readInboundCall } from "../../src/twilio/params.ts";
import { isValidTwilioSignature } from "../../src/twilio/signature.ts";
import { voicemailUrls } from "../../src/voicemail/twiml.ts";
import { BLOCKLIST, HOOK_ANSWER, ROUTING_RULES } from "./bench-call.ts";
import { printOwnWork, type StepFigure } from "./own-work-table.ts";

/** Batches per step; the p50 of their means is the figure. */
const SAMPLES = Number(process.env.BENCH_OWN_SAMPLES ?? 200);
/** Roughly how long one batch runs: long enough for the clock, short enough that a burst of load hits few. */
const BATCH_MS = 2;
const WARM_UP_CALLS = 2_000;

const TOKEN = "bench_twilio_auth_token";
const WEBHOOK_URL = "http://127.0.0.1:8787/api/webhooks/twilio";
const TO = "+61390000001";
const SIGNING_SECRET = `whsec_${Buffer.from("bench webhook signing secret 32b").toString("base64")}`;

type Step = () => unknown;

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`own-work step gave the wrong answer: ${what}`);
}

/** SqlStorage's `exec` over node:sqlite, enough for the line's modules: a cursor with toArray, one and rowsWritten. */
function memorySql(): SqlStorage {
  const db = new DatabaseSync(":memory:");
  const statements = new Map<string, ReturnType<DatabaseSync["prepare"]>>();
  const exec = (query: string, ...bindings: unknown[]) => {
    let statement = statements.get(query);
    if (!statement) statements.set(query, (statement = db.prepare(query)));
    const values = bindings.map((b) => (b === undefined ? null : b)) as (string | number | null)[];
    if (/^\s*(SELECT|WITH)\b|\bRETURNING\b/i.test(query)) {
      const rows = statement.all(...values);
      return { toArray: () => rows, one: () => rows[0], rowsWritten: 0, [Symbol.iterator]: () => rows[Symbol.iterator]() };
    }
    const { changes } = statement.run(...values);
    return { toArray: () => [], one: () => undefined, rowsWritten: Number(changes), [Symbol.iterator]: () => [][Symbol.iterator]() };
  };
  return { exec } as unknown as SqlStorage;
}

/** Runs `step` in batches and returns µs per call (p50, p90 of the batch means). Async steps are awaited one by one. */
async function measure(step: Step): Promise<{ p50Us: number; p90Us: number }> {
  for (let i = 0; i < WARM_UP_CALLS; i++) await step();
  // Calls per batch, from how long a few take.
  let t = performance.now();
  for (let i = 0; i < 200; i++) await step();
  const perCall = (performance.now() - t) / 200;
  const batch = Math.max(10, Math.round(BATCH_MS / Math.max(perCall, 1e-4)));
  const means: number[] = [];
  for (let s = 0; s < SAMPLES; s++) {
    t = performance.now();
    for (let i = 0; i < batch; i++) await step();
    means.push(((performance.now() - t) * 1000) / batch);
  }
  means.sort((a, b) => a - b);
  return { p50Us: means[Math.floor(means.length / 2)] as number, p90Us: means[Math.floor(means.length * 0.9)] as number };
}

/** The bench's call as Twilio signs it, and everything the Worker derives from it along the way. */
async function fixture() {
  const params = {
    AccountSid: "AC00000000000000000000000000000000",
    ApiVersion: "2010-04-01",
    CallSid: `CA${"0".repeat(31)}1`,
    CallStatus: "ringing",
    Called: TO,
    Caller: "+14155550123",
    Direction: "inbound",
    From: "+14155550123",
    FromCountry: "US",
    FromState: "CA",
    FromCity: "SAN FRANCISCO",
    To: TO,
    ToCountry: "AU",
  };
  const body = new TextEncoder().encode(new URLSearchParams(params).toString());
  const signature = getExpectedTwilioSignature(TOKEN, WEBHOOK_URL, params);
  const agentValue = JSON.stringify({ retellAgentId: "agent_bench0", ...ROUTING_RULES, callHook: { url: "https://hooks.example.com/call" } });
  const kvValues = new Map([[TO, agentValue], [BLOCKLIST_KEY, JSON.stringify(BLOCKLIST)]]);
  // A KV stand-in answering at once: the read itself is the platform's; the memo in front of it is ours.
  const kv = { get: async (key: string) => kvValues.get(key) ?? null } as unknown as KVNamespace;
  const within = { limit: async () => ({ success: true }) } as unknown as RateLimit;
  const env: RouteBindings = { AGENTS: kv, CALLER_RATE_LIMITER: within, NUMBER_RATE_LIMITER: within };
  // The Worker's bindings as the hook's signer reads them (config.ts webhookSigner).
  const bindings = { WEBHOOK_SIGNING_SECRET: SIGNING_SECRET } as Bindings;
  return { params, body, signature, env, kv, bindings, hookAnswerText: JSON.stringify(HOOK_ANSWER) };
}

/** The per-step figures, in the order the Worker runs them. */
export async function measureOwnWork(): Promise<StepFigure[]> {
  const view = (v: ArrayBuffer | ArrayBufferView) => (ArrayBuffer.isView(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : new Uint8Array(v));
  const subtle = crypto.subtle as { timingSafeEqual?: (a: ArrayBuffer | ArrayBufferView, b: ArrayBuffer | ArrayBufferView) => boolean };
  subtle.timingSafeEqual ??= (a, b) => timingSafeEqual(view(a), view(b));
  const f = await fixture();
  const decoder = new TextDecoder();
  const parsedParams = parseForm(decoder.decode(f.body));
  const call = readInboundCall(parsedParams);
  if (!call) throw new Error("fixture has no call");
  const key = agentKey({ to: call.to }) as string;
  const line = lineName(call.to);
  const now = Date.now();
  const read = await readRouting(f.env, key);
  const routing = await applyRules(f.env, read, call, now, true);
  if (routing.kind !== "connect") throw new Error("fixture's call is not let through");
  const agent = routing.agent;
  const outcome = connectedOutcome("call_0123456789abcdef0123456789abcdef", "sip.retellai.com");
  const sql = memorySql();
  createEventTables(sql);
  let sequence = 0;
  const silentConsole = { log: console.log, warn: console.warn };
  let lastLine = "";

  const steps: { step: string; covers: string; run: Step; expect: (result: unknown) => boolean }[] = [
    {
      step: "signature check",
      covers: "twilio/params.ts parseForm, twilio/signature.ts isValidTwilioSignature (HMAC-SHA1 over the URL as received, constant-time compare)",
      run: async () => isValidTwilioSignature([TOKEN], f.signature, WEBHOOK_URL, parseForm(decoder.decode(f.body))),
      expect: (valid) => valid === true,
    },
    {
      step: "parameter parsing and checks",
      covers: "twilio/params.ts identifierProblem, readInboundCall; agents/lookup.ts agentKey; line/address.ts lineName",
      run: () => {
        const problem = identifierProblem(parsedParams);
        const inbound = readInboundCall(parsedParams);
        return problem === null && inbound !== null && agentKey({ to: inbound.to }) !== null && lineName(inbound.to);
      },
      expect: (ok) => ok === TO,
    },
    {
      step: "agent value and blocklist: parse and validate",
      covers: "rules/route-call.ts readRouting: agents/lookup.ts lookupAgent (memo, parseAgentValue), the blocklist",
      run: () => readRouting(f.env, key),
      expect: (r) => (r as Awaited<ReturnType<typeof readRouting>>).lookup.ok && (r as Awaited<ReturnType<typeof readRouting>>).blocklist.length === BLOCKLIST.length,
    },
    {
      step: "routing rules, schedule included",
      covers: "rules/route-call.ts applyRules without counting: rules/decide.ts blockReason, decide, rules/schedule.ts isOpen",
      run: () => applyRules(f.env, read, call, Date.now(), false),
      expect: (r) => (r as { kind: string }).kind === "connect",
    },
    {
      step: "rate-limit keys",
      covers: "applyRules counting (rules/limits.ts countCall's keys) less the same without: the limiters answer at once here",
      run: () => applyRules(f.env, read, call, Date.now(), true),
      expect: (r) => (r as { kind: string }).kind === "connect",
    },
    {
      step: "pre-call hook: request build",
      covers: "hook/request.ts hookRequest, JSON.stringify",
      run: () => JSON.stringify(hookRequest(call, agent)),
      expect: (body) => typeof body === "string" && body.includes("call_inbound"),
    },
    {
      step: "pre-call hook: signing",
      covers: "config.ts webhookSigner; standard-webhooks/sign.ts signedHeaders (HMAC-SHA256, cached key), newMessageId",
      run: () => {
        const sign = webhookSigner(f.bindings);
        return sign.ok ? signedHeaders(sign.sign, newMessageId(), f.hookAnswerText) : null;
      },
      expect: (h) => (h as Record<string, string> | null)?.["webhook-signature"]?.startsWith("v1,") === true,
    },
    {
      step: "pre-call hook: answer parse and merge",
      covers: "hook/answer.ts parseHookAnswer, hook/merge.ts applyHookAnswer over the registration (calls/connect.ts registrationParams)",
      run: () => {
        const answer = parseHookAnswer(f.hookAnswerText);
        return answer.ok ? registrationParams(call, agent, line, answer.answer) : null;
      },
      expect: (p) => (p as { retell_llm_dynamic_variables?: Record<string, string> } | null)?.retell_llm_dynamic_variables?.customer_name === "Ada",
    },
    {
      step: "registration body",
      covers: "calls/connect.ts registrationParams, JSON.stringify (retell/register.ts)",
      run: () => JSON.stringify(registrationParams(call, agent, line)),
      expect: (body) => typeof body === "string" && body.includes("agent_bench0"),
    },
    {
      step: "TwiML",
      covers: "calls/dial-complete.ts dialActions (hold/twiml.ts holdUrls, voicemail/twiml.ts voicemailUrls only for a held call or a voicemail), calls/outcome.ts outcomeTwiml",
      run: () => {
        // As routes/voice.ts builds them: the hold and voicemail URLs only for the outcomes that use them.
        const held = (outcome.kind as string) === "queued";
        const actions = { ...dialActions(WEBHOOK_URL, key), ...(held && { hold: holdUrls(WEBHOOK_URL, key, line), voicemail: voicemailUrls(WEBHOOK_URL, line) }) };
        return outcomeTwiml(outcome, actions, aiLeg(agent));
      },
      expect: (twiml) => typeof twiml === "string" && twiml.includes("<Sip"),
    },
    {
      step: "log line",
      covers: "routes/voice.ts's twilio.voice fields, phone.ts maskPhone/maskKey, log.ts log (JSON.stringify; the console write is the platform's)",
      run: () => {
        log("info", "twilio.voice", {
          callSid: call.callSid,
          from: maskPhone(call.from),
          to: maskPhone(call.to),
          agentKey: maskKey(key),
          retellAgentId: agent.retellAgentId,
          outcome: outcome.kind,
          retellCallId: outcome.retellCallId,
          hookResult: "ok",
          hookMs: 20,
          retellMs: 20,
          retellAttempts: 1,
          totalMs: 45,
        });
        return lastLine;
      },
      expect: (line) => typeof line === "string" && line.includes("+*******0123"),
    },
    {
      step: "line: the call's record, claimed then answered",
      covers: "calls/answer.ts voiceAnswer; line/transitions.ts receiveVoice, answerVoice; the record's JSON as the object stores it",
      run: () => {
        const received = receiveVoice(newRecord(call.callSid, now), call, now);
        const stored = JSON.stringify(received);
        const answer = voiceAnswer(call, { agentKey: key, retellAgentId: agent.retellAgentId }, outcome, now, { ms: 20, attempts: 1 });
        return JSON.stringify(answerVoice(JSON.parse(stored), answer));
      },
      expect: (record) => typeof record === "string" && record.includes('"connected"'),
    },
    {
      step: "call events: change events written on the line",
      covers: "line/events-outbox.ts recordChangeEvents (call.started into the outbox, SQLite in memory here)",
      run: () => {
        const sid = `CA${(sequence++).toString(16).padStart(32, "0")}`;
        const before = receiveVoice(newRecord(sid, now), call, now);
        const after = answerVoice(before, voiceAnswer(call, { agentKey: key, retellAgentId: agent.retellAgentId }, outcome, now));
        recordChangeEvents(sql, before, after, now);
        return sid;
      },
      expect: (sid) => (sql.exec("SELECT COUNT(*) AS n FROM event_outbox WHERE call_sid = ?", sid).one() as { n: number }).n === 1,
    },
  ];

  const figures: StepFigure[] = [];
  console.log = (line: string) => void (lastLine = line);
  console.warn = console.log;
  try {
    for (const { step, covers, run, expect } of steps) {
      check(expect(await run()), step);
      figures.push({ step, covers, ...(await measure(run)) });
    }
  } finally {
    console.log = silentConsole.log;
    console.warn = silentConsole.warn;
  }
  // The limiters' keys are what counting adds to the rules: their difference, never below 0.
  const rules = figures.find((s) => s.step === "routing rules, schedule included") as StepFigure;
  const counted = figures.find((s) => s.step === "rate-limit keys") as StepFigure;
  counted.p50Us = Math.max(0, counted.p50Us - rules.p50Us);
  counted.p90Us = Math.max(0, counted.p90Us - rules.p90Us);
  return figures;
}

// `node scripts/lib/own-work.ts` prints the table; with `--json`, the figures (how scripts/bench.ts runs it: in a
// process of its own, since the Worker's modules type-check against the Workers runtime, not Node).
if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await measureOwnWork();
  if (process.argv.includes("--json")) console.log(JSON.stringify(figures));
  else printOwnWork(figures, `${process.version}, ${SAMPLES} batches of ~${BATCH_MS} ms each`);
}
