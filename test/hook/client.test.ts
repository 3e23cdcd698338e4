import { describe, expect, it } from "vitest";
import { Webhook } from "standardwebhooks";
import { callHook, MAX_ANSWER_BYTES } from "../../src/hook/client.ts";
import { signer } from "../../src/standard-webhooks/sign.ts";
import { hookRequests, setHookBehaviour, uniqueHook } from "../helpers.ts";
import { TEST_WEBHOOK_SIGNING_SECRET } from "../secrets.ts";

const SECONDARY = `whsec_${btoa("a rotating secondary secret, 40 bytes ok")}`;
const BODY = JSON.stringify({ event: "call_inbound", call_inbound: { agent_id: "agent_a", twilio_call_sid: "CA1", caller_number: "+14155550100", after_hours: false } });

function sign(secondary?: string) {
  const s = signer({ primary: TEST_WEBHOOK_SIGNING_SECRET, secondary, primaryName: "P", secondaryName: "S" });
  if (!s.ok) throw new Error(s.problem);
  return s.sign;
}

async function ask(behaviour: Parameters<typeof setHookBehaviour>[1], options: { timeoutMs?: number; secondary?: string } = {}) {
  const hook = uniqueHook();
  await setHookBehaviour(hook.name, behaviour);
  const reply = await callHook({ url: hook.url, body: BODY, messageId: "msg_test1", sign: sign(options.secondary), timeoutMs: options.timeoutMs ?? 2_500 });
  return { reply, requests: await hookRequests(hook.name) };
}

describe("calling the hook", () => {
  it("signs the request so the standardwebhooks package verifies it, and sends the body as it is", async () => {
    const { reply, requests } = await ask({ answer: { call_inbound: { dynamic_variables: { customer_name: "Ada" } } } });
    expect(reply).toMatchObject({ ok: true, status: 200, answer: { dynamic_variables: { customer_name: "Ada" } }, attempts: 1 });
    expect(requests).toHaveLength(1);
    expect(requests[0]?.verified).toBe(true);
    expect(requests[0]?.body).toEqual(JSON.parse(BODY));
    const headers = requests[0]?.headers as Record<string, string>;
    expect(headers["content-type"]).toBe("application/json");
    expect(headers["webhook-id"]).toBe("msg_test1");
    expect(() => new Webhook(TEST_WEBHOOK_SIGNING_SECRET).verify(BODY, headers)).not.toThrow();
  });

  it("signs with both secrets during a rotation, so a server holding either verifies", async () => {
    const { requests } = await ask({}, { secondary: SECONDARY });
    const headers = requests[0]?.headers as Record<string, string>;
    expect(headers["webhook-signature"]?.split(" ")).toHaveLength(2);
    expect(() => new Webhook(SECONDARY).verify(BODY, headers)).not.toThrow();
  });

  it("takes 204 as go ahead as configured", async () => {
    const { reply } = await ask({});
    expect(reply).toMatchObject({ ok: true, status: 204, answer: {} });
  });

  it.each([
    ["a 500", { status: 500 }, "status", 500],
    ["a 401", { status: 401 }, "status", 401],
    ["a 404", { status: 404 }, "status", 404],
  ])("fails on %s, without the body", async (_name, behaviour, reason, status) => {
    const { reply } = await ask(behaviour);
    expect(reply).toMatchObject({ ok: false, reason, status, detail: `HTTP ${status}` });
  });

  it("does not follow a redirect", async () => {
    const target = uniqueHook("target");
    const { reply } = await ask({ mode: "redirect", location: target.url });
    expect(reply).toMatchObject({ ok: false, reason: "redirect", status: 307 });
    expect(await hookRequests(target.name)).toHaveLength(0);
  });

  it("gives up on an answer over 64 KiB while reading it, without Content-Length", async () => {
    const { reply } = await ask({ mode: "huge", hugeBytes: 4 * 1024 * 1024 });
    expect(reply).toMatchObject({ ok: false, reason: "too_large", detail: `answer is over ${MAX_ANSWER_BYTES} bytes` });
  });

  it("gives up on a gzip answer over 64 KiB once decompressed, though its Content-Length is small", async () => {
    const { reply } = await ask({ mode: "huge", gzip: true, hugeBytes: 4 * 1024 * 1024 });
    expect(reply).toMatchObject({ ok: false, reason: "too_large", detail: `answer is over ${MAX_ANSWER_BYTES} bytes` });
  });

  it("refuses an answer whose Content-Length is over 64 KiB", async () => {
    const { reply } = await ask({ raw: `{"call_inbound":{"metadata":{"x":"${"y".repeat(MAX_ANSWER_BYTES)}"}}}` });
    expect(reply).toMatchObject({ ok: false, reason: "too_large" });
  });

  it("takes an answer of just under 64 KiB", async () => {
    const filler = "y".repeat(MAX_ANSWER_BYTES - 200);
    const { reply } = await ask({ answer: { call_inbound: { metadata: { filler } } } });
    expect(reply).toMatchObject({ ok: true, answer: { metadata: { filler } } });
  });

  it("fails on a 2xx that is not a valid answer, naming the field and not the value", async () => {
    const { reply } = await ask({ answer: { call_inbound: { dynamic_variables: { secret_name: 12345 } } } });
    expect(reply).toMatchObject({ ok: false, reason: "invalid", status: 200 });
    expect(JSON.stringify(reply)).not.toContain("12345");
  });

  it("fails on HTML", async () => {
    const { reply } = await ask({ raw: "<html>oops</html>", contentType: "text/html" });
    expect(reply).toMatchObject({ ok: false, reason: "invalid", detail: "body is not JSON" });
  });

  it("retries once on a dropped connection, with the same message id", async () => {
    const { reply, requests } = await ask({ mode: "drop", times: 1, answer: { call_inbound: { override_agent_id: "agent_b" } } });
    expect(reply).toMatchObject({ ok: true, attempts: 2, answer: { override_agent_id: "agent_b" } });
    expect(requests.map((r) => r.headers["webhook-id"])).toEqual(["msg_test1", "msg_test1"]);
    expect(requests.every((r) => r.verified)).toBe(true);
  });

  it("retries a dropped connection only once", async () => {
    const { reply, requests } = await ask({ mode: "drop" });
    expect(reply).toMatchObject({ ok: false, reason: "unreachable", attempts: 2 });
    expect(requests).toHaveLength(2);
  });

  it("does not retry an answer that came back", async () => {
    const { requests } = await ask({ status: 503 });
    expect(requests).toHaveLength(1);
  });

  it("gives up at its deadline on a server that never answers", async () => {
    const { reply } = await ask({ mode: "hang" }, { timeoutMs: 300 });
    expect(reply).toMatchObject({ ok: false, reason: "timeout", attempts: 1 });
  });

  it("gives up on a host that refuses the connection", async () => {
    const reply = await callHook({ url: "http://127.0.0.1:1/hook", body: BODY, messageId: "msg_x", sign: sign(), timeoutMs: 2_000 });
    expect(reply).toMatchObject({ ok: false, reason: "unreachable" });
  });
});
