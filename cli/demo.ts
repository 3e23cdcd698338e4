/**
 * `npm run demo`: the whole call flow offline. Starts the Worker with `wrangler dev` on local KV and D1, a
 * clearly labelled local Retell stand-in (unless RETELL_API_KEY is configured), seeds demo numbers, sends
 * Twilio-signed webhooks exactly as Twilio would, and shows what happened. Leaves nothing running, except when a
 * person runs it in a terminal (or passes --keep): then the Worker stays up for the operator page until Ctrl-C.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { sign } from "retell-sdk/lib/webhook_auth";
import { startHookStandIn, type HookStandIn } from "../stand-ins/hook.ts";
import { startRetellStandIn, type RetellStandIn } from "../stand-ins/retell.ts";
import { startTwilioStandIn, type TwilioStandIn } from "../stand-ins/twilio.ts";
import { startReceiverStandIn, type ReceiverStandIn } from "../stand-ins/receiver.ts";
import { WEBHOOKS_KEY } from "../src/records/endpoints.ts";
import { parseFlags, expectPositionals } from "./lib/args.ts";
import { AGENTS_BINDING, DEFAULT_CONFIG, readWranglerConfig } from "./lib/config.ts";
import { startDev, type DevServer } from "./lib/dev.ts";
import { CliError, EXIT, onInterrupt, runMain } from "./lib/errors.ts";
import { out } from "./lib/output.ts";
import { Settings } from "./lib/settings.ts";
import { putMany, type Store } from "./lib/store.ts";
import { hexId, inboundCallParams, numberTarget, sendWebhook, signedWebhook, sipTarget, spokenText, type WebhookAnswer } from "./lib/webhook.ts";
import { stopAllWrangler, wrangler } from "./lib/wrangler.ts";
import { serializeAgentConfig, type AgentConfig } from "../src/agents/schema.ts";
import { DEFAULT_RETELL_BASE_URL } from "../src/retell/register.ts";
import { DRY_RUN_CALL_ID } from "../src/twilio/params.ts";

const USAGE = `Usage: npm run demo [-- --stand-in] [-- --keep] [-- --config FILE]

Runs the Worker locally (wrangler dev, local KV and D1 in a temporary folder) and places three simulated
Twilio calls: one to a mapped number, one to an unknown number, one while Retell is down; then the first
call's agent transfers the caller to a person twice (nobody answers the first, and the caller is back with the
agent; the second is answered); then the agent calls a customer (POST /api/calls); then a line that takes one
call at a time holds a second caller in its queue and connects them once the first call ends; then a known
customer dials a line whose pre-call hook (a local stand-in for the operator's CRM) greets them by name; then the
first call's events arrive, signed, at a local receiver standing in for your endpoint. Offline; leaves nothing
running. Twilio's REST API is always a local stand-in; Retell is one unless RETELL_API_KEY is set (environment
or .dev.vars); --stand-in forces the stand-in. At the end it prints the operator page's address with the demo's
calls in it; run in a terminal (or with --keep), it keeps the Worker up for the page until Ctrl-C.`;

/** How long the demo waits for its calls' records to reach D1 (each line object copies them about a second after a change). */
const RECORDS_WAIT_MS = 15_000;

const DEMO = {
  line: "+14155550123",
  downLine: "+14155550124",
  busyLine: "+14155550125",
  busyCallers: ["+14155550191", "+14155550192"],
  unknown: "+14155550177",
  caller: "+14155550199",
  customer: "+14155550166",
  fallback: "+14155550142",
  sales: "+14155550150",
  support: "sip:desk@pbx.example.com",
  hookLine: "+14155550126",
  knownCaller: "+14155550188",
  knownName: "Ada Lovelace",
  agent: "agent_demoFrontDesk",
  downAgent: "agent_demoAfterHours",
};

const rule = (title: string) => out(`\n── ${title} ${"─".repeat(Math.max(3, 96 - title.length))}`);
const indent = (text: string, prefix = "   ") => text.split("\n").map((l) => prefix + l).join("\n");
const mask = (secret: string) => (secret.length <= 8 ? "****" : `${secret.slice(0, 4)}…${secret.slice(-2)}`);

/** TwiML with one element per line, indented by depth, for reading. */
function prettyTwiml(xml: string): string {
  let depth = 0;
  return xml.replace(/></g, ">\n<").split("\n").map((line) => {
    if (/^<\//.test(line)) depth--;
    const text = "  ".repeat(Math.max(depth, 0)) + line;
    if (/^<[A-Za-z][^>]*[^/]>$/.test(line) && !/<\//.test(line)) depth++;
    return text;
  }).join("\n");
}

function printRequest(webhook: ReturnType<typeof signedWebhook>): void {
  out(" → Twilio's webhook request (signed with the demo auth token):");
  out(`   POST ${webhook.url}`);
  for (const [k, v] of Object.entries(webhook.headers)) out(`   ${k}: ${v}`);
  out("");
  out(indent(webhook.body.split("&").join("\n&"), "   "));
}

function printAnswer(answer: WebhookAnswer): void {
  out(` ← the Worker's answer: HTTP ${answer.status} ${answer.contentType} in ${answer.ms} ms`);
  out(indent(prettyTwiml(answer.text)));
}

async function printLog(dev: DevServer, callSid: string): Promise<void> {
  const line = await dev.waitForLine((l) => l.includes(callSid) && l.includes('"twilio.voice"'), 5_000);
  out(" ≡ the Worker's log line (from wrangler dev's output):");
  out(line ? indent(line.slice(line.indexOf("{"))) : "   (not seen within 5 s)");
}

function printRegistrations(retell: RetellStandIn | undefined, agentId: string, since: number): void {
  if (!retell) {
    out(" ⇄ Retell: the real API (RETELL_API_KEY is configured), so its side is not shown here.");
    return;
  }
  const seen = retell.requests.filter((r) => r.at >= since && (r.body as { agent_id?: string } | undefined)?.agent_id === agentId);
  if (seen.length === 0) {
    out(" ⇄ Retell stand-in: no registration received.");
    return;
  }
  for (const [i, r] of seen.entries()) {
    const auth = String(r.headers.authorization ?? "").replace(/^Bearer (.+)$/, (_, k: string) => `Bearer ${mask(k)}`);
    out(` ⇄ Retell stand-in received${seen.length > 1 ? ` (attempt ${i + 1} of ${seen.length})` : ""}: ${r.method} ${r.path}  Authorization: ${auth}`);
    if (i === 0) out(indent(JSON.stringify(r.body, null, 2), "     "));
    out(`     and answered HTTP ${r.status}${r.callId ? ` with call_id ${r.callId}` : ""}`);
  }
}

/** The transfer function's request as Retell sends it: `{ name, call, args }`, signed with the Retell API key. */
async function transferRequest(url: string, apiKey: string, call: { callId: string; callSid: string; line: string }, args: Record<string, string>) {
  const body = JSON.stringify({
    name: "transfer_call",
    call: { call_id: call.callId, agent_id: DEMO.agent, call_status: "ongoing", metadata: { twilio_call_sid: call.callSid, twilio_line: call.line } },
    args,
  });
  out(` → Retell calls the custom function: POST ${url}  x-retell-signature: v=…,d=…`);
  out(indent(JSON.stringify({ name: "transfer_call", args }, null, 2), "     "));
  const started = Date.now();
  const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json", "x-retell-signature": await sign(body, apiKey) }, body, signal: AbortSignal.timeout(15_000) });
  const answer = await res.text();
  out(` ← the Worker's answer (handed to the model): HTTP ${res.status} in ${Date.now() - started} ms ${answer}`);
  return { status: res.status, answer };
}

/** The `<Dial action>` URL of a TwiML document, unescaped. */
function dialAction(twiml: string): string {
  return /<Dial [^>]*action="([^"]*)"/.exec(twiml)?.[1]?.replaceAll("&amp;", "&") ?? "";
}

/** The call update Twilio's stand-in received last for `callSid`: its TwiML, printed. */
function printUpdate(twilio: TwilioStandIn, callSid: string): string {
  const update = twilio.requests.filter((r) => r.path.endsWith(`/Calls/${callSid}.json`)).at(-1);
  if (!update) {
    out(" ⇄ Twilio stand-in: no call update received.");
    return "";
  }
  const twiml = update.form.Twiml?.[0] ?? "";
  out(` ⇄ Twilio stand-in received: ${update.method} ${update.path} (Basic auth with the call's account) and answered HTTP ${update.status}; Twiml:`);
  out(indent(prettyTwiml(twiml), "     "));
  return twiml;
}

/** How many of the calls have reached D1 (GET /api/calls/:callSid answers), waiting up to RECORDS_WAIT_MS for all. */
async function waitForRecords(url: string, adminToken: string, callSids: string[]): Promise<number> {
  const deadline = Date.now() + RECORDS_WAIT_MS;
  let found = 0;
  while (true) {
    const answers = await Promise.all(callSids.map((sid) => fetch(`${url}/api/calls/${sid}`, { headers: { Authorization: `Bearer ${adminToken}` } }).then((r) => r.ok, () => false)));
    found = answers.filter(Boolean).length;
    if (found === callSids.length || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, { "stand-in": { type: "boolean" }, keep: { type: "boolean" }, config: { type: "string", short: "c" } }, "npm run demo");
  if (parsed.help) {
    out(USAGE);
    return EXIT.ok;
  }
  expectPositionals(parsed.positionals, [], "npm run demo");
  const configPath = resolve(parsed.flags.config ?? DEFAULT_CONFIG);
  const config = readWranglerConfig(configPath);
  const settings = new Settings(configPath);
  const realKey = parsed.flags["stand-in"] ? undefined : settings.get("RETELL_API_KEY");
  const started = Date.now();
  const tmp = mkdtempSync(join(tmpdir(), "bridge-demo-"));
  let retell: RetellStandIn | undefined;
  let twilio: TwilioStandIn | undefined;
  let receiver: ReceiverStandIn | undefined;
  let crm: HookStandIn | undefined;
  let dev: DevServer | undefined;
  let stopDev: (() => Promise<void>) | undefined;
  let devStarting: Promise<DevServer> | undefined;
  let stopping: Promise<void> | undefined;
  // Every stage of the start-up can be cut short (an error, Ctrl-C): stop wrangler dev once it exists, wait for
  // its start to give up, then every other wrangler this command started (the KV seeding, the D1 migrations),
  // each as a whole process group, before the state folder they write to is deleted.
  const cleanup = () => (stopping ??= (async () => {
    await stopDev?.();
    await devStarting?.catch(() => undefined);
    await stopDev?.();
    await stopAllWrangler();
    await retell?.close();
    await twilio?.close();
    await receiver?.close();
    await crm?.close();
    rmSync(tmp, { recursive: true, force: true });
  })());
  const unregister = onInterrupt(cleanup);

  try {
    out("Twilio → Retell bridge: offline demo");
    out(`Local state for this run: ${tmp} (deleted at the end)`);
    const retellKey = realKey?.value ?? `key_demo_${randomBytes(8).toString("hex")}`;
    let retellBase = settings.value("RETELL_BASE_URL") ?? DEFAULT_RETELL_BASE_URL;
    if (!realKey) {
      retell = await startRetellStandIn({ apiKey: retellKey });
      retellBase = retell.url;
      out("");
      const box = [
        "RETELL STAND-IN: a local imitation of Retell's API, NOT the real Retell.",
        `Listening on ${retell.url}`,
        "No call is registered with Retell; nothing leaves this machine.",
        "Set RETELL_API_KEY (environment or .dev.vars) to demo against the real API.",
      ];
      const width = Math.max(...box.map((l) => l.length)) + 4;
      out(`  ┌${"─".repeat(width)}┐`);
      for (const line of box) out(`  │  ${line.padEnd(width - 2)}│`);
      out(`  └${"─".repeat(width)}┘`);
    } else {
      out(`Retell: the real API at ${retellBase} with RETELL_API_KEY from ${realKey.source} (registrations are real).`);
    }

    const authToken = `demo_twilio_token_${randomBytes(12).toString("hex")}`;
    const accountSid = hexId("AC");
    // Placing calls takes CALLS_TOKEN, at least 32 characters (docs/outbound-permissions.md).
    const callsToken = `demo_calls_${randomBytes(16).toString("hex")}`;
    const adminToken = `demo_admin_${randomBytes(12).toString("hex")}`;
    // Outbound calls go to Twilio's REST API: always a local stand-in here, so the demo never places a real call.
    twilio = await startTwilioStandIn({ accountSid, authToken });
    out(`Twilio: a local stand-in of its REST API at ${twilio.url} (no real call is ever placed or moved by the demo).`);
    // Call events go to a local receiver standing in for the operator's endpoint, which verifies every signature.
    const signingSecret = `whsec_${randomBytes(32).toString("base64")}`;
    receiver = await startReceiverStandIn({ secret: signingSecret });
    const eventsUrl = `${receiver.url}/call-events`;
    out(`Your endpoint: a local receiver at ${eventsUrl}, verifying each call event's signature with the standardwebhooks package.`);
    // The operator's CRM behind the pre-call hook: a local stand-in that verifies the Worker's signature.
    crm = await startHookStandIn({ secret: signingSecret });
    crm.setBehaviour("crm", { mode: "crm", crm: { [DEMO.knownCaller]: DEMO.knownName } });
    const hookUrl = `${crm.url}/hooks/crm`;
    out(`Operator's CRM: a local stand-in of a pre-call hook at ${hookUrl} (verifies each request's signature).`);
    const store: Store = { mode: "local", persistTo: tmp, configPath };
    const mappings: [string, AgentConfig][] = [
      [DEMO.line, { retellAgentId: DEMO.agent, name: "Demo front desk", fallbackNumber: DEMO.fallback, dynamicVariables: { business_name: "Demo Dental" }, transfers: { sales: DEMO.sales, support: DEMO.support } }],
      [DEMO.downLine, { retellAgentId: realKey ? "agent_demoDoesNotExist" : DEMO.downAgent, name: "Demo after-hours line", fallbackNumber: DEMO.fallback }],
      [DEMO.busyLine, { retellAgentId: DEMO.agent, name: "Demo busy line", maxConcurrentCalls: 1, maxHoldSeconds: 60, holdMessage: "All our lines are busy. Please hold." }],
      [DEMO.hookLine, { retellAgentId: DEMO.agent, name: "Demo line with a pre-call hook", dynamicVariables: { business_name: "Demo Dental" }, callHook: { url: hookUrl, timeoutMs: 2_000 } }],
    ];
    const d1 = config.d1Databases.find((d) => d.fields.binding);
    const migrationsDir = d1 ? join(dirname(configPath), d1.fields.migrations_dir ?? "migrations") : undefined;

    // The KV seeding and the D1 migrations run before wrangler dev, one at a time: each is a workerd of its own on
    // the same state folder, and two of them opening its SQLite files at once fail with SQLITE_BUSY.
    out("\nSeeding local KV and applying D1 migrations…");
    await putMany(store, [
      ...mappings.map(([key, agent]) => ({ key, value: serializeAgentConfig(agent) })),
      { key: WEBHOOKS_KEY, value: JSON.stringify([{ id: "demo", url: eventsUrl }]) },
    ]);
    out(`  ✓ local KV (binding ${AGENTS_BINDING}): ${mappings.map(([k, a]) => `${k} → ${a.retellAgentId}`).join(", ")}; ${WEBHOOKS_KEY} → ${eventsUrl}`);
    if (d1 && migrationsDir && existsSync(migrationsDir)) {
      await wrangler(["d1", "migrations", "apply", d1.fields.binding as string, "--local", "--persist-to", tmp, "--config", configPath], "Applying D1 migrations locally");
      out(`  ✓ local D1 (binding ${d1.fields.binding}): migrations in ${migrationsDir} applied`);
    }
    out("\nStarting the Worker with wrangler dev…");
    devStarting = startDev({
      configPath,
      persistTo: tmp,
      onSpawn: (stop) => {
        stopDev = stop;
        if (stopping) void stop();
      },
      vars: {
        TWILIO_AUTH_TOKEN: authToken,
        RETELL_API_KEY: retellKey,
        RETELL_BASE_URL: retellBase,
        RETELL_TIMEOUT_MS: "3000",
        TWILIO_ACCOUNT_SID: accountSid,
        TWILIO_API_BASE_URL: twilio.url,
        ADMIN_TOKEN: adminToken,
        WEBHOOK_SIGNING_SECRET: signingSecret,
        CALLS_TOKEN: callsToken,
      },
    });
    dev = await devStarting;
    // Twilio signs the URL it calls; the Worker here sees that same URL (no WEBHOOK_BASE_URL set).
    const voiceUrl = `${dev.url}/api/webhooks/twilio`;
    out(`  ✓ Worker listening on ${dev.url} (wrangler dev, pid ${dev.pid}); Twilio would call ${voiceUrl}`);

    const results: { title: string; ok: boolean; detail: string }[] = [];
    const call = async (to: string, from: string = DEMO.caller) => {
      const webhook = signedWebhook({ url: voiceUrl, authToken, params: inboundCallParams({ from, to, accountSid }) });
      const since = Date.now();
      printRequest(webhook);
      const answer = await sendWebhook(webhook);
      return { webhook, answer, since, callSid: webhook.params.CallSid as string };
    };

    rule(`1. A caller dials the demo line ${DEMO.line}`);
    const first = await call(DEMO.line);
    printRegistrations(retell, DEMO.agent, first.since);
    printAnswer(first.answer);
    await printLog(dev, first.callSid);
    const sip = sipTarget(first.answer.text);
    results.push({ title: "mapped number → SIP dial to Retell", ok: first.answer.status === 200 && sip !== null && !sip.startsWith(`sip:${DRY_RUN_CALL_ID}`), detail: sip ?? first.answer.text.slice(0, 120) });
    out(sip ? `\n   Twilio now dials ${sip}: Retell's agent ${DEMO.agent} answers the caller.` : "");

    rule(`2. A caller dials ${DEMO.unknown}, which has no agent`);
    const second = await call(DEMO.unknown);
    printAnswer(second.answer);
    await printLog(dev, second.callSid);
    const said = spokenText(second.answer.text);
    results.push({ title: "unknown number → not-in-service message", ok: second.answer.status === 200 && /not in service/.test(said ?? ""), detail: said ?? second.answer.text.slice(0, 120) });
    out(`\n   Nothing is registered with Retell; the caller hears: "${said ?? "?"}"`);

    rule(`3. Retell is down while a caller dials ${DEMO.downLine}`);
    if (retell) {
      retell.setBehaviour(DEMO.downAgent, { status: 503 });
      out("   (the stand-in now answers HTTP 503 for this line's agent, as Retell would during an outage)");
    } else {
      out("   (real Retell: an agent id that does not exist stands in for the outage; Retell refuses the call)");
    }
    const third = await call(DEMO.downLine);
    printRegistrations(retell, DEMO.downAgent, third.since);
    printAnswer(third.answer);
    await printLog(dev, third.callSid);
    const dialed = numberTarget(third.answer.text);
    results.push({ title: "Retell down → fallback number dialed", ok: third.answer.status === 200 && dialed === DEMO.fallback, detail: dialed ?? third.answer.text.slice(0, 120) });
    out(`\n   The Worker gave up on Retell within its time budget and sent the caller to the fallback ${dialed ?? "?"}.`);

    rule(`4. The agent on call 1 transfers the caller to a person`);
    const transferUrl = `${dev.url}/api/webhooks/retell/transfer`;
    const firstLeg = { callId: /^sip:([^@]+)@/.exec(sip ?? "")?.[1] ?? "", callSid: first.callSid, line: DEMO.line };
    const twilioAction = async (url: string, dial: Record<string, string>) => {
      const params = { ...inboundCallParams({ from: DEMO.caller, to: DEMO.line, accountSid }), CallSid: first.callSid, CallStatus: "in-progress", DialCallSid: hexId("CA"), ...dial };
      out(` → Twilio posts the dial's action: POST ${url}
   ${Object.entries(dial).map(([k, v]) => `${k}=${v}`).join("&")}`);
      const answer = await sendWebhook(signedWebhook({ url, authToken, params }));
      printAnswer(answer);
      return answer;
    };
    out("   The caller asks for sales; the agent calls the transfer function (its destination is a name, never a number):");
    const toSales = await transferRequest(transferUrl, retellKey, firstLeg, { destination: "sales", announce: "A caller about a billing question, transferred by the front-desk assistant." });
    const salesTwiml = printUpdate(twilio, first.callSid);
    const salesAction = dialAction(salesTwiml);
    results.push({ title: "transfer function → Twilio call update dialing sales, with a whisper", ok: toSales.status === 200 && /"ok":true/.test(toSales.answer) && new RegExp(`<Number url="[^"]*transfer-whisper[^"]*">\\${DEMO.sales}</Number>`).test(salesTwiml), detail: toSales.answer });
    out("\n   Redirecting the call ends its SIP leg to Retell; Twilio reports that dial too, which must not end the call:");
    const interrupted = await twilioAction(dialAction(first.answer.text), { DialCallStatus: "completed", DialCallDuration: "48" });
    results.push({ title: "interrupted SIP dial's report → the call goes on", ok: numberTarget(interrupted.text) === DEMO.sales, detail: numberTarget(interrupted.text) ?? interrupted.text.slice(0, 120) });
    out("\n   Nobody at sales answers within the ring time:");
    const back = await twilioAction(salesAction, { DialCallStatus: "no-answer" });
    const backSip = sipTarget(back.text);
    const backRegistration = retell?.requests.filter((r) => (r.body as { agent_id?: string } | undefined)?.agent_id === DEMO.agent).at(-1);
    const backVariables = (backRegistration?.body as { retell_llm_dynamic_variables?: Record<string, string> } | undefined)?.retell_llm_dynamic_variables;
    if (backRegistration) {
      out(` ⇄ Retell stand-in received: ${backRegistration.method} ${backRegistration.path}, a new call for ${DEMO.agent} with retell_llm_dynamic_variables:`);
      out(indent(JSON.stringify(backVariables, null, 2), "     "));
      out(`     and answered HTTP ${backRegistration.status} with call_id ${backRegistration.callId ?? "?"}`);
    }
    const toldWhy = retell ? backVariables?.transfer_failed === "sales" : true;
    results.push({ title: "nobody answered → back to the agent on a new Retell call (transfer_failed=sales)", ok: backSip !== null && backSip !== sip && toldWhy, detail: backSip ?? back.text.slice(0, 120) });
    out(`\n   The caller is back with the agent, whose prompt can use {{transfer_failed}} ("nobody in sales is free, can I take a message?").`);
    out("   The caller asks for support instead; the new AI leg calls the function:");
    const secondLeg = { ...firstLeg, callId: /^sip:([^@]+)@/.exec(backSip ?? "")?.[1] ?? "" };
    const toSupport = await transferRequest(transferUrl, retellKey, secondLeg, { destination: "support" });
    const supportTwiml = printUpdate(twilio, first.callSid);
    const supportAction = dialAction(supportTwiml);
    const done = await twilioAction(supportAction, { DialCallStatus: "completed", DialCallDuration: "95" });
    results.push({ title: "transfer to support answered → the call ends", ok: /"ok":true/.test(toSupport.answer) && sipTarget(supportTwiml) === DEMO.support && /<Hangup\/>/.test(done.text), detail: sipTarget(supportTwiml) ?? toSupport.answer });

    rule(`5. The agent calls a customer: POST /api/calls from ${DEMO.line} to ${DEMO.customer}`);
    const body = { to: DEMO.customer, from: DEMO.line, dynamicVariables: { first_name: "Ada" }, machineDetection: "hangup" };
    out(` → POST ${dev.url}/api/calls  Authorization: Bearer ${mask(callsToken)}`);
    out(indent(JSON.stringify(body)));
    const placedAt = Date.now();
    const res = await fetch(`${dev.url}/api/calls`, { method: "POST", headers: { Authorization: `Bearer ${callsToken}`, "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const placed = (await res.json()) as { callSid?: string; status?: string };
    out(` ← HTTP ${res.status} ${JSON.stringify(placed)}`);
    const create = twilio.requests.find((r) => r.path.endsWith("/Calls.json") && r.form.To?.[0] === DEMO.customer);
    if (create) {
      out(" ⇄ Twilio stand-in received POST …/Calls.json (form fields):");
      for (const [k, v] of Object.entries(create.form)) out(`     ${k}=${v.join(`&${k}=`)}`);
    }
    const answerUrl = create?.form.Url?.[0];
    let outboundSip: string | null = null;
    if (answerUrl && placed.callSid) {
      out("\n   The customer picks up: Twilio's machine detection says a person answered, and Twilio fetches the call's Url.");
      const params = { AccountSid: accountSid, ApiVersion: "2010-04-01", CallSid: placed.callSid, CallStatus: "in-progress", Direction: "outbound-api", From: DEMO.line, To: DEMO.customer, AnsweredBy: "human" };
      const webhook = signedWebhook({ url: answerUrl, authToken, params });
      printRequest(webhook);
      const answer = await sendWebhook(webhook);
      printRegistrations(retell, DEMO.agent, placedAt);
      printAnswer(answer);
      outboundSip = sipTarget(answer.text);
      out(outboundSip ? `\n   Twilio now dials ${outboundSip}: the agent talks to the customer, as an outbound call.` : "");
    }
    results.push({ title: "outbound call → placed, then SIP dial once answered", ok: res.status === 201 && outboundSip !== null, detail: outboundSip ?? `HTTP ${res.status} ${JSON.stringify(placed)}` });

    rule(`6. The busy line ${DEMO.busyLine} takes one call at a time (maxConcurrentCalls 1); a second caller dials`);
    const busyCall = async (from: string) => {
      const webhook = signedWebhook({ url: voiceUrl, authToken, params: inboundCallParams({ from, to: DEMO.busyLine, accountSid }) });
      printRequest(webhook);
      const answer = await sendWebhook(webhook);
      printAnswer(answer);
      return { answer, params: webhook.params };
    };
    const queueUrls = (twiml: string) => {
      const match = /<Enqueue action="([^"]*)" method="POST" waitUrl="([^"]*)"/.exec(twiml);
      return match ? { action: (match[1] as string).replaceAll("&amp;", "&"), waitUrl: (match[2] as string).replaceAll("&amp;", "&") } : null;
    };
    const busyFirst = await busyCall(DEMO.busyCallers[0] as string);
    out("\n   The line is now full. The second caller is held in the line's Twilio queue:");
    const busySecond = await busyCall(DEMO.busyCallers[1] as string);
    const queue = queueUrls(busySecond.answer.text);
    const queueTurn = async (url: string, extra: Record<string, string>) => {
      out(` → Twilio posts ${url}\n   ${Object.entries(extra).map(([k, v]) => `${k}=${v}`).join("&")}`);
      const answer = await sendWebhook(signedWebhook({ url, authToken, params: { ...busySecond.params, CallStatus: "in-progress", ...extra } }));
      printAnswer(answer);
      return answer;
    };
    let heldThenConnected: string | null = null;
    if (queue) {
      const waiting = await queueTurn(queue.waitUrl, { QueuePosition: "1", QueueTime: "5", CurrentQueueSize: "1" });
      out("\n   The first call ends: Twilio reports its AI leg's dial, which frees the line's place:");
      await sendWebhook(signedWebhook({ url: dialAction(busyFirst.answer.text), authToken, params: { ...busyFirst.params, CallStatus: "in-progress", DialCallStatus: "completed", DialCallDuration: "40" } }));
      out("   At the held caller's next turn the line lets them go, and the Enqueue action connects them:");
      const leaving = await queueTurn(queue.waitUrl, { QueuePosition: "1", QueueTime: "45", CurrentQueueSize: "1" });
      const connected = await queueTurn(queue.action, { QueueResult: "leave", QueueTime: "45" });
      heldThenConnected = /<Say>/.test(waiting.text) && /<Leave\/>/.test(leaving.text) ? sipTarget(connected.text) : null;
      out(heldThenConnected ? `\n   Twilio now dials ${heldThenConnected}: the caller who held reaches the agent.` : "");
    }
    results.push({ title: "line full → second caller held, then connected when the first call ends", ok: sipTarget(busyFirst.answer.text) !== null && heldThenConnected !== null, detail: heldThenConnected ?? busySecond.answer.text.slice(0, 120) });
    rule(`7. A known customer dials ${DEMO.hookLine}, whose agent asks the operator's CRM first (pre-call hook)`);
    const hooked = await call(DEMO.hookLine, DEMO.knownCaller);
    const asked = crm.requests.filter((r) => r.hook === "crm" && r.at >= hooked.since);
    for (const r of asked) {
      out(` ⇄ the CRM stand-in received POST /hooks/crm, signature ${r.verified ? "verified with standardwebhooks" : "NOT verified"} (webhook-id ${String(r.headers["webhook-id"])}):`);
      out(indent(JSON.stringify(r.body, null, 2), "     "));
      out(`     and answered HTTP ${r.status}${r.status === 200 ? ` {"call_inbound":{"dynamic_variables":{"customer_name":"${DEMO.knownName}"}}}` : ""}`);
    }
    printRegistrations(retell, DEMO.agent, hooked.since);
    printAnswer(hooked.answer);
    await printLog(dev, hooked.callSid);
    const greeted = retell?.requests.filter((r) => r.at >= hooked.since && (r.body as { agent_id?: string } | undefined)?.agent_id === DEMO.agent).at(-1);
    const name = (greeted?.body as { retell_llm_dynamic_variables?: Record<string, string> } | undefined)?.retell_llm_dynamic_variables?.customer_name;
    const hookOk = asked.length === 1 && asked[0]?.verified === true && sipTarget(hooked.answer.text) !== null && (retell ? name === DEMO.knownName : true);
    results.push({ title: "pre-call hook → the caller greeted by name (customer_name)", ok: hookOk, detail: name ?? sipTarget(hooked.answer.text) ?? hooked.answer.text.slice(0, 120) });
    out(`\n   The agent's prompt can open with "Hello {{customer_name}}": the CRM decided, in Retell's own inbound-webhook shape.`);

    rule(`8. Call 1's events arrive at your endpoint`);
    out(" → Twilio reports call 1 over (its final status callback):");
    const statusParams = { ...inboundCallParams({ from: DEMO.caller, to: DEMO.line, accountSid }), CallSid: first.callSid, CallStatus: "completed", CallDuration: "180" };
    const status = await sendWebhook(signedWebhook({ url: `${dev.url}/api/webhooks/twilio/status`, authToken, params: statusParams }));
    out(` ← HTTP ${status.status}`);
    out("   The call's line sends each change's event through the local queue; the receiver takes them:");
    const ofCall = () => receiver?.requests.filter((r) => r.body.includes(first.callSid)) ?? [];
    const until = Date.now() + 30_000;
    while (!ofCall().some((r) => r.body.includes('"type":"call.ended"')) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    const events = ofCall().map((r) => ({ r, e: JSON.parse(r.body) as { type: string; sequence: number; data: { outcome: string | null; twilioStatus: string | null } } }));
    for (const { r, e } of events) {
      out(` ⇐ ${r.headers["webhook-id"]}  #${e.sequence} ${e.type.padEnd(16)} signature ${r.verified ? "✓ verified" : "✗ NOT verified"}  (outcome ${e.data.outcome}, Twilio status ${e.data.twilioStatus ?? "–"})`);
    }
    const shown = events[events.length - 1];
    if (shown) {
      out(`   Headers of the last one: webhook-id, webhook-timestamp ${shown.r.headers["webhook-timestamp"]}, webhook-signature ${shown.r.headers["webhook-signature"]?.slice(0, 12)}…`);
    }
    const types = events.map(({ e }) => e.type);
    const inOrder = events.every(({ e }, i) => e.sequence === i + 1);
    const expectedTypes = ["call.started", "transfer.started", "transfer.ended", "transfer.started", "transfer.ended", "call.ended"];
    results.push({
      title: "call 1's events → your endpoint, in order, every signature verified",
      ok: JSON.stringify(types) === JSON.stringify(expectedTypes) && inOrder && events.every(({ r }) => r.verified),
      detail: types.join(", ") || "none arrived within 30 s",
    });

    rule("Summary");
    for (const r of results) out(`  ${r.ok ? "✓" : "✗"} ${r.title}: ${r.detail}`);
    const failed = results.filter((r) => !r.ok).length;
    // Kept up only for a person at a terminal (or when asked): CI and scripts get the exit they always had.
    if (failed === 0 && (process.stdin.isTTY || parsed.flags.keep)) {
      const recorded = await waitForRecords(dev.url, adminToken, [first.callSid, second.callSid, third.callSid, ...(placed.callSid ? [placed.callSid] : [])]);
      rule("The operator page");
      out(`  Operator page: ${dev.url}/admin`);
      out(`  Admin token:   ${adminToken}   (this run's own, made up for the demo)`);
      out(`  ${recorded} of the demo's calls are recorded there; open each for its timeline (docs/admin-page.md).`);
      out("\nThe Worker stays up for the page. Press Ctrl-C to stop it and delete the demo's state.");
      return await new Promise<number>(() => {});
    }
    await cleanup();
    out(`\n${failed === 0 ? "Demo finished" : "Demo FAILED"} in ${((Date.now() - started) / 1000).toFixed(1)} s; wrangler dev, the Twilio and CRM stand-ins, the receiver${retell ? " and the Retell stand-in" : ""} stopped, temporary state deleted.`);
    out("Next: `npm run demo` in a terminal keeps the Worker up to show these calls at /admin; `npm run dev` runs the Worker yourself, `npm run deploy` puts it live (docs/operations.md).");
    if (failed > 0) throw new CliError(`${failed} of ${results.length} demo calls did not get the expected answer.`, { details: dev.lines.slice(-20) });
    return EXIT.ok;
  } finally {
    await cleanup();
    unregister();
  }
}

await runMain(() => main(process.argv.slice(2)));
