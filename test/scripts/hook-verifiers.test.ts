/**
 * The copy-paste verifier in docs/pre-call-hook.md, run as printed there against the Worker's own signer
 * (src/standard-webhooks/sign.ts): what an operator pastes must accept the Worker's requests and nothing else.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { signedHeaders, signer } from "../../src/standard-webhooks/sign.ts";
import { ROOT, removeTempDirs, tempDir } from "../cli/helpers.ts";

afterAll(removeTempDirs);

type Verify = (rawBody: string, headers: Record<string, string>, secret?: string) => boolean;

/** The code block after the `<!-- verifier:node-crypto -->` marker, written to a module and imported. */
async function docVerifier(): Promise<Verify> {
  const doc = readFileSync(join(ROOT, "docs/pre-call-hook.md"), "utf8");
  const code = /<!-- verifier:node-crypto -->\s*```js\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!code) throw new Error("docs/pre-call-hook.md has no verifier:node-crypto block");
  const file = join(tempDir("verifier"), "verify.mjs");
  writeFileSync(file, code);
  return ((await import(pathToFileURL(file).href)) as { verifyBridgeWebhook: Verify }).verifyBridgeWebhook;
}

const secret = (fill: number) => `whsec_${Buffer.alloc(32, fill).toString("base64")}`;
const PRIMARY = secret(1);
const SECONDARY = secret(2);
const BODY = JSON.stringify({ event: "call_inbound", call_inbound: { agent_id: "agent_a", caller_number: "+14155550100", caller_name: "José Müller" } });

async function headers(primary: string, secondary?: string, now = Date.now()) {
  const s = signer({ primary, secondary, primaryName: "P", secondaryName: "S" });
  if (!s.ok) throw new Error(s.problem);
  return signedHeaders(s.sign, "msg_doc", BODY, now);
}

describe("the documented node:crypto verifier", () => {
  it("accepts the Worker's request", async () => {
    const verify = await docVerifier();
    expect(verify(BODY, await headers(PRIMARY), PRIMARY)).toBe(true);
  });

  it("accepts either secret during a rotation", async () => {
    const verify = await docVerifier();
    const signed = await headers(PRIMARY, SECONDARY);
    expect([verify(BODY, signed, PRIMARY), verify(BODY, signed, SECONDARY)]).toEqual([true, true]);
  });

  it.each([
    ["another secret", async () => ({ body: BODY, headers: await headers(secret(3)) })],
    ["a changed body", async () => ({ body: BODY.replace("agent_a", "agent_b"), headers: await headers(PRIMARY) })],
    ["a changed id", async () => ({ body: BODY, headers: { ...(await headers(PRIMARY)), "webhook-id": "msg_other" } })],
    ["a timestamp 10 minutes old", async () => ({ body: BODY, headers: await headers(PRIMARY, undefined, Date.now() - 10 * 60_000) })],
    ["no signature", async () => ({ body: BODY, headers: { ...(await headers(PRIMARY)), "webhook-signature": "" } })],
  ])("refuses a request with %s", async (_name, make) => {
    const verify = await docVerifier();
    const { body, headers: h } = await make();
    expect(verify(body, h, PRIMARY)).toBe(false);
  });
});
