/**
 * The static assets (the operator page) never stand between Twilio or Retell and the Worker: every path the Hono
 * app serves matches one of wrangler.toml's `[assets] run_worker_first` patterns (TEST_RUN_WORKER_FIRST, read by
 * vitest.config.ts), so Cloudflare sends it to the Worker without first looking for an asset of that name
 * (docs/admin-page.md). A route added outside them would pay that lookup on every request, and a file added to
 * page/public/ under its path would answer in its place.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../src/app.ts";

const workerFirst = JSON.parse((env as Env & { TEST_RUN_WORKER_FIRST: string }).TEST_RUN_WORKER_FIRST) as string[];

/** A run_worker_first pattern as Cloudflare matches it: `*` any run of characters, anything else literally. */
function matches(pattern: string, path: string): boolean {
  const literal = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${literal.join(".*")}$`).test(path);
}

describe("the app's routes and the static assets", () => {
  it("sends every path the Worker serves to the Worker before any asset lookup", () => {
    // App-wide middleware ("/*") serves nothing by itself; path parameters (:agentId) and wildcards stand for one
    // example segment each.
    const served = app.routes.filter((route) => route.path !== "/*");
    const paths = [...new Set(served.map((route) => route.path.replace(/:[^/]+|\*/g, "x")))];
    expect(paths).toContain("/api/webhooks/twilio");
    expect(paths.filter((path) => !workerFirst.some((pattern) => matches(pattern, path)))).toEqual([]);
  });

  it("leaves the operator page to the assets", () => {
    expect(workerFirst.filter((pattern) => ["/admin", "/admin/app.js", "/admin/app.css"].some((path) => matches(pattern, path)))).toEqual([]);
  });
});
