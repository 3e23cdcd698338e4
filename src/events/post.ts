/**
 * One POST of a signed event to an operator endpoint: 15 s at most, redirects never followed (a 3xx is a
 * failure, as the Standard Webhooks spec says), the response body discarded.
 */
import { withDeadlineSignal } from "../deadline.ts";
import { classify, type Outcome } from "./schedule.ts";

/** The spec recommends a 15–30 s request timeout; the shorter keeps a hanging endpoint from holding the batch. */
export const POST_TIMEOUT_MS = 15_000;
/** Longest error text kept (it goes to D1 and the log). */
const MAX_ERROR = 200;

export function postEvent(url: string, body: string, headers: Record<string, string>, timeoutMs = POST_TIMEOUT_MS): Promise<Outcome> {
  return withDeadlineSignal(timeoutMs, async (signal) => {
    const response = await fetch(url, { method: "POST", headers, body, redirect: "manual", signal });
    await response.body?.cancel();
    return classify(response.status, response.headers.get("Retry-After"), Date.now());
  }).catch((error: unknown): Outcome => {
    const name = error instanceof Error ? error.name : "";
    if (name === "TimeoutError" || name === "AbortError") return { kind: "failed", status: null, error: `no answer within ${timeoutMs / 1000} s` };
    const message = error instanceof Error ? error.message : String(error);
    return { kind: "failed", status: null, error: `connection failed: ${message}`.slice(0, MAX_ERROR) };
  });
}
