/**
 * GET /api/calls and GET /api/stats: call records and statistics for operators, as JSON (both take `direction`;
 * stats also `group=all`, every agent's calls as one entry, for the operator page's overview). The stats also
 * count call events' deliveries to the operator's endpoints in the window, by state.
 * `Authorization: Bearer <ADMIN_TOKEN>`, where the token is whatever the rule in tokens.ts allows (Hono's
 * bearerAuth would refuse one with `!`, `#` or a space, locking the operator out), compared in constant time with Hono's timingSafeEqual
 * (SHA-256 of both sides, then a constant-time compare); any failure is 401. Without ADMIN_TOKEN the routes are
 * off: 404 saying so.
 */
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { timingSafeEqual } from "hono/utils/buffer";
import type { AppEnv } from "../env.ts";
import { DIRECTION_MESSAGE, isCallDirection, parseListQuery } from "../records/list.ts";
import { GROUP_MESSAGE, isStatsGroup, type StatsFilter } from "../records/stats.ts";
import { callStats, listCalls } from "../records/store.ts";
import { deliveryCounts } from "../records/deliveries.ts";
import { DEFAULT_STATS_DAYS, parseWindow } from "../records/window.ts";
import { AppError, failureResponse, fromStorage } from "../errors.ts";
import { tokenProblem } from "../tokens.ts";

/** Every refusal looks the same (401, same body), whether the header is missing, malformed or wrong. */
function refuse(realm: string): Response {
  const { body } = failureResponse({ kind: "unauthorized", detail: "" });
  return Response.json(body, { status: 401, headers: { "WWW-Authenticate": `Bearer realm="${realm}"` } });
}

/** The scheme, in any case (RFC 9110 §11.1), and the spaces after it; the token is everything that follows. */
const BEARER_PREFIX = /^bearer +/i;

/** Whether the request's bearer token is `token`, compared in constant time. */
async function bearerIs(header: string | undefined, token: string): Promise<boolean> {
  const value = header ?? "";
  const given = BEARER_PREFIX.test(value) ? value.replace(BEARER_PREFIX, "") : null;
  return given !== null && (await timingSafeEqual(token, given));
}

/** A token that breaks the rule (tokens.ts) is a deployment mistake: every request is refused (500) until it is replaced. */
function checkedToken(name: "ADMIN_TOKEN" | "CALLS_TOKEN", token: string): string {
  const problem = tokenProblem(name, token);
  if (problem) throw new AppError({ kind: "misconfigured", detail: problem, event: "config.invalid_var", log: { var: name } });
  return token;
}

/** Reading records: ADMIN_TOKEN. */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  if (!c.env.ADMIN_TOKEN) throw new AppError({ kind: "admin_disabled" });
  const token = checkedToken("ADMIN_TOKEN", c.env.ADMIN_TOKEN);
  if (!(await bearerIs(c.req.header("Authorization"), token))) return refuse("admin");
  await next();
});

/**
 * Placing calls: CALLS_TOKEN, a permission of its own (ADMIN_TOKEN, which only reads, does not place calls), and
 * at least MIN_CALLS_TOKEN_CHARS long (tokens.ts).
 */
export const requireCaller = createMiddleware<AppEnv>(async (c, next) => {
  if (!c.env.CALLS_TOKEN) throw new AppError({ kind: "calls_disabled" });
  const token = checkedToken("CALLS_TOKEN", c.env.CALLS_TOKEN);
  if (!(await bearerIs(c.req.header("Authorization"), token))) return refuse("calls");
  await next();
});

export const admin = new Hono<AppEnv>();

admin.get("/calls", requireAdmin, async (c) => {
  const parsed = parseListQuery(c.req.query(), Date.now());
  if (!parsed.ok) throw new AppError({ kind: "bad_request", message: parsed.message });
  const { filter } = parsed;
  return c.json(await fromStorage(() => listCalls(c.env.DB, filter)));
});

admin.get("/stats", requireAdmin, async (c) => {
  const { since, until, agent, direction, group } = c.req.query();
  const parsed = parseWindow({ since, until }, Date.now(), DEFAULT_STATS_DAYS);
  if (!parsed.ok) throw new AppError({ kind: "bad_request", message: parsed.message });
  const { window } = parsed;
  const filter: StatsFilter = { ...window, ...(agent && { agent }) };
  if (direction) {
    if (!isCallDirection(direction)) throw new AppError({ kind: "bad_request", message: DIRECTION_MESSAGE });
    filter.direction = direction;
  }
  if (group) {
    if (!isStatsGroup(group)) throw new AppError({ kind: "bad_request", message: GROUP_MESSAGE });
    filter.group = group;
  }
  const [agents, deliveries] = await fromStorage(() => Promise.all([callStats(c.env.DB, filter), deliveryCounts(c.env.DB, window)]));
  return c.json({ since: new Date(window.since).toISOString(), until: new Date(window.until).toISOString(), agents, deliveries });
});
