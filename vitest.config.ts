import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_RETELL_API_KEY, TEST_TWILIO_AUTH_TOKEN, TEST_TWILIO_AUTH_TOKEN_SECONDARY } from "./test/secrets.ts";

export default defineConfig({
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
    globalSetup: ["./test/global-setup.ts"],
    include: ["test/**/*.test.ts"],
  },
});
