import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { TEST_RETELL_API_KEY, TEST_TWILIO_ACCOUNT_SID, TEST_TWILIO_AUTH_TOKEN, TEST_TWILIO_AUTH_TOKEN_SECONDARY, TEST_WEBHOOK_SIGNING_SECRET } from "./test/secrets.ts";
import { TEST_ADMIN_TOKEN, TEST_CALLS_TOKEN } from "./test/admin-token.ts";

/**
 * Two projects: `worker` runs in the Workers runtime (workerd, through @cloudflare/vitest-plugin) against
 * the local Retell, Twilio and hook stand-ins; `node` runs the operator CLI (cli/) against local stand-ins and local wrangler, the operator page in a browser, and the stand-ins' own HTTP server.
 */
export default defineConfig({
  test: {
    // The Worker logs a JSON line per webhook; show them only for a test that fails.
    silent: "passed-only",
    // Two test files at a time (vitest's default on 2 cores is one): most of a file's time is spent waiting on
    // other processes (wrangler, workerd, the CLI, a line object's alarm), so a second file fills the gap. Each
    // worker file still gets a runtime and storage of its own; ids the shared stand-ins key on are random.
    maxWorkers: 2,
    projects: [
      {
        plugins: [
          cloudflareTest(async ({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              compatibilityFlags: ["nodejs_compat"],
              bindings: {
                RETELL_BASE_URL: inject("retellBaseUrl"),
                // Well above the stand-in's slow answers (1.5 s) that tests keep in flight: a loaded machine adds
                // seconds to a round trip, and a timeout there would retry and register twice.
                RETELL_TIMEOUT_MS: "5000",
                TWILIO_API_BASE_URL: inject("twilioApiBaseUrl"),
                TWILIO_ACCOUNT_SID: TEST_TWILIO_ACCOUNT_SID,
                TWILIO_AUTH_TOKEN: TEST_TWILIO_AUTH_TOKEN,
                TWILIO_AUTH_TOKEN_SECONDARY: TEST_TWILIO_AUTH_TOKEN_SECONDARY,
                RETELL_API_KEY: TEST_RETELL_API_KEY,
                ADMIN_TOKEN: TEST_ADMIN_TOKEN,
                WEBHOOK_SIGNING_SECRET: TEST_WEBHOOK_SIGNING_SECRET,
                CALLS_TOKEN: TEST_CALLS_TOKEN,
                // The tests call from Australian numbers to American ones (the default is the calling number's country).
                OUTBOUND_ALLOWED_COUNTRIES: "AU,US",
                // A line copies a change to D1 this long after it (1 s deployed: line/d1-copy.ts COPY_DELAY_MS), so the
                // many tests that wait for a record each wait 50 ms, not a second; they wait for the record, not a time.
                LINE_COPY_DELAY_MS: "50",
                // Applied to the DB binding of each test file by test/apply-migrations.ts.
                TEST_MIGRATIONS: await readD1Migrations(fileURLToPath(new URL("./migrations", import.meta.url))),
              },
            },
          })),
        ],
        test: {
          name: "worker",
          // Generous limits that only a failing test reaches: on a loaded 2-core machine a test that takes
          // 0.5 s alone can take several, and vitest's default 5 s would fail it for the machine, not the code.
          testTimeout: 30_000,
          hookTimeout: 30_000,
          globalSetup: ["./test/global-setup.ts"],
          setupFiles: ["./test/apply-migrations.ts"],
          include: ["test/**/*.test.ts"],
          exclude: ["test/cli/**", "test/scripts/**", "test/page/**", "test/stand-ins/**"],
        },
      },
      {
        test: {
          name: "node",
          environment: "node",
          include: ["test/cli/**/*.test.ts", "test/scripts/**/*.test.ts", "test/page/**/*.test.ts", "test/stand-ins/**/*.test.ts"],
          // These tests start wrangler and workerd, which a loaded machine slows many times over: limits
          // that only a failing test reaches (wrangler dev's own start-up allows 90 s).
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
