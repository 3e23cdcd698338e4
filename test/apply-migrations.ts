/**
 * Setup file for the worker tests, run before every test file: applies migrations/ to the DB binding
 * (applyD1Migrations skips those already applied, so a runtime shared by many files applies them once), and
 * forgets the isolate's memoised KV reads, so no file sees another's mappings.
 */
import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { clearAgentMemo } from "../src/agents/lookup.ts";

const { DB, TEST_MIGRATIONS } = env as Env & { TEST_MIGRATIONS: D1Migration[] };
await applyD1Migrations(DB, TEST_MIGRATIONS);
clearAgentMemo();
