/**
 * Asks Retell whether agent ids exist: `GET /get-agent/{agent_id}` with the API key
 * (https://docs.retellai.com/api-references/get-agent). RETELL_BASE_URL overrides the origin (tests, stand-in).
 */
import { DEFAULT_RETELL_BASE_URL } from "../../src/retell/register.ts";
import { CliError } from "./errors.ts";

/** Retell's API origin (src/config.ts has the same default; it cannot be imported here, it needs the Worker's types). */

export interface RetellApi {
  apiKey: string;
  baseUrl: string;
}

export type AgentStatus = { ok: true; name?: string } | { ok: false; reason: "missing" | "error"; detail: string };

export function retellApi(apiKey: string, baseUrl: string | undefined): RetellApi {
  return { apiKey, baseUrl: (baseUrl || DEFAULT_RETELL_BASE_URL).replace(/\/+$/, "") };
}

export async function getAgent(api: RetellApi, agentId: string): Promise<AgentStatus> {
  let response: Response;
  try {
    response = await fetch(`${api.baseUrl}/get-agent/${encodeURIComponent(agentId)}`, {
      headers: { Authorization: `Bearer ${api.apiKey}`, Accept: "application/json" },
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    throw new CliError(`Cannot reach Retell at ${api.baseUrl}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}.`, {
      fix: "check the network, or RETELL_BASE_URL if you set it",
    });
  }
  const text = await response.text();
  if (response.status === 401 || response.status === 403) {
    throw new CliError(`Retell rejected RETELL_API_KEY (HTTP ${response.status}).`, { fix: "copy a valid API key from the Retell dashboard (Settings → API Keys) into RETELL_API_KEY" });
  }
  if (response.ok) {
    let name: string | undefined;
    try {
      name = (JSON.parse(text) as { agent_name?: string }).agent_name ?? undefined;
    } catch {
      // A name is nice to have; the 200 is what counts.
    }
    return name ? { ok: true, name } : { ok: true };
  }
  if (response.status === 404 || response.status === 422) return { ok: false, reason: "missing", detail: `Retell has no agent ${agentId} under this API key` };
  return { ok: false, reason: "error", detail: `Retell answered HTTP ${response.status}: ${text.slice(0, 200)}` };
}

/** Checks each distinct id, four at a time; `onResult` reports progress. */
export async function checkAgents(
  api: RetellApi,
  ids: string[],
  onResult: (id: string, status: AgentStatus) => void = () => {},
): Promise<Map<string, AgentStatus>> {
  const distinct = [...new Set(ids)];
  const results = new Map<string, AgentStatus>();
  let next = 0;
  const worker = async () => {
    while (next < distinct.length) {
      const id = distinct[next++] as string;
      const status = await getAgent(api, id);
      results.set(id, status);
      onResult(id, status);
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, distinct.length) }, worker));
  return results;
}
