import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { twilioRequest, uniqueAgentId, uniqueNumber, voiceParams, worker, retellRequests } from "../helpers.ts";

describe("smoke", () => {
  it("connects", async () => {
    const to = uniqueNumber();
    const agent = uniqueAgentId();
    await env.AGENTS.put(to, agent);
    const res = await worker(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })));
    const text = await res.text();
    console.log(res.status, [...res.headers], text);
    console.log(JSON.stringify(await retellRequests(agent)));
    expect(res.status).toBe(200);
  });
});
