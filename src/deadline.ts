/**
 * Time limits: for platform calls that have none of their own (KV and D1 reads take no AbortSignal), and for
 * fetches. A caller must hear an answer well within Twilio's 15 s even when a binding or a server hangs.
 */

/**
 * An AbortSignal that aborts after `ms` with a TimeoutError, as AbortSignal.timeout does, and `clear` to stop its
 * timer once the work is done. AbortSignal.timeout's timer cannot be stopped, and workerd keeps the request's
 * context alive until it fires (github.com/cloudflare/workerd/issues/4936): every voice webhook would live on for
 * Retell's whole budget after its caller had the answer. Fetches take it through withDeadlineSignal.
 */
export function deadlineSignal(ms: number): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${ms} ms`, "TimeoutError")), ms);
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

/** Runs `work` under a deadlineSignal of `ms`, and stops its timer once the work has settled. */
export async function withDeadlineSignal<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const deadline = deadlineSignal(ms);
  try {
    return await work(deadline.signal);
  } finally {
    deadline.clear();
  }
}

export async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
