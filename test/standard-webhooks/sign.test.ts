import { afterEach, describe, expect, it, vi } from "vitest";
import { Webhook } from "standardwebhooks";
import { newMessageId, parseSecret, signedHeaders, signer } from "../../src/standard-webhooks/sign.ts";

const PRIMARY = `whsec_${btoa(String.fromCharCode(...Array.from({ length: 32 }, (_, i) => i + 1)))}`;
const SECONDARY = `whsec_${btoa(String.fromCharCode(...Array.from({ length: 24 }, (_, i) => 200 - i)))}`;
const names = { primaryName: "WEBHOOK_SIGNING_SECRET", secondaryName: "WEBHOOK_SIGNING_SECRET_SECONDARY" };

function signWith(primary: string, secondary?: string) {
  const s = signer({ primary, secondary, ...names });
  if (!s.ok) throw new Error(`${s.secret} ${s.problem}`);
  return s.sign;
}

describe("Standard Webhooks signing", () => {
  it("produces headers the standardwebhooks package verifies", async () => {
    const body = JSON.stringify({ type: "call.started", timestamp: "2026-12-06T00:00:00.000Z", data: { x: "ü <&>" } });
    const headers = await signedHeaders(signWith(PRIMARY), "msg_1", body);
    expect(new Webhook(PRIMARY).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it("signs with both secrets during a rotation, so a receiver holding either verifies", async () => {
    const body = '{"a":1}';
    const headers = await signedHeaders(signWith(PRIMARY, SECONDARY), "msg_2", body);
    expect(headers["webhook-signature"]?.split(" ")).toHaveLength(2);
    expect(new Webhook(PRIMARY).verify(body, headers)).toEqual({ a: 1 });
    expect(new Webhook(SECONDARY).verify(body, headers)).toEqual({ a: 1 });
  });

  it("signs the id, the timestamp and the body: a change to any fails verification", async () => {
    const body = '{"a":1}';
    const headers = await signedHeaders(signWith(PRIMARY), "msg_3", body);
    const verifier = new Webhook(PRIMARY);
    expect(() => verifier.verify('{"a":2}', headers)).toThrow();
    expect(() => verifier.verify(body, { ...headers, "webhook-id": "msg_4" })).toThrow();
    expect(() => verifier.verify(body, { ...headers, "webhook-timestamp": String(Number(headers["webhook-timestamp"]) - 1) })).toThrow();
  });

  it("puts the attempt's time in webhook-timestamp, in unix seconds", async () => {
    const headers = await signedHeaders(signWith(PRIMARY), "msg_5", "{}", Date.UTC(2026, 11, 6, 12, 0, 0, 999));
    expect(headers["webhook-timestamp"]).toBe(String(Date.UTC(2026, 11, 6, 12, 0, 0) / 1000));
  });

  it.each([
    ["no prefix", PRIMARY.slice("whsec_".length), "must start with whsec_"],
    ["not base64", "whsec_not base64!", "standard base64"],
    ["too short", `whsec_${btoa("0123456789")}`, "24–64 bytes"],
    ["too long", `whsec_${btoa("x".repeat(65))}`, "24–64 bytes"],
  ])("refuses a secret with %s, without echoing it", (_name, value, problem) => {
    const check = parseSecret(value);
    expect(check.ok).toBe(false);
    if (!check.ok) {
      expect(check.problem).toContain(problem);
      expect(check.problem).not.toContain(value);
    }
  });

  it.each([
    ["a missing primary", undefined, undefined, "WEBHOOK_SIGNING_SECRET", "is not set"],
    ["a malformed primary", "whsec_x", undefined, "WEBHOOK_SIGNING_SECRET", "base64"],
    ["a malformed secondary", PRIMARY, "secret", "WEBHOOK_SIGNING_SECRET_SECONDARY", "must start with whsec_"],
  ])("gives no signer for %s (fails closed)", (_name, primary, secondary, secret, problem) => {
    const s = signer({ primary, secondary, ...names });
    expect(s).toMatchObject({ ok: false, secret });
    if (!s.ok) expect(s.problem).toContain(problem);
  });

  it("makes a new message id each time", () => {
    const ids = new Set(Array.from({ length: 100 }, newMessageId));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^msg_[0-9a-f]{32}$/);
  });

  describe("parsing each secret once", () => {
    afterEach(() => vi.restoreAllMocks());

    it("decodes and imports a secret once, however many signers sign with it (one per delivery batch or hook call)", async () => {
      // A secret no other test uses, so no earlier signer has parsed it.
      const fresh = `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`;
      const decode = vi.spyOn(globalThis, "atob");
      const importKey = vi.spyOn(crypto.subtle, "importKey");
      const bodies = ['{"n":1}', '{"n":2}', '{"n":3}'];
      const headers: Record<string, string>[] = [];
      for (const body of bodies) headers.push(await signedHeaders(signWith(fresh), newMessageId(), body));
      expect(decode).toHaveBeenCalledTimes(1);
      expect(importKey).toHaveBeenCalledTimes(1);
      bodies.forEach((body, i) => expect(new Webhook(fresh).verify(body, headers[i] ?? {})).toEqual(JSON.parse(body)));
    });

    it("still refuses a malformed secret the second time it is given", () => {
      for (let i = 0; i < 2; i++) expect(signer({ primary: "whsec_x", ...names })).toMatchObject({ ok: false, secret: "WEBHOOK_SIGNING_SECRET" });
    });
  });
});
