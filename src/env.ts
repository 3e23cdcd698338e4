import type { TwilioParams } from "./twilio/params.ts";

/**
 * The Worker's bindings: `Env` is generated from wrangler.toml by `wrangler types`
 * (checked by `npm test`); optional secrets that wrangler cannot declare are added here.
 */
export type Bindings = Env & {
  /** The previous Twilio auth token while a rotation is under way; either token's signature is accepted. */
  TWILIO_AUTH_TOKEN_SECONDARY?: string;
  /** Bearer token for GET /api/calls and /api/stats; without it those routes are off (src/routes/admin.ts). */
  ADMIN_TOKEN?: string;
  /** Bearer token for POST /api/calls, at least 32 characters; without it placing calls is off (src/routes/admin.ts). */
  CALLS_TOKEN?: string;
  /** `whsec_…`: signs every webhook sent to the operator's servers (standard-webhooks/sign.ts); none is sent without it. */
  WEBHOOK_SIGNING_SECRET?: string;
  /** The previous signing secret while a rotation is under way: both sign, in one `webhook-signature` header. */
  WEBHOOK_SIGNING_SECRET_SECONDARY?: string;
  /** Tests only (vitest.config.ts): a shorter wait before a line copies a change to D1 (line/d1-copy.ts COPY_DELAY_MS). */
  LINE_COPY_DELAY_MS?: string;
};

export type Variables = {
  /** The webhook's form parameters, set once the Twilio signature has been verified. */
  twilioParams: TwilioParams;
  /** The URL Twilio signed (WEBHOOK_BASE_URL's origin, or the request's own), for URLs Twilio is given back. */
  twilioUrl: string;
};

/** The one Hono environment type shared by the app, its middleware and its sub-apps. */
export type AppEnv = { Bindings: Bindings; Variables: Variables };
