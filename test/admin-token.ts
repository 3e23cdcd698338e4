/** The made-up ADMIN_TOKEN the worker tests run with (a separate file so vitest.config.ts can read it in Node). */
export const TEST_ADMIN_TOKEN = "test_admin_token_0123456789abcdef";
/** The made-up CALLS_TOKEN (POST /api/calls) the worker tests run with: 32 characters or more, as the Worker requires. */
export const TEST_CALLS_TOKEN = "test_calls_token_0123456789abcdef0123";
