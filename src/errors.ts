/**
 * The failures a route can end in, as one typed union, and the one mapping from failure to response
 * (used by app.onError). A `detail` is for the log only; the wire gets the kind and a fixed message.
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { LogLevel } from "./log.ts";

export type AppFailure = (
  /** The client's own input is wrong; `message` says what to fix and is safe to send back. */
  | { kind: "bad_request"; message: string; detail?: string }
  /** The body is larger than any the sender would send. */
  | { kind: "too_large" }
  /** The body is not in the format the route takes (Twilio's webhooks are form-encoded). */
  | { kind: "unsupported_media_type"; expected: string }
  /** A signature or token was missing or wrong (Retell's webhook, the admin API). */
  | { kind: "unauthorized"; detail: string }
  /** A Twilio request whose X-Twilio-Signature is missing or wrong: 403, as Twilio's own middleware answers. */
  | { kind: "forbidden"; detail: string }
  /** ADMIN_TOKEN is not configured, so the admin routes do not exist. */
  | { kind: "admin_disabled" }
  /** CALLS_TOKEN is not configured, so POST /api/calls does not exist. */
  | { kind: "calls_disabled" }
  /** D1 failed; the sender should retry (Retell does, up to 3 times). */
  | { kind: "storage_unavailable"; detail: string }
  /** A deployment mistake (a missing secret, a malformed var): the operator must fix it. */
  | { kind: "misconfigured"; detail: string }
  /** The resource asked for does not exist (yet); `message` says what is missing. */
  | { kind: "not_found"; message: string }
  /** An outbound limit of the calling number is used up (POST /api/calls); `message` says which. */
  | { kind: "limit_reached"; message: string }
  /** Twilio refused or did not answer a REST request; its code and message go back to the operator. */
  | { kind: "twilio_error"; code: number | null; message: string; detail?: string }
) & {
  /** The log line's event name, where the failure has one operators search for; default `http.failure`. */
  event?: string;
  /** More fields for the log line (never a secret, never a full phone number). */
  log?: Record<string, unknown>;
};

export class AppError extends Error {
  override name = "AppError";
  readonly failure: AppFailure;
  constructor(failure: AppFailure) {
    super(failure.kind);
    this.failure = failure;
  }
}

export interface FailureResponse {
  status: ContentfulStatusCode;
  level: LogLevel;
  body: { error: AppFailure["kind"]; message: string; code?: number | null };
}

export function failureResponse(failure: AppFailure): FailureResponse {
  const answer = (status: ContentfulStatusCode, level: LogLevel, message: string): FailureResponse => ({
    status,
    level,
    body: { error: failure.kind, message },
  });
  switch (failure.kind) {
    case "bad_request":
      return answer(400, "warn", failure.message);
    case "too_large":
      return answer(413, "warn", "Payload Too Large");
    case "unsupported_media_type":
      return answer(415, "warn", `Unsupported Media Type: expected ${failure.expected}`);
    case "unauthorized":
      return answer(401, "warn", "Unauthorized");
    case "forbidden":
      return answer(403, "warn", "Forbidden");
    case "admin_disabled":
      return answer(404, "info", "The admin routes are off: set the ADMIN_TOKEN secret to turn them on.");
    case "calls_disabled":
      return answer(404, "info", "Placing calls is off: set the CALLS_TOKEN secret (at least 32 characters) to turn it on.");
    case "storage_unavailable":
      return answer(503, "error", "Storage is unavailable; try again later.");
    case "misconfigured":
      return answer(500, "error", "Server misconfigured");
    case "not_found":
      return answer(404, "info", failure.message);
    case "limit_reached":
      return answer(429, "warn", failure.message);
    case "twilio_error":
      return { ...answer(502, "error", failure.message), body: { error: failure.kind, code: failure.code, message: failure.message } };
  }
}

/** Runs a D1 operation, turning its failure into `storage_unavailable` (503) for routes whose sender retries. */
export async function fromStorage<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw new AppError({ kind: "storage_unavailable", detail: error instanceof Error ? error.message : String(error) });
  }
}
