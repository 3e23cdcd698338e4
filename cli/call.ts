/**
 * `npm run call`: places outbound calls through the Worker's API (POST /api/calls) and follows each one's status
 * (GET /api/calls/:callSid) until Twilio reports it final. One number, or a CSV list placed with at most N calls
 * in flight, a progress line per call, a summary table and a results CSV beside the list.
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { MACHINE_DETECTIONS } from "../src/line/machine.ts";
import { isFinalStatus, isTwilioCallStatus } from "../src/twilio/call-status.ts";
import type { CallRecord } from "../src/records/list.ts";
import { parseFlags } from "./lib/args.ts";
import { LOCAL_WORKER_URL, WorkerApi } from "./lib/api.ts";
import { parseBaseUrl } from "./lib/bridge.ts";
import { formatResults, readCallList, resultsPath, type CallResult, type CallRow } from "./lib/call-list.ts";
import { DEFAULT_CONFIG } from "./lib/config.ts";
import { CliError, EXIT, onInterrupt, runMain, usageError } from "./lib/errors.ts";
import { note, out, Progress, table } from "./lib/output.ts";
import { Settings } from "./lib/settings.ts";

/** How often a call's record is read while following it: records reach D1 about a second after each change. */
const POLL_MS = Number(process.env.BRIDGE_CALL_POLL_MS) || 1_000;
/** Batches place a few calls at once by default, well under the Worker's OUTBOUND_MAX_CONCURRENT default of 5. */
const DEFAULT_CONCURRENCY = 2;

const USAGE = `Usage: npm run call -- <to> --from <number> [options]
       npm run call -- --csv <file> --from <number> [--concurrency N] [options]

Places outbound calls through the Worker's API (POST /api/calls): our Twilio number --from calls <to>, and
when the callee answers, the agent stored under --from (or --agent) takes the call. Prints the CallSid, then
follows the call until Twilio reports it over. CALLS_TOKEN (environment or .dev.vars) must be the Worker's;
ADMIN_TOKEN too to follow the calls (without it they are placed and not followed).

Options:
  --from N                    our Twilio number that calls (E.164)
  --agent ID                  the agent stored under agent:<ID> instead of the one under --from
  --var name=value            a dynamic variable for the agent (repeatable)
  --machine-detection M       ${MACHINE_DETECTIONS.join(" | ")} (default off): what an answering machine gets
  --voicemail TEXT            with --machine-detection message: what the machine records
  --csv FILE                  call every row: a \`to\` column plus one column per variable; the whole file is
                              checked first, and the results go to FILE's name + .results.csv
  --concurrency N             with --csv: calls in flight at once (default ${DEFAULT_CONCURRENCY}; the Worker allows OUTBOUND_MAX_CONCURRENT per number)

Worker (one is required):
  --local                     the Worker \`npm run dev\` runs (${LOCAL_WORKER_URL})
  --url URL                   the Worker at URL (https://twilio-retell-bridge.<subdomain>.workers.dev)
  -c, --config FILE           wrangler.toml beside the .dev.vars to read (default ./wrangler.toml)

Ctrl-C stops placing calls (calls already placed go on) and, with --csv, writes the results so far.
Exit codes: 0 every call placed and followed to its end, 1 a call could not be placed, 2 bad usage or a bad file.`;

const FLAGS = {
  from: { type: "string" },
  agent: { type: "string" },
  var: { type: "string", multiple: true },
  "machine-detection": { type: "string" },
  voicemail: { type: "string" },
  csv: { type: "string" },
  concurrency: { type: "string" },
  local: { type: "boolean" },
  url: { type: "string" },
  config: { type: "string", short: "c" },
} as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function parseVars(pairs: string[]): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw usageError(`--var ${JSON.stringify(pair)} is not name=value.`);
    const name = pair.slice(0, eq);
    if (name in vars) throw usageError(`--var ${name} is given twice.`);
    vars[name] = pair.slice(eq + 1);
  }
  return vars;
}

/** The final record of a call, read until Twilio has reported it over; `onStatus` hears each new status. */
async function follow(api: WorkerApi, callSid: string, onStatus: (record: CallRecord) => void, stopped: () => boolean): Promise<CallRecord | null> {
  let last = "";
  let record: CallRecord | null = null;
  while (api.canFollow && !stopped()) {
    record = (await api.call(callSid)) ?? record;
    const status = record?.twilioStatus ?? "queued";
    if (record && status !== last) {
      last = status;
      onStatus(record);
    }
    if (record && isTwilioCallStatus(status) && isFinalStatus(status)) return record;
    await sleep(POLL_MS);
  }
  return record;
}

function describeRecord(record: CallRecord): string {
  const parts: string[] = [record.twilioStatus ?? "queued"];
  if (record.answeredBy) parts.push(`answered by ${record.answeredBy}`);
  if (record.outcome) parts.push(record.outcome + (record.outcomeReason ? ` (${record.outcomeReason})` : ""));
  if (record.durationS !== null) parts.push(`${record.durationS}s`);
  return parts.join(", ");
}

async function callOne(api: WorkerApi, body: Record<string, unknown>): Promise<number> {
  const placed = await api.placeCall(body);
  if (!placed.ok) {
    const { failure } = placed;
    throw new CliError(`The call was not placed: ${failure.error} (HTTP ${failure.status}${failure.code ? `, Twilio code ${failure.code}` : ""}): ${failure.message}`);
  }
  out(placed.callSid);
  if (!api.canFollow) {
    note(`Placed ${placed.callSid} (${placed.status}); not followed without ADMIN_TOKEN.`);
    return EXIT.ok;
  }
  note(`Placed ${placed.callSid} (${placed.status}); following it until Twilio reports it over (Ctrl-C stops following, not the call)…`);
  const final = await follow(api, placed.callSid, (record) => note(`  ${describeRecord(record)}`), () => false);
  note(final ? `Call over: ${describeRecord(final)}` : "");
  return EXIT.ok;
}

async function callList(api: WorkerApi, file: string, rows: CallRow[], concurrency: number, bodyFor: (row: CallRow) => Record<string, unknown>): Promise<number> {
  const results: CallResult[] = rows.map((row) => ({ line: row.line, to: row.to, callSid: "", status: "not_placed", outcome: "", answeredBy: "", error: "" }));
  const output = resultsPath(file);
  const progress = new Progress("Calls", rows.length);
  let stopping = false;
  const writeResults = () => writeFileSync(output, formatResults(results));
  const unregister = onInterrupt(() => {
    stopping = true;
    writeResults();
    note(`Stopped placing calls; results so far in ${output} (calls already placed go on).`);
  });
  let next = 0;
  const worker = async () => {
    while (!stopping && next < rows.length) {
      const index = next++;
      const row = rows[index] as CallRow;
      const result = results[index] as CallResult;
      const placed = await api.placeCall(bodyFor(row));
      if (!placed.ok) {
        result.status = "not_placed";
        result.error = `${placed.failure.error}: ${placed.failure.message}`;
        progress.tick("failed", row.to, result.error);
        continue;
      }
      result.callSid = placed.callSid;
      result.status = placed.status;
      const final = await follow(api, placed.callSid, (record) => (result.status = record.twilioStatus ?? result.status), () => stopping);
      result.status = final?.twilioStatus ?? result.status;
      result.outcome = final?.outcome ?? "";
      result.answeredBy = final?.answeredBy ?? "";
      progress.tick("done", row.to, final ? describeRecord(final) : placed.callSid);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, worker));
  } finally {
    unregister();
  }
  writeResults();
  progress.printSummary();
  const counts = new Map<string, number>();
  for (const r of results) {
    const key = r.status === "not_placed" ? "not placed" : `${r.status}${r.outcome ? ` (${r.outcome})` : ""}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  for (const line of table([["Result", "Calls"], ...[...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => [k, String(n)])])) out(line);
  note(`Results: ${output}`);
  return progress.counts.failed > 0 ? EXIT.failed : EXIT.ok;
}

async function main(argv: string[]): Promise<number> {
  const { flags, positionals, help } = parseFlags(argv, FLAGS, "npm run call");
  if (help) {
    out(USAGE);
    return EXIT.ok;
  }
  if (flags.csv !== undefined ? positionals.length > 0 : positionals.length !== 1) {
    throw usageError(flags.csv !== undefined ? "`npm run call -- --csv <file>` takes no <to>: the numbers are in the file." : "`npm run call` needs exactly one <to> (or --csv <file>).", "run `npm run call -- --help`");
  }
  if (!flags.from) throw usageError("`npm run call` needs --from <number>: our Twilio number that calls.");
  if (flags.local && flags.url) throw usageError("`npm run call`: choose one of --local and --url, not both.");
  if (!flags.local && !flags.url) throw usageError("`npm run call` needs --local or --url <Worker base URL>.", `--local: ${LOCAL_WORKER_URL} (npm run dev); --url: the deployed Worker`);
  if (flags.concurrency !== undefined && flags.csv === undefined) throw usageError("--concurrency only applies to --csv.");
  const concurrency = flags.concurrency === undefined ? DEFAULT_CONCURRENCY : Number(flags.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 50) throw usageError("--concurrency must be a whole number from 1 to 50.");
  const baseUrl = flags.url ? parseBaseUrl(flags.url) : LOCAL_WORKER_URL;
  const settings = new Settings(resolve(flags.config ?? DEFAULT_CONFIG));
  const token = settings.get("CALLS_TOKEN");
  if (!token) throw usageError("CALLS_TOKEN is not set: POST /api/calls needs the Worker's calls token.", `set CALLS_TOKEN in the environment or in ${settings.devVarsFile}`);
  const admin = settings.value("ADMIN_TOKEN");
  if (!admin) note("ADMIN_TOKEN is not set: calls are placed but not followed (reading a call's record needs it).");

  const shared = parseVars(flags.var ?? []);
  const request = (to: string, vars: Record<string, string>): Record<string, unknown> => ({
    to,
    from: flags.from,
    ...(flags.agent !== undefined && { agentId: flags.agent }),
    ...((Object.keys(shared).length > 0 || Object.keys(vars).length > 0) && { dynamicVariables: { ...shared, ...vars } }),
    ...(flags["machine-detection"] !== undefined && { machineDetection: flags["machine-detection"] }),
    ...(flags.voicemail !== undefined && { voicemailMessage: flags.voicemail }),
  });
  const api = new WorkerApi(baseUrl, { calls: token.value, ...(admin && { admin }) });
  if (flags.csv !== undefined) {
    const rows = readCallList(flags.csv, request);
    note(`${rows.length} calls from ${flags.from} through ${baseUrl}, at most ${concurrency} at once.`);
    return callList(api, flags.csv, rows, concurrency, (row) => request(row.to, row.dynamicVariables));
  }
  return callOne(api, request(positionals[0] as string, {}));
}

await runMain(() => main(process.argv.slice(2)));
