/**
 * An agent's KV key: the number it answers in E.164 (phone.ts), or `agent:<id>` for the per-agent route. Shared by
 * every layer that names an agent (agents/, the event endpoints' `agents` in records/endpoints.ts) and the CLI.
 */
/** KV keys for the per-agent route (`/api/webhooks/twilio/:agentId`) are `agent:<agentId>`. */
export const AGENT_KEY_PREFIX = "agent:";
/**
 * Agent ids, the route's and Retell's: what can safely sit in a URL path segment and a KV key. Retell's fit it:
 * `agent_…`, or for older agents 32 letters and digits with no prefix (its API reference's example is
 * `oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD`); Retell's schema itself promises only a non-empty string.
 */
export const ROUTE_AGENT_ID = /^[A-Za-z0-9_-]{1,128}$/;
