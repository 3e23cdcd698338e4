/**
 * Middleware for every Twilio webhook route: body limits, content type, and the signature check.
 * Only a request that passes all three reaches the handler, with its parameters in `c.var.twilioParams`.
 */
import { createMiddleware } from "hono/factory";
import { bodyLimit } from "hono/body-limit";
import { every } from "hono/combine";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "../env.ts";
import { signedUrl } from "../config.ts";
import { log } from "../log.ts";
import { parseForm } from "./params.ts";
import { isValidTwilioSignature } from "./signature.ts";

/** Twilio's voice webhook bodies are a few KiB; anything near this is not Twilio. */
export const MAX_BODY_BYTES = 64 * 1024;
const FORM_TYPE = "application/x-www-form-urlencoded";

const plain = (status: 400 | 403 | 413 | 415 | 500, message: string) =>
  new HTTPException(status, { res: new Response(message, { status, headers: { "Content-Type": "text/plain; charset=utf-8" } }) });

export function twilioWebhook() {
  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw plain(413, "Payload Too Large");
    },
  });

  const verify = createMiddleware<AppEnv>(async function verifyTwilioSignature(c, next) {
    const type = c.req.header("Content-Type")?.split(";")[0]?.trim().toLowerCase();
    if (type !== FORM_TYPE) throw plain(415, `Unsupported Media Type: expected ${FORM_TYPE}`);

    const primary = c.env.TWILIO_AUTH_TOKEN;
    if (!primary) {
      log("error", "config.missing_secret", { secret: "TWILIO_AUTH_TOKEN", fix: "wrangler secret put TWILIO_AUTH_TOKEN" });
      throw plain(500, "Server misconfigured");
    }
    const tokens = c.env.TWILIO_AUTH_TOKEN_SECONDARY ? [primary, c.env.TWILIO_AUTH_TOKEN_SECONDARY] : [primary];
    const url = signedUrl(c.env, c.req.url);
    const params = parseForm(new TextDecoder().decode(await c.req.arrayBuffer()));
    const signature = c.req.header("X-Twilio-Signature");
    if (!(await isValidTwilioSignature(tokens, signature, url, params))) {
      log("warn", "twilio.signature_rejected", {
        path: new URL(c.req.url).pathname,
        reason: signature ? "mismatch" : "missing",
        signedUrlOrigin: new URL(url).origin,
      });
      throw plain(403, "Forbidden");
    }
    c.set("twilioParams", params);
    await next();
  });

  return every(limit, verify);
}
