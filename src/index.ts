/** The Worker entry point: HTTP requests, the daily retention cron (wrangler.toml [triggers]), call events' queue consumer, and the line objects. */
import { app } from "./app.ts";
import { consumeBatch } from "./events/consumer.ts";
import { purgeExpiredCalls } from "./records/retention.ts";
import type { Bindings } from "./env.ts";

export { PhoneLine } from "./line/object.ts";

export default {
  fetch: app.fetch,
  scheduled(controller, env, ctx) {
    ctx.waitUntil(purgeExpiredCalls(env, controller.scheduledTime));
  },
  queue(batch, env) {
    return consumeBatch(batch, env);
  },
} satisfies ExportedHandler<Bindings>;
