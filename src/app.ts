/**
 * The Hono app: routes, and the one place errors become responses.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "./env.ts";
import { APOLOGY_MESSAGE } from "./calls/outcome.ts";
import { log } from "./log.ts";
import { AppError, failureResponse } from "./errors.ts";
import { admin } from "./routes/admin.ts";
import { calls } from "./routes/calls.ts";
import { deliveries } from "./routes/deliveries.ts";
import { dialComplete } from "./routes/dial-complete.ts";
import { health } from "./routes/health.ts";
import { hold, holdComplete, holdDequeued } from "./routes/hold.ts";
import { voicemail, voicemailEnd } from "./routes/voicemail.ts";
import { outbound } from "./routes/outbound.ts";
import { retellWebhook } from "./routes/retell-webhook.ts";
import { status } from "./routes/status.ts";
import { transfer } from "./routes/transfer.ts";
import { transferComplete } from "./routes/transfer-complete.ts";
import { transferWhisper } from "./routes/transfer-whisper.ts";
import { voice } from "./routes/voice.ts";
import { sayAndHangUp, TWIML_HEADERS, twimlDocument } from "./twilio/twiml.ts";

export const app = new Hono<AppEnv>();

/**
 * Every response the Worker builds (JSON, TwiML, text) is data, never a document to render or frame: a CSP that
 * allows nothing, nosniff, no referrer, and hono's other defaults. The operator page is a static asset that never
 * reaches the Worker; its headers are in page/public/_headers.
 */
app.use(
  secureHeaders({
    contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    referrerPolicy: "no-referrer",
  }),
);

app.route("/health", health);
// Before the voice sub-app, whose /:agentId would otherwise take these paths' last segments as agent ids.
app.route("/api/webhooks/twilio/status", status);
app.route("/api/webhooks/twilio/dial-complete", dialComplete);
app.route("/api/webhooks/twilio/outbound", outbound);
app.route("/api/webhooks/twilio/transfer-complete", transferComplete);
app.route("/api/webhooks/twilio/transfer-whisper", transferWhisper);
app.route("/api/webhooks/twilio/hold", hold);
app.route("/api/webhooks/twilio/hold-complete", holdComplete);
app.route("/api/webhooks/twilio/hold-dequeued", holdDequeued);
app.route("/api/webhooks/twilio/voicemail", voicemail);
app.route("/api/webhooks/twilio/voicemail-end", voicemailEnd);
app.route("/api/webhooks/twilio", voice);
app.route("/api/webhooks/retell/transfer", transfer);
app.route("/api/webhooks/retell", retellWebhook);
app.route("/api", admin);
app.route("/api", calls);
app.route("/api", deliveries);

app.notFound((c) => c.text("Not Found", 404));

app.onError((error, c) => {
  if (error instanceof AppError) {
    const { failure } = error;
    const { status, level, body } = failureResponse(failure);
    log(level, failure.event ?? "http.failure", {
      path: c.req.path,
      status,
      kind: failure.kind,
      ...("detail" in failure && failure.detail !== undefined && { detail: failure.detail }),
      ...failure.log,
    });
    return c.json(body, status);
  }
  if (error instanceof HTTPException) return error.getResponse();
  log("error", "http.unhandled", { path: c.req.path, error: error.name, detail: error.message });
  // A request that passed Twilio's signature check is a live caller: answer with TwiML, never a 500
  // (which Twilio turns into "an application error has occurred").
  if (c.get("twilioParams")) return c.body(twimlDocument(sayAndHangUp(APOLOGY_MESSAGE)), 200, TWIML_HEADERS);
  return c.text("Internal Server Error", 500);
});
