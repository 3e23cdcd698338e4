/**
 * POST /api/calls: places an outbound call (outbound/place.ts), behind CALLS_TOKEN; GET /api/calls/:callSid: one
 * call's record, for following it, behind ADMIN_TOKEN like the listing (routes/admin.ts).
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../env.ts";
import { signedUrl } from "../config.ts";
import { AppError, fromStorage } from "../errors.ts";
import { placeCall } from "../outbound/place.ts";
import { readOutboundRequest } from "../outbound/request.ts";
import { getCall } from "../records/store.ts";
import { requireAdmin, requireCaller } from "./admin.ts";

/** A request is a few hundred bytes; metadata is capped at 4 KiB (outbound/request.ts). */
const MAX_BODY_BYTES = 32 * 1024;
const CALL_SID = /^CA[0-9a-fA-F]{32}$/;

/** Where Twilio is to call back: WEBHOOK_BASE_URL when set (what Twilio reaches), else this request's own origin. */
function publicOrigin(env: AppEnv["Bindings"], requestUrl: string): string {
  return new URL(signedUrl(env, requestUrl)).origin;
}

export const calls = new Hono<AppEnv>();

calls.post(
  "/calls",
  requireCaller,
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new AppError({ kind: "too_large" });
    },
  }),
  async (c) => {
    const type = c.req.header("Content-Type")?.split(";")[0]?.trim().toLowerCase();
    if (type !== "application/json") throw new AppError({ kind: "unsupported_media_type", expected: "application/json" });
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new AppError({ kind: "bad_request", message: "the body is not JSON" });
    }
    const read = readOutboundRequest(body);
    if (!read.ok) throw new AppError({ kind: "bad_request", message: read.message, log: { field: read.field } });
    const placed = await placeCall(c.env, read.request, publicOrigin(c.env, c.req.url));
    return c.json(placed, 201);
  },
);

calls.get("/calls/:callSid", requireAdmin, async (c) => {
  const callSid = c.req.param("callSid");
  if (!CALL_SID.test(callSid)) throw new AppError({ kind: "bad_request", message: "callSid must be Twilio's call SID, CA and 32 hex digits" });
  const call = await fromStorage(() => getCall(c.env.DB, callSid));
  if (!call) throw new AppError({ kind: "not_found", message: "no record of this call (yet: records reach the database about a second after each change)" });
  return c.json(call);
});
