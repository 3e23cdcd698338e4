/**
 * The KV store that holds number → agent mappings, reached only through wrangler. Every command names
 * its store with --local or --remote; nothing here picks one by default.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { AGENTS_BINDING, agentsNamespace, readWranglerConfig } from "./config.ts";
import { usageError } from "./errors.ts";
import { WEBHOOKS_KEY } from "../../src/records/endpoints.ts";
import { wrangler } from "./wrangler.ts";

export interface Store {
  mode: "local" | "remote";
  /** Local only: the persistence folder given with --persist-to (else wrangler's .wrangler/state). */
  persistTo: string | undefined;
  configPath: string;
}

export const STORE_FLAGS = {
  local: { type: "boolean" },
  remote: { type: "boolean" },
  "persist-to": { type: "string" },
  config: { type: "string", short: "c" },
} as const;

export interface StoreFlagValues {
  local?: boolean;
  remote?: boolean;
  "persist-to"?: string;
  config?: string;
}

/** The store named by the flags; neither or both of --local/--remote is a usage error. */
export function storeFromFlags(flags: StoreFlagValues, command: string, configPath: string): Store {
  if (flags.local && flags.remote) throw usageError(`\`${command}\`: choose one of --local and --remote, not both.`);
  if (!flags.local && !flags.remote) {
    throw usageError(
      `\`${command}\` needs --local or --remote: it never guesses which KV store to touch.`,
      "--local: the local store `npm run dev` uses (.wrangler/state); --remote: the deployed namespace on Cloudflare",
    );
  }
  if (flags.remote && flags["persist-to"]) throw usageError(`\`${command}\`: --persist-to only applies to --local.`);
  return { mode: flags.local ? "local" : "remote", persistTo: flags["persist-to"] ? resolve(flags["persist-to"]) : undefined, configPath };
}

/** One line that says which store this is, for every command's output. */
export function describeStore(store: Store): string {
  if (store.mode === "local") {
    const rel = store.persistTo ? relative(process.cwd(), store.persistTo) || "." : ".wrangler/state";
    const where = store.persistTo && rel.startsWith("..") ? store.persistTo : rel;
    return `local KV store (binding ${AGENTS_BINDING}, in ${where}${store.persistTo ? "" : ", the one `npm run dev` uses"})`;
  }
  let id = "";
  try {
    id = agentsNamespace(readWranglerConfig(store.configPath))?.fields.id ?? "";
  } catch {
    // The config error surfaces when wrangler runs.
  }
  return `remote KV namespace on Cloudflare (binding ${AGENTS_BINDING}${id ? `, id ${id}` : ", no id in wrangler.toml yet: run `npm run deploy`"})`;
}

/** The fix line for a failed wrangler call on this store. */
function storeFix(store: Store): string | undefined {
  if (store.mode === "local") return undefined;
  try {
    if (!agentsNamespace(readWranglerConfig(store.configPath))?.fields.id) return "wrangler.toml has no id for the AGENTS namespace yet: run `npm run deploy` first (it creates the namespace and records its id)";
  } catch {
    return undefined;
  }
  return undefined;
}

function storeArgs(store: Store): string[] {
  const args = ["--binding", AGENTS_BINDING, "--config", store.configPath];
  if (store.mode === "remote") return [...args, "--remote"];
  return store.persistTo ? [...args, "--local", "--persist-to", store.persistTo] : [...args, "--local"];
}

function withTempFile<T>(name: string, content: string, fn: (path: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "bridge-cli-"));
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return fn(path).finally(() => rmSync(dir, { recursive: true, force: true }));
}

function parseJsonOutput(stdout: string, what: string): unknown {
  const start = stdout.search(/[[{]/);
  try {
    return JSON.parse(stdout.slice(start));
  } catch {
    throw new Error(`${what}: wrangler printed no JSON (${stdout.slice(0, 200)})`);
  }
}

export async function listKeys(store: Store): Promise<string[]> {
  const { stdout } = await wrangler(["kv", "key", "list", ...storeArgs(store)], `Listing keys in the ${store.mode} KV store`, { fix: storeFix(store) });
  const keys = parseJsonOutput(stdout, "kv key list") as { name: string }[];
  return keys.map((k) => k.name);
}

/** Values of `keys` (null when absent), through `wrangler kv bulk get` (100 keys a call remotely, the API's limit). */
export async function getValues(store: Store, keys: string[]): Promise<Map<string, string | null>> {
  const values = new Map<string, string | null>();
  const chunk = store.mode === "remote" ? 100 : 10_000;
  for (let i = 0; i < keys.length; i += chunk) {
    const part = keys.slice(i, i + chunk);
    const { stdout } = await withTempFile("keys.json", JSON.stringify(part), (file) =>
      wrangler(["kv", "bulk", "get", file, ...storeArgs(store)], `Reading the ${store.mode} KV store`, { fix: storeFix(store) }),
    );
    const result = parseJsonOutput(stdout, "kv bulk get") as Record<string, { value: string | null }>;
    for (const key of part) values.set(key, result[key]?.value ?? null);
  }
  return values;
}

/** KV keys of the routing rules (`rules:blocked`), stored beside the mappings but not mappings themselves. */
export const RULES_KEY_PREFIX = "rules:";

/** Every number → agent mapping in the store (the rules' and the webhooks' own keys left out). */
export async function readAll(store: Store): Promise<Map<string, string>> {
  return (await readMappings(store)).mappings;
}

/**
 * The mappings, and the values of `also` (keys beside the mappings: the blocklist, the webhooks), read in the same
 * `kv bulk get` whether listed or not: each wrangler start costs the operator two seconds or more.
 */
export async function readMappings(store: Store, also: string[] = []): Promise<{ mappings: Map<string, string>; also: Map<string, string | null> }> {
  const listed = await listKeys(store);
  const keys = listed.filter((key) => !key.startsWith(RULES_KEY_PREFIX) && key !== WEBHOOKS_KEY);
  const values = await getValues(store, [...new Set([...keys, ...also])]);
  const mappings = new Map<string, string>();
  for (const key of keys) {
    const value = values.get(key);
    if (value != null) mappings.set(key, value);
  }
  return { mappings, also: new Map(also.map((key) => [key, values.get(key) ?? null])) };
}

/** One write: `wrangler kv key put` (the value goes through a file, so no shell or argument parser can alter it). */
export async function putValue(store: Store, key: string, value: string): Promise<void> {
  await withTempFile("value", value, (file) => wrangler(["kv", "key", "put", key, "--path", file, ...storeArgs(store)], `Writing ${key} to the ${store.mode} KV store`, { fix: storeFix(store) }));
}

/** Many writes in one `wrangler kv bulk put` (which batches 10,000 pairs a request itself). */
export async function putMany(store: Store, entries: { key: string; value: string }[]): Promise<void> {
  if (entries.length === 0) return;
  await withTempFile("bulk.json", JSON.stringify(entries), (file) => wrangler(["kv", "bulk", "put", file, ...storeArgs(store)], `Writing ${entries.length} mapping(s) to the ${store.mode} KV store`, { fix: storeFix(store) }));
}

export async function deleteKey(store: Store, key: string): Promise<void> {
  await wrangler(["kv", "key", "delete", key, ...storeArgs(store)], `Deleting ${key} from the ${store.mode} KV store`, { fix: storeFix(store) });
}
