/**
 * src/routes/retell-signed.ts: what Retell's routes check before they read a body (the signature header's shape and
 * timestamp), and each route's cap on the body (413 without reading the rest).
 */
import { sign, symmetric } from "retell-sdk/lib/webhook_auth";
import { describe, expect, it } from "vitest";
import { retellSignatureCurrent } from "../../src/retell/events.ts";
import { MAX_RETELL_WEBHOOK_BODY_BYTES, MAX_TRANSFER_BODY_BYTES } from "../../src/routes/retell-signed.ts";
import { ORIGIN, worker } from "../helpers.ts";
import { TEST_RETELL_API_KEY } from "../secrets.ts";

const ROUTES = [
  ["the webhook", "/api/webhooks/retell", MAX_RETELL_WEBHOOK_BODY_BYTES],
  ["the transfer function", "/api/webhooks/retell/transfer", MAX_TRANSFER_BODY_BYTES],
] as const;
const CHUNK = 64 * 1024;
/** The runtime pulls one chunk ahead as it hands a request to the Worker, whatever the Worker then reads. */
const READ_AHEAD = CHUNK;

/** A body of `total` bytes handed out one 64 KiB chunk per read, counting what the Worker pulled. */
function countedBody(total: number): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  const chunk = new TextEncoder().encode(" ".repeat(CHUNK));
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (pulled >= total) return controller.close();
        const part = chunk.subarray(0, Math.min(CHUNK, total - pulled));
        pulled += part.length;
        controller.enqueue(part);
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulled: () => pulled };
}

function post(path: string, body: BodyInit, headers: Record<string, string>): Promise<Response> {
  return worker(new Request(ORIGIN + path, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body }));
}

describe("retellSignatureCurrent", () => {
  const now = Date.now();
  const digest = "a".repeat(64);
  it.each([
    ["missing", undefined, false],
    ["not retell-sdk's format", "not-a-signature", false],
    ["a digest of the wrong length", `v=${now},d=${"a".repeat(63)}`, false],
    ["a digest that is not hex", `v=${now},d=${"g".repeat(64)}`, false],
    ["a timestamp more than 5 minutes old", `v=${now - 5 * 60_000 - 1},d=${digest}`, false],
    ["a timestamp more than 5 minutes ahead", `v=${now + 5 * 60_000 + 1},d=${digest}`, false],
    ["a timestamp too large to be a time", `v=9999999999999999,d=${digest}`, false],
    ["current and well formed", `v=${now - 60_000},d=${digest}`, true],
    ["current, with an upper-case digest", `v=${now},d=${"A".repeat(64)}`, true],
  ])("is %s → %s", (_name, signature, expected) => {
    expect(retellSignatureCurrent(signature, now)).toBe(expected);
  });

  it("accepts every signature retell-sdk's sign makes now", async () => {
    expect(retellSignatureCurrent(await sign("{}", TEST_RETELL_API_KEY), Date.now())).toBe(true);
  });
});

describe.each(ROUTES)("%s", (_name, path, cap) => {
  it.each([
    ["no signature", async () => null],
    ["a malformed signature", async () => "v=1,d=zz"],
    ["a signature 6 minutes old", () => symmetric.sign("x", TEST_RETELL_API_KEY, Date.now() - 6 * 60_000)],
  ])("refuses %s with 401 without reading the body", async (_case, signature) => {
    const body = countedBody(cap * 2);
    const header = await signature();
    const res = await post(path, body.stream, header === null ? {} : { "x-retell-signature": header });
    expect(res.status).toBe(401);
    expect(body.pulled()).toBeLessThanOrEqual(READ_AHEAD);
  });

  it("refuses a Content-Length over its cap with 413 without reading the body", async () => {
    const body = countedBody(cap + 1);
    const res = await post(path, body.stream, { "x-retell-signature": await sign("x", TEST_RETELL_API_KEY), "Content-Length": String(cap + 1) });
    expect(res.status).toBe(413);
    expect(body.pulled()).toBeLessThanOrEqual(READ_AHEAD);
  });

  it("refuses a streamed body over its cap with 413, reading no more than the cap and a chunk", async () => {
    const body = countedBody(cap * 3);
    const res = await post(path, body.stream, { "x-retell-signature": await sign("x", TEST_RETELL_API_KEY) });
    expect(res.status).toBe(413);
    expect(body.pulled()).toBeLessThanOrEqual(cap + CHUNK + READ_AHEAD);
  });

  it("reads and verifies a body at its cap: a signed one that is not JSON gets 400, not 413", async () => {
    const text = " ".repeat(cap - 1) + "x";
    const res = await post(path, text, { "x-retell-signature": await sign(text, TEST_RETELL_API_KEY) });
    expect(res.status).toBe(400);
  });
});
