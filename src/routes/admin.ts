/**
 * GET /api/calls and GET /api/stats: call records and statistics for operators, as JSON (both take `direction`;
 * stats also `group=all`, every agent's calls as one entry, for the operator page's overview).
 * `Authorization: Bearer <ADMIN_TOKEN>`, where the token is whatever was set (Hono's bearerAuth would refuse one
 * with `!`, `#` or a space, locking the operator out), compared in constant time with Hono's timingSafeEqual
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
import { DEFAULT_STATS_DAYS, parseWindow } from "../records/window.ts";
import { AppError, failureResponse, fromStorage } from "../errors.ts";

/** Every refusal looks the same (401, same body), whether the header is missing, malformed or wrong. */
function refuse(): Response {
  const { body } = failureResponse({ kind: "unauthorized", detail: "" });
  return Response.json(body, { status: 401, headers: { "WWW-Authenticate": 'Bearer realm="admin"' } });
}

/** The scheme, in any case (RFC 9110 §11.1), and the spaces after it; the token is everything that follows. */
const BEARER_PREFIX = /^bearer +/i;

export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const token = c.env.ADMIN_TOKEN;
  if (!token) throw new AppError({ kind: "admin_disabled" });
  const header = c.req.header("Authorization") ?? "";
  const given = BEARER_PREFIX.test(header) ? header.replace(BEARER_PREFIX, "") : null;
  if (given === null || !(await timingSafeEqual(token, given))) return refuse();
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
  const agents = await fromStorage(() => callStats(c.env.DB, filter));
  return c.json({ since: new Date(window.since).toISOString(), until: new Date(window.until).toISOString(), agents });
});
