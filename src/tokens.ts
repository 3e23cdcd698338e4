/**
 * The one rule for the bearer tokens an operator sets (ADMIN_TOKEN, CALLS_TOKEN), shared by the Worker (which
 * refuses every request while a token breaks it) and the CLI (`doctor` and `deploy` check it before it bites).
 * Visible ASCII characters, spaces allowed only inside: a header's value is trimmed before the Worker sees it
 * (RFC 9110 §5.5), so a token that starts or ends with a space, a tab or a line break could never match, and
 * characters outside ASCII do not survive every HTTP client. Plain TypeScript.
 */

/** CALLS_TOKEN places calls at the operator's cost: long enough that it cannot be guessed (32 random characters). */
export const MIN_CALLS_TOKEN_CHARS = 32;

const TOKEN = /^[\x21-\x7E](?:[\x20-\x7E]*[\x21-\x7E])?$/;

/** Why `value` cannot serve as the token called `name`, or null when it can. */
export function tokenProblem(name: "ADMIN_TOKEN" | "CALLS_TOKEN", value: string): string | null {
  if (!TOKEN.test(value)) return `${name} must be visible ASCII characters (spaces only inside it, none at either end): a request's header is trimmed, so this token could never match`;
  if (name === "CALLS_TOKEN" && value.length < MIN_CALLS_TOKEN_CHARS) return `CALLS_TOKEN is shorter than ${MIN_CALLS_TOKEN_CHARS} characters: it places calls at your cost, so it must not be guessable (openssl rand -hex 32)`;
  return null;
}
