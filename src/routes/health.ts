import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { version } from "../../package.json";

/** GET /health: liveness and the deployed version; nothing about configuration or secrets. */
export const health = new Hono<AppEnv>();
health.get("/", (c) => c.json({ status: "ok", version }));
