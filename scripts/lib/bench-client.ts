/**
 * The bench's client side, shared by `npm run bench` (scripts/bench.ts) and `npm run profile` (scripts/profile.ts):
 * keep-alive POSTs, the agents it seeds, and the Twilio-signed voice webhook it sends.
 */
import http from "node:http";
import { getExpectedTwilioSignature } from "twilio/lib/webhooks/webhooks.js";
import { validateAgentConfig } from "../../src/agents/schema.ts";
import { BLOCKLIST_KEY, parseBlocklist } from "../../src/rules/blocklist.ts";
import { BLOCKLIST, ROUTING_RULES } from "./bench-call.ts";
import type { LocalWorker } from "./workerd.ts";

/** The Twilio auth token the bench's Workers are given, and its webhooks are signed with. */
export const BENCH_TWILIO_TOKEN = "bench_twilio_auth_token";

/** Signs the bench's hook requests (the Worker's WEBHOOK_SIGNING_SECRET); 32 bytes, as `whsec_`. */
export const BENCH_SIGNING_SECRET = `whsec_${Buffer.from("bench webhook signing secret 32b").toString("base64")}`;

/** One request of a run: true when it got the answer expected. */
export type Send = (i: number) => Promise<boolean>;

/** Keep-alive, as Twilio's and Retell's clients are: a new connection per request would measure the handshake. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** Closes the keep-alive connections, so the process can end. */
export function closeClient(): void {
  agent.destroy();
}

let sequence = 0;

export function post(url: URL, body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", agent, headers: { ...headers, "Content-Length": String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * Each number's agent with ROUTING_RULES, and the global blocklist. Both are validated as the Worker will read
 * them first: the Worker would treat a bad agent as a configuration error, and a bad blocklist as none at all.
 */
export async function seedAgents(worker: LocalWorker, numbers: string[], extra: Record<string, unknown> = {}): Promise<void> {
  const kv = await worker.kv("AGENTS");
  for (const [i, n] of numbers.entries()) {
    const agent = { retellAgentId: `agent_bench${i}`, ...ROUTING_RULES, ...extra };
    const checked = validateAgentConfig(agent);
    if (!checked.ok) throw new Error(`bench agent for ${n}: ${checked.detail}`);
    await kv.put(n, JSON.stringify(agent));
  }
  const blocklist = JSON.stringify(BLOCKLIST);
  const checked = parseBlocklist(blocklist);
  if (!checked.ok) throw new Error(`bench blocklist: ${checked.detail}`);
  await kv.put(BLOCKLIST_KEY, blocklist);
}

/**
 * A Twilio-signed voice webhook for a fresh CallSid, from a caller of its own (never blocked, never over the caller
 * limit), to numbers[i % length]; it succeeds only when answered with Retell's SIP dial, so a call a rule stopped
 * counts as failed.
 */
export function webhookSender(worker: LocalWorker, numbers: string[]): Send {
  const webhook = new URL("/api/webhooks/twilio", worker.url);
  return async (i) => {
    const n = sequence++;
    const params = {
      AccountSid: "AC00000000000000000000000000000000",
      // Twilio's shape exactly: CA and 32 hex digits.
      CallSid: `CA${process.pid.toString(16).padStart(8, "0")}${n.toString(16).padStart(24, "0")}`,
      CallStatus: "ringing",
      Direction: "inbound",
      From: `+1415${String(n % 1e7).padStart(7, "0")}`,
      To: numbers[i % numbers.length] as string,
    };
    const signature = getExpectedTwilioSignature(BENCH_TWILIO_TOKEN, webhook.toString(), params);
    const res = await post(webhook, new URLSearchParams(params).toString(), {
      "Content-Type": "application/x-www-form-urlencoded",
      "X-Twilio-Signature": signature,
    });
    return res.status === 200 && res.text.includes("<Sip>sip:call_");
  };
}

/** Retell's register-phone-call body, straight to `target` (the stand-in or a floor Worker that forwards it). */
export function registerSender(target: URL, numbers: string[], apiKey: string): Send {
  return async (i) => {
    const body = JSON.stringify({ agent_id: "agent_direct", from_number: "+14155550100", to_number: numbers[i % numbers.length], direction: "inbound" });
    const res = await post(target, body, { "Content-Type": "application/json", Authorization: `Bearer ${apiKey}` });
    return res.status === 201;
  };
}
