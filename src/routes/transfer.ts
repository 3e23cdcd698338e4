/**
 * POST /api/webhooks/retell/transfer: the Retell custom function that hands the caller to a person
 * (docs/transfers.md). Signed like Retell's webhooks (401 otherwise); a body that is not `{ name, call, args }`
 * with `args.destination` is a 400; everything else is a 200 `{ ok, message }` that Retell gives the model.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { signedUrl } from "../config.ts";
import { AppError } from "../errors.ts";
import { log } from "../log.ts";
import { retellBodyLimit, signedRetellJson } from "./retell-signed.ts";
import { readTransferRequest } from "../transfers/request.ts";
import { requestTransfer } from "../transfers/transfer.ts";

export const transfer = new Hono<AppEnv>();
transfer.post("/", retellBodyLimit(), async (c) => {
  const read = readTransferRequest(await signedRetellJson(c));
  if (!read.ok) throw new AppError({ kind: "bad_request", message: "Not a transfer function call: expected { name, call, args: { destination } }", detail: read.detail });
  // Twilio is given our URLs in the transfer's TwiML: the public origin it calls, as for its own webhooks.
  const origin = new URL(signedUrl(c.env, c.req.url)).origin;
  const { call } = read;
  const outcome = await requestTransfer(c.env, call, origin);
  log(outcome.reply.ok ? "info" : "warn", "retell.transfer", { callSid: call.callSid, retellCallId: call.retellCallId, ok: outcome.reply.ok, ...outcome.log });
  return c.json(outcome.reply, 200);
});
