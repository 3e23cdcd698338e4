/**
 * https only, except to this machine: the one rule for every URL that carries a token or a call's details (the
 * CLI's `--url`, which sends ADMIN_TOKEN or CALLS_TOKEN; `npm run numbers -- connect`, which points Twilio's
 * signed webhooks at it; WEBHOOK_BASE_URL, the origin Twilio calls; call-event endpoints; pre-call hooks).
 * Plain http is left for local development (`npm run dev`, the stand-ins), which never leaves the machine.
 * Plain TypeScript shared with the CLI.
 */

/** Loopback hosts as URL.hostname gives them: `localhost`, `[::1]`, and 127.0.0.0/8 (RFC 1122 §3.2.1.3). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** Whether a request to `url` may go in clear: https, or plain http to a loopback host. Anything unparseable is not. */
export function isSecureOrLoopback(url: string | URL): boolean {
  let parsed: URL;
  try {
    parsed = typeof url === "string" ? new URL(url) : url;
  } catch {
    return false;
  }
  return parsed.protocol === "https:" || (parsed.protocol === "http:" && isLoopbackHost(parsed.hostname));
}

/** The sentence for a setting that breaks the rule, naming it. */
export function httpsOnlyMessage(setting: string): string {
  return `${setting} must be https:// (plain http only to localhost, 127.0.0.1 or [::1])`;
}
