/**
 * Setup file for the worker tests: applies migrations/ to the DB binding. Storage is isolated per test file,
 * so this runs for every file; applyD1Migrations skips migrations already applied.
 */
import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env } from "cloudflare:workers";

const { DB, TEST_MIGRATIONS } = env as Env & { TEST_MIGRATIONS: D1Migration[] };
await applyD1Migrations(DB, TEST_MIGRATIONS);
