import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_RETELL_API_KEY, TEST_TWILIO_AUTH_TOKEN, TEST_TWILIO_AUTH_TOKEN_SECONDARY } from "./test/secrets.ts";

/**
 * Two projects: `worker` runs in the Workers runtime (workerd, through @cloudflare/vitest-plugin) against
 * the local Retell stand-in; `node` runs the operator CLI (cli/) against local stand-ins and local wrangler.
 */
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest(async ({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              compatibilityFlags: ["nodejs_compat"],
              bindings: {
                RETELL_BASE_URL: inject("retellBaseUrl"),
                RETELL_TIMEOUT_MS: "2000",
                TWILIO_AUTH_TOKEN: TEST_TWILIO_AUTH_TOKEN,
                TWILIO_AUTH_TOKEN_SECONDARY: TEST_TWILIO_AUTH_TOKEN_SECONDARY,
                RETELL_API_KEY: TEST_RETELL_API_KEY,
              },
            },
          })),
        ],
        test: {
          name: "worker",
          globalSetup: ["./test/global-setup.ts"],
          include: ["test/**/*.test.ts"],
          exclude: ["test/cli/**"],
        },
      },
      {
        test: {
          name: "node",
          environment: "node",
          include: ["test/cli/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
