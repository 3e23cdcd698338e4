/**
 * The re-splitting attack. Twilio's signature is over the URL and each parameter's name and value joined with no
 * separator, so a captured signed request can be cut into other parameters with the same signature
 * (`CallSid=CA…` + `CallStatus=ringing` → `CallSid=CA…CallStatusringing`). From one captured webhook, this
 * property tests generate such re-splits and send each with the captured signature through the Worker: none
 * registers a Retell call of its own, and none turns a dry run (`npm run doctor`) into a real call.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { getExpectedTwilioSignature } from "twilio/lib/webhooks/webhooks.js";
import { DRY_RUN_CALL_ID } from "../../src/twilio/params.ts";
import { ORIGIN, retellRequests, sipUri, uniqueAgentId, uniqueNumber, voiceParams } from "../helpers.ts";
import { withBindings } from "../records.ts";
import { TEST_TWILIO_AUTH_TOKEN } from "../secrets.ts";

const RUNS = 120;
const PATH = "/api/webhooks/twilio";

type Pair = [name: string, value: string];

/** A captured webhook: its parameters in the order Twilio signs them (by name), and its signature. */
interface Captured {
  pairs: Pair[];
  signature: string;
}

function capture(params: Record<string, string>): Captured {
  const pairs = Object.keys(params).sort().map((name): Pair => [name, params[name] as string]);
  return { pairs, signature: getExpectedTwilioSignature(TEST_TWILIO_AUTH_TOKEN, ORIGIN + PATH, params) };
}

/** A request carrying `pairs` with the captured signature, as an attacker would send it. */
function replay(pairs: Pair[], signature: string): Request {
  return new Request(ORIGIN + PATH, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature },
    body: new URLSearchParams(pairs),
  });
}

/**
 * A re-split as cut positions into the joined string: name, value, name, value, … starting at 0. Edits to the
 * captured cuts: move one, drop a name and its value (the value before swallows them), or cut a segment in three.
 */
type Edit = { kind: "move"; at: number; by: number } | { kind: "drop"; at: number } | { kind: "cut"; at: number; length: number };
const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant("move" as const), at: fc.nat(), by: fc.integer({ min: -12, max: 12 }) }),
  fc.record({ kind: fc.constant("drop" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("cut" as const), at: fc.nat(), length: fc.integer({ min: 0, max: 14 }) }),
);

function resplit(pairs: Pair[], edits: Edit[]): Pair[] | null {
  const joined = pairs.map(([n, v]) => n + v).join("");
  const cuts: number[] = [];
  let at = 0;
  for (const [n, v] of pairs) {
    cuts.push(at, at + n.length);
    at += n.length + v.length;
  }
  for (const e of edits) {
    if (e.kind === "move") cuts[1 + (e.at % (cuts.length - 1))]! += e.by;
    else if (e.kind === "drop" && cuts.length > 2) cuts.splice(2 * (1 + (e.at % (cuts.length / 2 - 1))), 2);
    else if (e.kind === "cut") {
      const start = e.at % joined.length;
      cuts.push(start, Math.min(joined.length, start + e.length));
      cuts.sort((a, b) => a - b);
    }
  }
  const result: Pair[] = [];
  for (let i = 0; i < cuts.length; i += 2) {
    const [start, mid, end = joined.length] = [cuts[i]!, cuts[i + 1]!, cuts[i + 2]];
    if (!(start < mid && mid <= end && end <= joined.length)) return null;
    result.push([joined.slice(start, mid), joined.slice(mid, end)]);
  }
  // Names in strictly increasing order: sorted as Twilio sorts them, they join to the captured string again.
  if (cuts[0] !== 0 || result.some(([n], i) => i > 0 && !(result[i - 1]![0] < n))) return null;
  return JSON.stringify(result) === JSON.stringify(pairs) ? null : result;
}

const resplits = (captured: Captured) =>
  fc.array(edit, { minLength: 1, maxLength: 3 }).map((edits) => resplit(captured.pairs, edits)).filter((p): p is Pair[] => p !== null);

/** A number mapped to a fresh agent, and a captured webhook for a call to it. */
async function capturedCall(extra: Record<string, string> = {}): Promise<{ agentId: string; captured: Captured }> {
  const agentId = uniqueAgentId("split");
  const to = uniqueNumber();
  await env.AGENTS.put(to, agentId);
  return { agentId, captured: capture({ ...voiceParams({ To: to }), ...extra }) };
}

/** Sends a re-split and checks it is a re-split Twilio's own validator accepts: the captured signature is its signature. */
async function send(pairs: Pair[], captured: Captured): Promise<{ status: number; text: string }> {
  expect(getExpectedTwilioSignature(TEST_TWILIO_AUTH_TOKEN, ORIGIN + PATH, Object.fromEntries(pairs))).toBe(captured.signature);
  return withBindings(replay(pairs, captured.signature), {});
}

describe("re-splits of a captured voice webhook", () => {
  it("never register a Retell call of their own: each is refused, or answered with the captured call's SIP", async () => {
    const { agentId, captured } = await capturedCall();
    const first = await withBindings(replay(captured.pairs, captured.signature), {});
    const sip = sipUri(first.text);
    expect(sip).toMatch(/^sip:call_/);
    await fc.assert(
      fc.asyncProperty(resplits(captured), async (pairs) => {
        const before = (await retellRequests(agentId)).length;
        const { status, text } = await send(pairs, captured);
        if (status !== 400) expect({ status, sip: sipUri(text) }).toEqual({ status: 200, sip });
        expect(await retellRequests(agentId)).toHaveLength(before);
      }),
      { numRuns: RUNS },
    );
  });

  it("never turn a dry run into a real call: each is refused, or answered as a dry run", async () => {
    const { agentId, captured } = await capturedCall({ BridgeDryRun: "1" });
    await fc.assert(
      fc.asyncProperty(resplits(captured), async (pairs) => {
        const before = (await retellRequests(agentId)).length;
        const { status, text } = await send(pairs, captured);
        if (status !== 400) expect({ status, dryRun: sipUri(text)?.startsWith(`sip:${DRY_RUN_CALL_ID}@`) }).toEqual({ status: 200, dryRun: true });
        expect(await retellRequests(agentId)).toHaveLength(before);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("known re-splits", () => {
  /** Each rewrites the captured pairs; all keep the captured signature. */
  const ATTACKS: [string, Record<string, string>, (pairs: Pair[]) => Pair[]][] = [
    ["CallStatus folded into CallSid", {}, (p) => fold(p, "CallSid")],
    ["the dry-run flag folded into ApiVersion", { BridgeDryRun: "1" }, (p) => fold(p, "ApiVersion")],
    ["the dry-run flag's value folded into its name", { BridgeDryRun: "1" }, (p) => p.map(([n, v]) => (n === "BridgeDryRun" ? [n + v, ""] : [n, v]))],
    ["the dry-run flag's name cut short", { BridgeDryRun: "1" }, (p) => p.map(([n, v]) => (n === "BridgeDryRun" ? ["BridgeDryRu", "n" + v] : [n, v]))],
    ["ApiVersion's value folded into its name, the flag made its value", { BridgeDryRun: "1" }, (p) => {
      const i = p.findIndex(([n]) => n === "ApiVersion");
      return [...p.slice(0, i), [`ApiVersion${p[i]![1]}`, `BridgeDryRun${p[i + 1]![1]}`], ...p.slice(i + 2)];
    }],
  ];

  it.each(ATTACKS)("%s is refused with 400 and registers nothing", async (_name, extra, attack) => {
    const { agentId, captured } = await capturedCall(extra);
    const { status } = await send(attack(captured.pairs), captured);
    expect(status).toBe(400);
    expect(await retellRequests(agentId)).toHaveLength(0);
  });
});

/** The pair named `name` swallows the pair after it: `name=value` + `next=v` → `name=valuenextv`. */
function fold(pairs: Pair[], name: string): Pair[] {
  const i = pairs.findIndex(([n]) => n === name);
  const [next, value] = pairs[i + 1]!;
  return [...pairs.slice(0, i), [name, pairs[i]![1] + next + value], ...pairs.slice(i + 2)];
}
