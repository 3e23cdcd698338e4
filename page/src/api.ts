/**
 * The Worker's JSON API as the page calls it: the token from sessionStorage as the bearer header, same origin
 * only (the CSP's connect-src 'self'). A 401 and the routes being off are answers the page shows, not errors.
 */
export type ApiResult<T> =
  | { ok: true; value: T }
  | { ok: false; reason: "unauthorized" | "disabled" | "failed"; message: string };

export async function getJson<T>(path: string, token: string): Promise<ApiResult<T>> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { Authorization: `Bearer ${token}`, Accept: "application/json" }, cache: "no-store" });
  } catch {
    return { ok: false, reason: "failed", message: "The Worker did not answer; check that it is running and try again." };
  }
  if (res.status === 401) return { ok: false, reason: "unauthorized", message: "That token was not accepted: enter the ADMIN_TOKEN set on this Worker." };
  const body: unknown = await res.json().catch(() => null);
  const error = typeof body === "object" && body !== null && "error" in body ? String(body.error) : null;
  const message = typeof body === "object" && body !== null && "message" in body ? String(body.message) : `HTTP ${res.status}`;
  if (error === "admin_disabled") return { ok: false, reason: "disabled", message };
  if (!res.ok) return { ok: false, reason: "failed", message: `The Worker answered HTTP ${res.status}: ${message}` };
  return { ok: true, value: body as T };
}

/** A query string from the values that are set. */
export function query(params: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== "") search.set(name, value);
  const text = search.toString();
  return text ? `?${text}` : "";
}
