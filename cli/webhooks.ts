/**
 * `npm run webhooks -- <command>`: the operator's endpoints for call events, in KV under `webhooks` in exactly the
 * format the Worker reads (src/records/endpoints.ts), and their deliveries through the Worker's admin API.
 * See docs/events.md and docs/operations.md.
 */
import { resolve } from "node:path";
import { EVENT_TYPES, WEBHOOKS_KEY, endpointAgentKey, parseEndpoints, validateEndpoints, type EventType, type WebhookEndpoint } from "../src/records/endpoints.ts";
import type { Delivery } from "../src/records/delivery.ts";
import { expectPositionals, parseFlags, subcommand } from "./lib/args.ts";
import { LOCAL_WORKER_URL, WorkerApi } from "./lib/api.ts";
import { parseBaseUrl } from "./lib/bridge.ts";
import { DEFAULT_CONFIG } from "./lib/config.ts";
import { CliError, EXIT, runMain, usageError } from "./lib/errors.ts";
import { note, out, outJson, table } from "./lib/output.ts";
import { Settings } from "./lib/settings.ts";
import { STORE_FLAGS, deleteKey, describeStore, getValues, putValue, storeFromFlags, type Store, type StoreFlagValues } from "./lib/store.ts";

const USAGE = `Usage: npm run webhooks -- <command> [options]

Where the Worker sends every call's events (signed with WEBHOOK_SIGNING_SECRET; docs/events.md).

Endpoints (KV key ${WEBHOOKS_KEY}; --local or --remote):
  add <url> [--id ID] [--events call.ended,call.analyzed] [--agent <key>]... [--format retell]
                           https only (http for localhost); all events and agents unless narrowed
  list [--json]            every endpoint, and why one is off
  remove <id>
  enable <id>              turn an endpoint back on (after a 410 Gone, or disable)
  disable <id>

Deliveries (the Worker's admin API, ADMIN_TOKEN; --local for npm run dev, or --url):
  test <id>                send a signed webhook.test event to the endpoint now
  deliveries [--failed] [--call CA…] [--limit N] [--json]
  replay <event-id>        send an event's failed deliveries again (same webhook-id)

Event types: ${EVENT_TYPES.join(", ")}.
--agent <key> is an agent's KV key: +<E.164 number> or agent:<id>.

Options:
  --local               the local store / Worker that \`npm run dev\` uses
  --persist-to DIR      with --local: another local persistence folder (endpoints)
  --remote              the deployed namespace on Cloudflare (endpoints)
  --url URL             the deployed Worker (deliveries)
  -c, --config FILE     wrangler.toml to use (default ./wrangler.toml)

Exit codes: 0 done, 1 failed, 2 bad usage or input (nothing written).`;

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  add,
  list,
  remove: (argv) => change(argv, "remove"),
  enable: (argv) => change(argv, "enable"),
  disable: (argv) => change(argv, "disable"),
  test,
  deliveries,
  replay,
};

async function main(argv: string[]): Promise<number> {
  const picked = subcommand(argv, Object.keys(SUBCOMMANDS), "npm run webhooks", USAGE);
  if (typeof picked === "number") return picked;
  return (SUBCOMMANDS[picked.command] as (argv: string[]) => Promise<number>)(picked.rest);
}

function openStore(flags: StoreFlagValues, command: string): Store {
  const store = storeFromFlags(flags, `npm run webhooks -- ${command}`, flags.config ?? DEFAULT_CONFIG);
  note(`Store: ${describeStore(store)}`);
  return store;
}

async function readEndpoints(store: Store): Promise<WebhookEndpoint[]> {
  const parsed = parseEndpoints((await getValues(store, [WEBHOOKS_KEY])).get(WEBHOOKS_KEY) ?? null);
  if (!parsed.ok) {
    throw new CliError(`${parsed.detail}: the stored endpoints are malformed (the Worker sends nothing); nothing was written.`, {
      fix: `look at it with npx wrangler kv key get --binding AGENTS ${WEBHOOKS_KEY} --${store.mode}; fix or delete it, then add again`,
    });
  }
  return parsed.endpoints;
}

/** Validates the whole list as the Worker will read it, then writes it (or deletes the key when empty). */
async function writeEndpoints(store: Store, endpoints: WebhookEndpoint[]): Promise<void> {
  const checked = validateEndpoints(endpoints);
  if (!checked.ok) throw usageError(`${checked.detail}; nothing was written.`);
  if (checked.endpoints.length === 0) await deleteKey(store, WEBHOOKS_KEY);
  else await putValue(store, WEBHOOKS_KEY, JSON.stringify(checked.endpoints));
  if (store.mode === "remote") note("  Deployed Workers may use the previous endpoints for up to 60 s (KV caching).");
}

/** An id from the URL's host (`hooks-example-com`), made unique among `taken`. */
function idFor(url: string, taken: string[]): string {
  let base = "endpoint";
  try {
    base = new URL(url).hostname.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 32) || base;
  } catch {
    // validateEndpoints names the bad URL.
  }
  let id = base;
  for (let n = 2; taken.includes(id); n++) id = `${base}-${n}`;
  return id;
}

async function add(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, { ...STORE_FLAGS, id: { type: "string" }, events: { type: "string" }, agent: { type: "string", multiple: true }, format: { type: "string" } }, "npm run webhooks -- add");
  if (parsed.help) {
    out(USAGE);
    return EXIT.ok;
  }
  const [url] = expectPositionals(parsed.positionals, ["url"], "npm run webhooks -- add");
  const { flags } = parsed;
  const agents = (flags.agent ?? []).map((a) => endpointAgentKey(a) ?? a);
  const events = flags.events?.split(",").map((e) => e.trim()).filter(Boolean) as EventType[] | undefined;
  const draft = { url: url as string, ...(events && { events }), ...(agents.length > 0 && { agents }), ...(flags.format && { format: flags.format }) };
  // Checked before the store is touched: a bad URL or event type writes nothing and reads nothing.
  const alone = validateEndpoints([{ id: flags.id ?? "check", ...draft }]);
  if (!alone.ok) throw usageError(`${alone.detail.replace(/^endpoint check: /, "")}; nothing was written.`);
  const store = openStore(flags, "add");
  const endpoints = await readEndpoints(store);
  if (flags.id && endpoints.some((e) => e.id === flags.id)) throw usageError(`An endpoint ${flags.id} exists already; nothing was written.`, "pick another --id, or remove it first");
  const id = flags.id ?? idFor(draft.url, endpoints.map((e) => e.id));
  await writeEndpoints(store, [...endpoints, { id, ...draft } as WebhookEndpoint]);
  out(`✓ Added endpoint ${id}: ${draft.url} (${describe({ id, ...draft } as WebhookEndpoint)}) in the ${describeStore(store)}.`);
  note(`  Send it a signed test event: npm run webhooks -- test ${id} --${store.mode === "local" ? "local" : "url <Worker URL>"}`);
  return EXIT.ok;
}

function describe(e: WebhookEndpoint): string {
  const what = e.format === "retell" ? "Retell's own events, byte for byte" : (e.events?.join(", ") ?? "every event");
  return `${what}; ${e.agents ? `agents ${e.agents.join(", ")}` : "every agent"}`;
}

async function list(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, { ...STORE_FLAGS, json: { type: "boolean" } }, "npm run webhooks -- list");
  if (parsed.help) {
    out(USAGE);
    return EXIT.ok;
  }
  expectPositionals(parsed.positionals, [], "npm run webhooks -- list");
  const store = openStore(parsed.flags, "list");
  const endpoints = await readEndpoints(store);
  if (parsed.flags.json) outJson(endpoints);
  else if (endpoints.length === 0) out("No endpoints: call events are not sent anywhere.");
  else {
    for (const line of table([
      ["ID", "STATE", "URL", "SENDS"],
      ...endpoints.map((e) => [e.id, e.enabled === false ? `off${e.disabledReason ? `: ${e.disabledReason}` : ""}` : "on", e.url, describe(e)]),
    ]))
      out(line);
  }
  note(`${endpoints.length} endpoint(s) in the ${describeStore(store)}.`);
  return EXIT.ok;
}

async function change(argv: string[], command: "remove" | "enable" | "disable"): Promise<number> {
  const parsed = parseFlags(argv, STORE_FLAGS, `npm run webhooks -- ${command}`);
  if (parsed.help) {
    out(USAGE);
    return EXIT.ok;
  }
  const [id] = expectPositionals(parsed.positionals, ["id"], `npm run webhooks -- ${command}`);
  const store = openStore(parsed.flags, command);
  const endpoints = await readEndpoints(store);
  const endpoint = endpoints.find((e) => e.id === id);
  if (!endpoint) throw new CliError(`No endpoint ${id} in the ${describeStore(store)}; nothing was written.`, { fix: "npm run webhooks -- list shows the ids" });
  if (command === "remove") {
    await writeEndpoints(store, endpoints.filter((e) => e !== endpoint));
    out(`✓ Removed endpoint ${id}; deliveries still queued for it are recorded as failed.`);
    return EXIT.ok;
  }
  const { enabled: _enabled, disabledReason: _reason, ...rest } = endpoint;
  const next: WebhookEndpoint = command === "enable" ? rest : { ...rest, enabled: false, disabledReason: `turned off with npm run webhooks -- disable on ${new Date().toISOString()}` };
  await writeEndpoints(store, endpoints.map((e) => (e === endpoint ? next : e)));
  out(`✓ ${command === "enable" ? "Enabled" : "Disabled"} endpoint ${id}.`);
  if (command === "enable") note(`  Events it missed while off are failed deliveries: npm run webhooks -- deliveries --failed, then replay.`);
  return EXIT.ok;
}

const API_FLAGS = { local: { type: "boolean" }, url: { type: "string" }, config: { type: "string", short: "c" } } as const;

function openApi(flags: { local?: boolean; url?: string; config?: string }, command: string): WorkerApi {
  if (flags.local && flags.url) throw usageError(`\`npm run webhooks -- ${command}\`: choose one of --local and --url, not both.`);
  if (!flags.local && !flags.url) throw usageError(`\`npm run webhooks -- ${command}\` needs --local or --url <Worker base URL>.`, `--local: ${LOCAL_WORKER_URL} (npm run dev); --url: the deployed Worker`);
  const settings = new Settings(resolve(flags.config ?? DEFAULT_CONFIG));
  const token = settings.get("ADMIN_TOKEN");
  if (!token) throw usageError("ADMIN_TOKEN is not set: the deliveries API needs the Worker's admin token.", `set ADMIN_TOKEN in the environment or in ${settings.devVarsFile}`);
  return new WorkerApi(flags.url ? parseBaseUrl(flags.url) : LOCAL_WORKER_URL, { admin: token.value });
}

async function test(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, API_FLAGS, "npm run webhooks -- test");
  if (parsed.help) {
    out(USAGE);
    return EXIT.ok;
  }
  const [id] = expectPositionals(parsed.positionals, ["id"], "npm run webhooks -- test");
  const result = await openApi(parsed.flags, "test").json("POST", `/api/deliveries/test/${encodeURIComponent(id as string)}`);
  if (result.delivered === true) {
    out(`✓ ${id} took the signed test event ${String(result.eventId)} (HTTP ${String(result.status)}).`);
    return EXIT.ok;
  }
  out(`✗ ${id} did not take the test event: ${String(result.error ?? `HTTP ${String(result.status)}`)}.`);
  return EXIT.failed;
}

function when(ms: number | null): string {
  return ms === null ? "" : new Date(ms).toISOString().replace(".000Z", "Z");
}

async function deliveries(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, { ...API_FLAGS, failed: { type: "boolean" }, call: { type: "string" }, limit: { type: "string" }, json: { type: "boolean" } }, "npm run webhooks -- deliveries");
  if (parsed.help) {
    out(USAGE);
    return EXIT.ok;
  }
  expectPositionals(parsed.positionals, [], "npm run webhooks -- deliveries");
  const { flags } = parsed;
  const query = new URLSearchParams({ ...(flags.failed && { state: "failed" }), ...(flags.call && { callSid: flags.call }), ...(flags.limit && { limit: flags.limit }) });
  const result = await openApi(flags, "deliveries").json("GET", `/api/deliveries${query.size > 0 ? `?${query}` : ""}`);
  const rows = (result.deliveries ?? []) as Delivery[];
  if (flags.json) outJson(rows);
  else if (rows.length === 0) out(flags.failed ? "No failed deliveries." : "No deliveries.");
  else {
    for (const line of table([
      ["EVENT", "TYPE", "CALL", "#", "ENDPOINT", "STATE", "ATTEMPTS", "LAST", "DELIVERED"],
      ...rows.map((d) => [d.eventId, d.type, d.callSid, String(d.sequence), d.endpointId, d.state, String(d.attempts), d.lastError ?? (d.lastStatus === null ? "" : String(d.lastStatus)), when(d.deliveredAt)]),
    ]))
      out(line);
  }
  if (rows.some((d) => d.state === "failed")) note("Send a failed event again: npm run webhooks -- replay <EVENT>");
  return EXIT.ok;
}

async function replay(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, API_FLAGS, "npm run webhooks -- replay");
  if (parsed.help) {
    out(USAGE);
    return EXIT.ok;
  }
  const [eventId] = expectPositionals(parsed.positionals, ["event-id"], "npm run webhooks -- replay");
  const result = await openApi(parsed.flags, "replay").json("POST", `/api/deliveries/${encodeURIComponent(eventId as string)}/replay`);
  out(`✓ ${eventId} queued again for ${((result.replayed ?? []) as string[]).join(", ")}; npm run webhooks -- deliveries shows how it goes.`);
  return EXIT.ok;
}

await runMain(() => main(process.argv.slice(2)));
