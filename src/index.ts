/** The Worker entry point: HTTP requests, and the daily retention cron (wrangler.toml [triggers]). */
import { app } from "./app.ts";
import { purgeExpiredCalls } from "./calls/retention.ts";
import type { Bindings } from "./env.ts";

export default {
  fetch: app.fetch,
  scheduled(controller, env, ctx) {
    ctx.waitUntil(purgeExpiredCalls(env, controller.scheduledTime));
  },
} satisfies ExportedHandler<Bindings>;
