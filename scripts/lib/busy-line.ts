/**
 * The busy-line part of `npm run load`: one line whose agent has `maxConcurrentCalls`, more simultaneous callers
 * than that, and this script playing Twilio for each call: a connected call stays on its AI leg for a while, then
 * its `<Dial action>` (dial-complete) and final status callback are posted; a held caller's waitUrl is asked at
 * each turn (a short turn, as a short hold clip gives) until `<Leave/>`, then the Enqueue action. It measures what
 * the issue promises: never more than the limit connected at once, every held caller connected or sent on within
 * maxHoldSeconds (and a turn), none lost.
 */
import http from "node:http";
import { inboundCallParams, signedWebhook } from "../../cli/lib/webhook.ts";
import type { FormParams } from "../../cli/lib/signature.ts";

export interface BusyLineOptions {
  /** Callers, all arriving at once. */
  calls: number;
  maxConcurrentCalls: number;
  maxHoldSeconds: number;
  /** How long a connected call stays on its AI leg, ms. */
  connectedMs: number;
  /** Between two waitUrl requests of a held caller, ms (the length of one hold turn). */
  turnMs: number;
}

export const DEFAULT_BUSY_LINE: BusyLineOptions = { calls: 30, maxConcurrentCalls: 5, maxHoldSeconds: 60, connectedMs: 3_000, turnMs: 500 };

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
  /** Held callers who left after maxHoldSeconds plus one turn. */
  heldTooLong: number;
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

/** Runs the busy line against the Worker at `devUrl`, whose KV maps `line` to an agent with the limit. */
export async function runBusyLine(devUrl: string, line: string, authToken: string, accountSid: string, options: BusyLineOptions): Promise<BusyLineReport> {
  const started = performance.now();
  let connectedNow = 0;
  let maxConnectedAtOnce = 0;
  const send = (url: string, params: FormParams) => {
    const hook = signedWebhook({ url, authToken, params });
    return post(hook.url, hook.body, hook.headers);
  };

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
      for (;;) {
        const turn = (await send(unescape(enqueue[2] as string), { ...base, CallStatus: "in-progress", QueueSid: "QU" + "0".repeat(32), QueueTime: String(Math.round((performance.now() - queuedAt) / 1_000)) })).text;
        if (turn.includes("<Leave/>")) break;
        await sleep(options.turnMs);
      }
      holdMs = Math.max(holdMs, performance.now() - queuedAt);
      twiml = (await send(unescape(enqueue[1] as string), { ...base, CallStatus: "in-progress", QueueResult: "leave", QueueTime: String(Math.round(holdMs / 1_000)) })).text;
    }
    return { end: "lost", held, holdMs };
  };

  const results = await Promise.all(Array.from({ length: options.calls }, (_, i) => one(i).catch(() => ({ end: "lost" as const, held: false, holdMs: 0 }))));
  const limitMs = options.maxHoldSeconds * 1_000 + options.turnMs + 2_000;
  return {
    calls: options.calls,
    maxConnectedAtOnce,
    connected: results.filter((r) => r.end === "connected").length,
    held: results.filter((r) => r.held).length,
    sentOn: results.filter((r) => r.end === "sent_on").length,
    lost: results.filter((r) => r.end === "lost").length,
    longestHoldMs: Math.round(Math.max(0, ...results.map((r) => r.holdMs))),
    heldTooLong: results.filter((r) => r.holdMs > limitMs).length,
    seconds: (performance.now() - started) / 1_000,
  };
}

/** The busy line's failures, as sentences; empty when everything held. */
export function busyLineProblems(r: BusyLineReport, options: BusyLineOptions): string[] {
  return [
    r.maxConnectedAtOnce > options.maxConcurrentCalls && `${r.maxConnectedAtOnce} calls were connected at once, over maxConcurrentCalls ${options.maxConcurrentCalls}`,
    r.lost > 0 && `${r.lost} callers were neither connected nor sent on`,
    r.heldTooLong > 0 && `${r.heldTooLong} callers were held past maxHoldSeconds and a turn`,
    r.calls > options.maxConcurrentCalls && r.held === 0 && "nobody was held, so the queue was never exercised",
  ].filter((p): p is string => typeof p === "string");
}
