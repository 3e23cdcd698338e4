/** The made-up ADMIN_TOKEN the worker tests run with (a separate file so vitest.config.ts can read it in Node). */
export const TEST_ADMIN_TOKEN = "test_admin_token_0123456789abcdef";
