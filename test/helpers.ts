/**
 * Test helpers: requests signed exactly as Twilio signs them (with the official `twilio` package's
 * helper), the Worker's real entry point, and the Retell stand-in's control API.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import entry from "../src/index.ts";
import { inject } from "vitest";
import { getExpectedTwilioSignature } from "twilio/lib/webhooks/webhooks.js";
import type { HookBehaviour, HookRequestRecord } from "../stand-ins/hook.ts";
import type { Behaviour, RecordedRequest } from "../stand-ins/retell.ts";
import type { Failure, TwilioRequest } from "../stand-ins/twilio.ts";
import { TEST_TWILIO_AUTH_TOKEN } from "./secrets.ts";

export const ORIGIN = "https://bridge.example.com";

let sequence = 0;
/**
 * Random hex digits: test files run side by side in runtimes of their own (two, each shared by the files it runs
 * one after another) whose clocks and `sequence`s may match, while the stand-ins are shared by all, so every id a
 * stand-in or the shared storage keys on carries some.
 */
function randomHex(digits: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(Math.ceil(digits / 2))), (b) => b.toString(16).padStart(2, "0")).join("").slice(0, digits);
}

/** A fresh CallSid per test, so tests never share state (time first, so later calls sort later). */
export function callSid(): string {
  const ordered = `${Date.now().toString(16)}${(++sequence).toString(16).padStart(8, "0")}`;
  return `CA${ordered}${randomHex(32 - ordered.length)}`;
}

/** A fresh E.164 number per test (a valid Australian mobile, +61 40–43, so outbound checks place it in AU). */
export function uniqueNumber(): string {
  return `+614${Math.floor(Math.random() * 4)}${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`;
}

/** A fresh Retell-format agent id per test. */
export function uniqueAgentId(label = "t"): string {
  return `agent_${label}${Date.now().toString(36)}${(++sequence).toString(36)}${randomHex(6)}`;
}

/**
 * A fresh caller per test call (a valid US +1 415 number: the exchange starts 2–9), so no test runs into the
 * caller rate limit (3 a minute), and an outbound call to it is to a number in the US.
 */
export function uniqueCaller(): string {
  return `+1415${2 + Math.floor(Math.random() * 8)}${String(Math.floor(Math.random() * 1e6)).padStart(6, "0")}`;
}

/** A voice webhook's parameters; without `From`, a caller of its own, as every real call has. */
export function voiceParams(overrides: Record<string, string> = {}): Record<string, string> {
  const from = overrides.From ?? uniqueCaller();
  return {
    AccountSid: "AC00000000000000000000000000000000",
    ApiVersion: "2010-04-01",
    CallSid: callSid(),
    CallStatus: "ringing",
    Called: overrides.To ?? "+61341517921",
    Caller: from,
    Direction: "inbound",
    From: from,
    To: "+61341517921",
    ...overrides,
  };
}

export interface SignOptions {
  token?: string;
  /** The URL Twilio signs (defaults to the URL the request is sent to). */
  signedUrl?: string;
  headers?: Record<string, string>;
}

/** A POST as Twilio sends it: form-encoded body, X-Twilio-Signature made by twilio-node's own helper. */
export function twilioRequest(path: string, params: Record<string, string | string[]>, options: SignOptions = {}): Request {
  const url = ORIGIN + path;
  const signature = getExpectedTwilioSignature(options.token ?? TEST_TWILIO_AUTH_TOKEN, options.signedUrl ?? url, params);
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const v of Array.isArray(value) ? value : [value]) body.append(name, v);
  }
  return new Request(url, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      "X-Twilio-Signature": signature,
      "Accept-Encoding": "gzip",
      "User-Agent": "TwilioProxy/1.1",
      ...options.headers,
    },
    body,
  });
}

/**
 * Sends a request through the Worker's entry point (src/index.ts). The body streams as the Worker writes it, but
 * ends only once the request's `waitUntil` work is done too (the voice webhook stores its answer on the line after
 * the document), so a test that has read the body finds everything the request changed.
 */
export async function worker(request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await entry.fetch(request, env, ctx);
  if (!res.body) {
    await waitOnExecutionContext(ctx);
    return res;
  }
  const settled = new TransformStream<Uint8Array, Uint8Array>({ flush: () => waitOnExecutionContext(ctx) });
  return new Response(res.body.pipeThrough(settled), res);
}

const retellUrl = () => inject("retellBaseUrl");

export async function setRetellBehaviour(agentId: string, behaviour: Behaviour): Promise<void> {
  const res = await fetch(`${retellUrl()}/__stand-in/agents/${encodeURIComponent(agentId)}`, {
    method: "PUT",
    body: JSON.stringify(behaviour),
  });
  if (res.status !== 204) throw new Error(`stand-in control failed: ${res.status}`);
}

/** Ends a Retell call the stand-in counts as ongoing under a `concurrency` behaviour. */
export async function endRetellCall(callId: string): Promise<void> {
  const res = await fetch(`${retellUrl()}/__stand-in/calls/${encodeURIComponent(callId)}/end`, { method: "POST" });
  if (res.status !== 204) throw new Error(`stand-in control failed: ${res.status}`);
}

export async function retellRequests(agentId: string): Promise<RecordedRequest[]> {
  const res = await fetch(`${retellUrl()}/__stand-in/requests?agent_id=${encodeURIComponent(agentId)}`);
  return (await res.json()) as RecordedRequest[];
}

const twilioUrl = () => inject("twilioApiBaseUrl");

/** What the Twilio stand-in received on paths starting with `pathPrefix` (headers reduced to `authorization`). */
export async function twilioRequests(pathPrefix: string): Promise<(Omit<TwilioRequest, "headers"> & { authorization: string | null })[]> {
  const res = await fetch(`${twilioUrl()}/__stand-in/requests?path=${encodeURIComponent(pathPrefix)}`);
  return (await res.json()) as (Omit<TwilioRequest, "headers"> & { authorization: string | null })[];
}

/** Makes the Twilio stand-in fail requests whose path contains `pathPart` (null: stop failing them). */
export async function failTwilio(pathPart: string, failure: Failure | null): Promise<void> {
  const res = await fetch(`${twilioUrl()}/__stand-in/fail?path=${encodeURIComponent(pathPart)}`, { method: "PUT", body: JSON.stringify(failure) });
  if (res.status !== 204) throw new Error(`stand-in control failed: ${res.status}`);
}

/** Reads the TwiML answer's SIP URI, or null. */
export function sipUri(twiml: string): string | null {
  return /<Sip>([^<]*)<\/Sip>/.exec(twiml)?.[1] ?? null;
}

const hookUrl = () => inject("hookBaseUrl");

/** A fresh hook on the hook stand-in (the operator's server): its URL and name. */
export function uniqueHook(label = "h"): { name: string; url: string } {
  const name = `${label}${Date.now().toString(36)}${(++sequence).toString(36)}${randomHex(6)}`;
  return { name, url: `${hookUrl()}/hooks/${name}` };
}

export async function setHookBehaviour(name: string, behaviour: HookBehaviour): Promise<void> {
  const res = await fetch(`${hookUrl()}/__stand-in/hooks/${encodeURIComponent(name)}`, { method: "PUT", body: JSON.stringify(behaviour) });
  if (res.status !== 204) throw new Error(`stand-in control failed: ${res.status}`);
}

export async function hookRequests(name: string): Promise<HookRequestRecord[]> {
  const res = await fetch(`${hookUrl()}/__stand-in/requests?hook=${encodeURIComponent(name)}`);
  return (await res.json()) as HookRequestRecord[];
}
