/** Made-up credentials used only by the tests and the local stand-ins. */
export const TEST_TWILIO_AUTH_TOKEN = "test_twilio_auth_token_0123456789ab";
export const TEST_TWILIO_AUTH_TOKEN_SECONDARY = "test_twilio_auth_token_secondary_99";
export const TEST_RETELL_API_KEY = "key_test_retell_0123456789";
/** The Twilio account the tests' calls belong to (voiceParams' AccountSid), served by the local Twilio stand-in. */
export const TEST_TWILIO_ACCOUNT_SID = "AC00000000000000000000000000000000";
/** The Worker's WEBHOOK_SIGNING_SECRET in tests (32 bytes), which the receiver stand-in verifies with. */
export const TEST_WEBHOOK_SIGNING_SECRET = `whsec_${btoa(String.fromCharCode(...Array.from({ length: 32 }, (_, i) => (i * 7 + 3) % 256)))}`;
