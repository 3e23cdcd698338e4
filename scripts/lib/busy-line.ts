/**
 * The busy-line part of `npm run load`: one line whose agent has `maxConcurrentCalls`, more simultaneous callers
 * than that, and this script playing Twilio for each call: a connected call stays on its AI leg for a while, then
 * its `<Dial action>` (dial-complete) and final status callback are posted; a held caller's waitUrl is asked, and
 * its turn (message and music) lasts `turnMs`, as long as a real hold track, after which the waitUrl is asked
 * again; a `<Leave/>` is followed by the Enqueue action. When the line dequeues the caller through Twilio's REST
 * API (the Twilio stand-in's Queue Member update), the turn is cut short as Twilio does: the dequeue's Url and the
 * Enqueue action (QueueResult=redirected) are requested at once. It measures what the issue promises: never more
 * than the limit connected at once, every held caller connected or sent on within maxHoldSeconds (a small grace
 * for the requests, not a turn of music), none lost.
 */
import http from "node:http";
import { inboundCallParams, signedWebhook } from "../../cli/lib/webhook.ts";
import type { FormParams } from "../../cli/lib/signature.ts";
import type { StandInDequeue, TwilioStandIn } from "../../stand-ins/twilio.ts";

export interface BusyLineOptions {
  /** Callers, all arriving at once. */
  calls: number;
  maxConcurrentCalls: number;
  maxHoldSeconds: number;
  /** How long a connected call stays on its AI leg, ms. */
  connectedMs: number;
  /** Between two waitUrl requests of a held caller, ms: one hold turn, the message and a whole hold track. */
  turnMs: number;
  /** How far past maxHoldSeconds a caller may leave the queue: the requests' own time on a loaded machine. */
  graceMs: number;
}

/**
 * Turns as long as a real hold track (far longer than maxHoldSeconds), so only the line's REST dequeues keep holds
 * short; six rounds of calls against a 10 s limit, so the last callers run out of time and are sent on.
 */
export const DEFAULT_BUSY_LINE: BusyLineOptions = { calls: 30, maxConcurrentCalls: 5, maxHoldSeconds: 10, connectedMs: 3_000, turnMs: 180_000, graceMs: 5_000 };

export interface BusyLineReport {
  calls: number;
  /** The most calls between their SIP answer and the end of their AI leg, at any moment. */
  maxConnectedAtOnce: number;
  connected: number;
  /** Held at least once. */
  held: number;
  /** Sent to the fallback number or the apology. */
  sentOn: number;
  /** Neither connected nor sent on when the run ended. */
  lost: number;
  /** The longest a caller waited in the queue, from its Enqueue answer to its Leave. */
  longestHoldMs: number;
  /** Held callers who left after maxHoldSeconds plus the grace. */
  heldTooLong: number;
  /** Held callers the line dequeued through Twilio's REST API (the rest left at a waitUrl's `<Leave/>`). */
  dequeuedByRest: number;
  seconds: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", agent, headers: { ...headers, "Content-Length": String(Buffer.byteLength(body)) }, timeout: 15_000 }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end(body);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const unescape = (url: string) => url.replaceAll("&amp;", "&");

/** The queue's SID in the run's waitUrl requests (Twilio's shape, which the line requires to dequeue). */
const QUEUE_SID = "QU" + "0".repeat(32);

/**
 * Runs the busy line against the Worker at `devUrl`, whose KV maps `line` to an agent with the limit, and whose
 * TWILIO_API_BASE_URL is `twilio` (the stand-in that takes the line's Queue Member updates).
 */
export async function runBusyLine(devUrl: string, line: string, authToken: string, accountSid: string, options: BusyLineOptions, twilio: TwilioStandIn): Promise<BusyLineReport> {
  const started = performance.now();
  let connectedNow = 0;
  let maxConnectedAtOnce = 0;
  let dequeuedByRest = 0;
  const send = (url: string, params: FormParams) => {
    const hook = signedWebhook({ url, authToken, params });
    return post(hook.url, hook.body, hook.headers);
  };
  /** Held callers' turns, by CallSid: a REST dequeue ends the one playing. */
  const dequeues = new Map<string, { wake: (dequeue: StandInDequeue) => void; got?: StandInDequeue }>();
  twilio.onDequeue((dequeue) => {
    const waiter = dequeues.get(dequeue.callSid);
    if (waiter) {
      waiter.got = dequeue;
      waiter.wake(dequeue);
    }
  });

  /** One turn: the music plays `turnMs`, unless the line dequeues the caller meanwhile (or did during the waitUrl request). */
  const playTurn = (callSid: string): Promise<StandInDequeue | null> =>
    new Promise((resolve) => {
      const waiter = dequeues.get(callSid) as { wake: (dequeue: StandInDequeue) => void; got?: StandInDequeue };
      if (waiter.got) return resolve(waiter.got);
      const timer = setTimeout(() => resolve(null), options.turnMs);
      waiter.wake = (dequeue) => {
        clearTimeout(timer);
        resolve(dequeue);
      };
    });

  const one = async (i: number): Promise<{ end: "connected" | "sent_on" | "lost"; held: boolean; holdMs: number }> => {
    const params = inboundCallParams({ from: `+1628${String(i).padStart(7, "0")}`, to: line, accountSid });
    const base = { AccountSid: accountSid, ApiVersion: "2010-04-01", CallSid: params.CallSid as string, From: params.From as string, To: line, Direction: "inbound" };
    let twiml = (await send(`${devUrl}/api/webhooks/twilio`, params)).text;
    let held = false;
    let holdMs = 0;
    for (let guard = 0; guard < 10_000; guard++) {
      if (/<Sip>/.test(twiml)) {
        connectedNow++;
        maxConnectedAtOnce = Math.max(maxConnectedAtOnce, connectedNow);
        await sleep(options.connectedMs);
        connectedNow--;
        const action = /<Dial [^>]*action="([^"]*)"/.exec(twiml)?.[1];
        if (action) await send(unescape(action), { ...base, CallStatus: "in-progress", DialCallStatus: "completed", DialCallDuration: String(Math.round(options.connectedMs / 1_000)) });
        await send(`${devUrl}/api/webhooks/twilio/status`, { ...base, CallStatus: "completed", CallDuration: String(Math.round(options.connectedMs / 1_000)), SequenceNumber: "3", Timestamp: new Date().toUTCString() });
        return { end: "connected", held, holdMs };
      }
      const enqueue = /<Enqueue action="([^"]*)" method="POST" waitUrl="([^"]*)"/.exec(twiml);
      if (!enqueue) return { end: /<Number>|<Say>|<Record/.test(twiml) ? "sent_on" : "lost", held, holdMs };
      held = true;
      const queuedAt = performance.now();
      const queueTime = () => String(Math.round((performance.now() - queuedAt) / 1_000));
      dequeues.set(base.CallSid, { wake: () => {} });
      let dequeued: StandInDequeue | null = null;
      for (;;) {
        const turn = (await send(unescape(enqueue[2] as string), { ...base, CallStatus: "in-progress", QueueSid: QUEUE_SID, QueueTime: queueTime() })).text;
        if (turn.includes("<Leave/>")) break;
        dequeued = await playTurn(base.CallSid);
        if (dequeued) break;
      }
      holdMs = Math.max(holdMs, performance.now() - queuedAt);
      const action = { ...base, CallStatus: "in-progress", QueueSid: QUEUE_SID, QueueTime: queueTime() };
      if (dequeued) {
        // Twilio fetches the dequeue's Url and requests the Enqueue action (QueueResult=redirected) at once; the Url's TwiML runs.
        dequeuedByRest++;
        const [viaUrl] = await Promise.all([send(dequeued.url, { ...base, CallStatus: "in-progress" }), send(unescape(enqueue[1] as string), { ...action, QueueResult: "redirected" })]);
        twiml = viaUrl.text;
      } else {
        twiml = (await send(unescape(enqueue[1] as string), { ...action, QueueResult: "leave" })).text;
      }
    }
    return { end: "lost", held, holdMs };
  };

  const results = await Promise.all(Array.from({ length: options.calls }, (_, i) => one(i).catch(() => ({ end: "lost" as const, held: false, holdMs: 0 }))));
  twilio.onDequeue(null);
  const limitMs = options.maxHoldSeconds * 1_000 + options.graceMs;
  return {
    calls: options.calls,
    maxConnectedAtOnce,
    connected: results.filter((r) => r.end === "connected").length,
    held: results.filter((r) => r.held).length,
    sentOn: results.filter((r) => r.end === "sent_on").length,
    lost: results.filter((r) => r.end === "lost").length,
    longestHoldMs: Math.round(Math.max(0, ...results.map((r) => r.holdMs))),
    heldTooLong: results.filter((r) => r.holdMs > limitMs).length,
    dequeuedByRest,
    seconds: (performance.now() - started) / 1_000,
  };
}

/** The busy line's failures, as sentences; empty when everything held. */
export function busyLineProblems(r: BusyLineReport, options: BusyLineOptions): string[] {
  return [
    r.maxConnectedAtOnce > options.maxConcurrentCalls && `${r.maxConnectedAtOnce} calls were connected at once, over maxConcurrentCalls ${options.maxConcurrentCalls}`,
    r.lost > 0 && `${r.lost} callers were neither connected nor sent on`,
    r.heldTooLong > 0 && `${r.heldTooLong} callers were held past maxHoldSeconds (and ${options.graceMs} ms)`,
    r.calls > options.maxConcurrentCalls && r.held === 0 && "nobody was held, so the queue was never exercised",
    r.held > 0 && r.dequeuedByRest === 0 && "no held caller was dequeued through Twilio's REST API",
  ].filter((p): p is string => typeof p === "string");
}
