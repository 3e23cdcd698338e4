/**
 * Middleware for every Twilio webhook route: body limits, content type, the signature check, and Twilio's
 * identifiers (CallSid, AccountSid, ApiVersion, the dry-run flag). Only a request that passes them all reaches
 * the handler, with its parameters in `c.var.twilioParams`.
 */
import { createMiddleware } from "hono/factory";
import { bodyLimit } from "hono/body-limit";
import { every } from "hono/combine";
import type { AppEnv } from "../env.ts";
import { signedUrl } from "../config.ts";
import { AppError } from "../errors.ts";
import { identifierProblem, parseForm } from "../twilio/params.ts";
import { isValidTwilioSignature } from "../twilio/signature.ts";

/** Twilio's voice webhook bodies are a few KiB; anything near this is not Twilio. */
export const MAX_BODY_BYTES = 64 * 1024;
const FORM_TYPE = "application/x-www-form-urlencoded";

export function twilioWebhook() {
  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new AppError({ kind: "too_large" });
    },
  });

  const verify = createMiddleware<AppEnv>(async function verifyTwilioSignature(c, next) {
    const type = c.req.header("Content-Type")?.split(";")[0]?.trim().toLowerCase();
    if (type !== FORM_TYPE) throw new AppError({ kind: "unsupported_media_type", expected: FORM_TYPE });

    const primary = c.env.TWILIO_AUTH_TOKEN;
    if (!primary) {
      // Fail closed: without the token no request can be trusted, so none is served.
      throw new AppError({
        kind: "misconfigured",
        detail: "TWILIO_AUTH_TOKEN is not set",
        event: "config.missing_secret",
        log: { secret: "TWILIO_AUTH_TOKEN", fix: "wrangler secret put TWILIO_AUTH_TOKEN" },
      });
    }
    const tokens = c.env.TWILIO_AUTH_TOKEN_SECONDARY ? [primary, c.env.TWILIO_AUTH_TOKEN_SECONDARY] : [primary];
    const url = signedUrl(c.env, c.req.url);
    const params = parseForm(new TextDecoder().decode(await c.req.arrayBuffer()));
    const signature = c.req.header("X-Twilio-Signature");
    if (!(await isValidTwilioSignature(tokens, signature, url, params))) {
      throw new AppError({
        kind: "forbidden",
        detail: signature ? "X-Twilio-Signature does not match" : "X-Twilio-Signature is missing",
        event: "twilio.signature_rejected",
        log: { reason: signature ? "mismatch" : "missing", signedUrlOrigin: new URL(url).origin },
      });
    }
    // After the signature, so a forged request is a 403 whatever it carries; before any handler, so every Twilio
    // route refuses a re-split of a captured request (params.ts) before it reads, registers or stores anything.
    const problem = identifierProblem(params);
    if (problem) {
      throw new AppError({ kind: "bad_request", message: problem.message, event: "twilio.params_rejected", log: { param: problem.param } });
    }
    c.set("twilioParams", params);
    c.set("twilioUrl", url);
    await next();
  });

  return every(limit, verify);
}
