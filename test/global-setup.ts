/** Starts the local Retell and Twilio stand-ins once for the whole run (Node side) and hands their URLs to the Workers runtime. */
import type { TestProject } from "vitest/node";
import { startRetellStandIn } from "../stand-ins/retell.ts";
import { startTwilioStandIn } from "../stand-ins/twilio.ts";
import { TEST_RETELL_API_KEY, TEST_TWILIO_ACCOUNT_SID, TEST_TWILIO_AUTH_TOKEN } from "./secrets.ts";

export default async function setup(project: TestProject) {
  const retell = await startRetellStandIn({ apiKey: TEST_RETELL_API_KEY });
  const twilio = await startTwilioStandIn({ accountSid: TEST_TWILIO_ACCOUNT_SID, authToken: TEST_TWILIO_AUTH_TOKEN });
  project.provide("retellBaseUrl", retell.url);
  project.provide("twilioApiBaseUrl", twilio.url);
  return async () => {
    await Promise.all([retell.close(), twilio.close()]);
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    retellBaseUrl: string;
    twilioApiBaseUrl: string;
  }
}
