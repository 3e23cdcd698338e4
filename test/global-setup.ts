/** Starts the local Retell, Twilio, hook (the operator's server) and webhook receiver stand-ins once for the whole run (Node side) and hands their URLs to the Workers runtime. */
import type { TestProject } from "vitest/node";
import { startHookStandIn } from "../stand-ins/hook.ts";
import { startRetellStandIn } from "../stand-ins/retell.ts";
import { startTwilioStandIn } from "../stand-ins/twilio.ts";
import { startReceiverStandIn } from "../stand-ins/receiver.ts";
import { TEST_RETELL_API_KEY, TEST_TWILIO_ACCOUNT_SID, TEST_TWILIO_AUTH_TOKEN, TEST_WEBHOOK_SIGNING_SECRET } from "./secrets.ts";

export default async function setup(project: TestProject) {
  const retell = await startRetellStandIn({ apiKey: TEST_RETELL_API_KEY });
  const twilio = await startTwilioStandIn({ accountSid: TEST_TWILIO_ACCOUNT_SID, authToken: TEST_TWILIO_AUTH_TOKEN });
  project.provide("retellBaseUrl", retell.url);
  const hook = await startHookStandIn({ secret: TEST_WEBHOOK_SIGNING_SECRET });
  const receiver = await startReceiverStandIn({ secret: TEST_WEBHOOK_SIGNING_SECRET });
  project.provide("twilioApiBaseUrl", twilio.url);
  project.provide("hookBaseUrl", hook.url);
  project.provide("receiverUrl", receiver.url);
  return async () => {
    await Promise.all([retell.close(), twilio.close(), hook.close(), receiver.close()]);
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    retellBaseUrl: string;
    twilioApiBaseUrl: string;
    receiverUrl: string;
    hookBaseUrl: string;
  }
}
