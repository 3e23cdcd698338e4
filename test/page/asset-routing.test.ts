/**
 * The static assets (the operator page) never stand between Twilio or Retell and the Worker: every path the Hono
 * app serves is one of wrangler.toml's `[assets] run_worker_first` patterns, so Cloudflare sends it to the Worker
 * without first looking for an asset of that name (docs/admin-page.md). A route added outside them would pay that
 * lookup on every webhook, and a file added to page/public/ under its path would answer in its place.
 */
import { join } from "node:path";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app.ts";
import { ROOT } from "../cli/helpers.ts";

/** A run_worker_first pattern as Cloudflare matches it: `*` any run of characters, anything else literally. */
function matches(pattern: string, path: string): boolean {
  const escaped = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${escaped.join(".*")}$`).test(path);
}

describe("the static assets' routing", () => {
  const { assets } = unstable_getMiniflareWorkerOptions(join(ROOT, "wrangler.toml")).workerOptions as { assets?: { routerConfig?: { static_routing?: { user_worker?: string[] } } } };
  const workerFirst = assets?.routerConfig?.static_routing?.user_worker ?? [];

  it("sends every path the Worker serves to the Worker first", () => {
    // App-wide middleware ("/*") serves nothing by itself; path parameters (:agentId) and wildcards stand for one
    // example segment each.
    const served = app.routes.filter((route) => route.path !== "/*");
    const paths = [...new Set(served.map((route) => route.path.replace(/:[^/]+|\*/g, "x")))];
    expect(paths.length).toBeGreaterThan(10);
    expect(paths.filter((path) => !workerFirst.some((pattern) => matches(pattern, path)))).toEqual([]);
  });

  it("leaves the operator page to the assets", () => {
    expect(workerFirst.filter((pattern) => matches(pattern, "/admin") || matches(pattern, "/admin/app.js"))).toEqual([]);
  });
});
