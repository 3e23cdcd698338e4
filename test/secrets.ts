/** Made-up credentials used only by the tests and the local stand-ins. */
export const TEST_TWILIO_AUTH_TOKEN = "test_twilio_auth_token_0123456789ab";
export const TEST_TWILIO_AUTH_TOKEN_SECONDARY = "test_twilio_auth_token_secondary_99";
export const TEST_RETELL_API_KEY = "key_test_retell_0123456789";
/** The Twilio account the tests' calls belong to (voiceParams' AccountSid), served by the local Twilio stand-in. */
export const TEST_TWILIO_ACCOUNT_SID = "AC00000000000000000000000000000000";
/** Signs what the Worker sends to the operator's servers in tests (32 bytes, base64, as `whsec_`); the hook stand-in verifies with it. */
export const TEST_WEBHOOK_SIGNING_SECRET = "whsec_dGVzdF93ZWJob29rX3NpZ25pbmdfc2VjcmV0XzMyYg==";
