import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";
import { unstable_readConfig } from "wrangler";
import { TEST_RETELL_API_KEY, TEST_TWILIO_ACCOUNT_SID, TEST_TWILIO_AUTH_TOKEN, TEST_TWILIO_AUTH_TOKEN_SECONDARY, TEST_WEBHOOK_SIGNING_SECRET } from "./test/secrets.ts";
import { TEST_ADMIN_TOKEN, TEST_CALLS_TOKEN } from "./test/admin-token.ts";

/**
 * The slowest files, slowest first (each 9 s or more in `bash .ci/run` on this project's 2-core machine,
 * docs/proof.md). They start first, so no long file is left running alone at the end while the other worker idles
 * (without this, vitest runs the projects one after the other, and `worker-alarm`'s two long files came last).
 */
const SLOWEST_FIRST = [
  "test/scripts/load.test.ts",
  "test/cli/calls.test.ts",
  "test/cli/agents.test.ts",
  "test/cli/demo.test.ts",
  "test/cli/deploy.test.ts",
  "test/cli/doctor.test.ts",
  "test/page/admin-page.test.ts",
  "test/cli/numbers.test.ts",
  "test/cli/hours.test.ts",
  "test/cli/dev.test.ts",
  "test/cli/rules.test.ts",
  "test/routes/voice-hook.test.ts",
  "test/cli/npm-dev.test.ts",
  "test/routes/transfer.test.ts",
  "test/security.test.ts",
  "test/routes/calls.test.ts",
  "test/cli/call.test.ts",
  "test/routes/hold.test.ts",
];

/** vitest's own order (slowest first once a run has left timings behind, else largest first), SLOWEST_FIRST ahead of it. */
class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (spec: TestSpecification) => {
      const at = SLOWEST_FIRST.indexOf(relative(spec.project.config.root, spec.moduleId).replaceAll("\\", "/"));
      return at === -1 ? SLOWEST_FIRST.length : at;
    };
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

/** wrangler.toml's `[assets] run_worker_first`: the paths that reach the Worker without an asset lookup (test/app.test.ts). */
const RUN_WORKER_FIRST = unstable_readConfig({ config: "./wrangler.toml" }).assets?.run_worker_first;

/**
 * The files that run a line's alarm by hand (runDurableObjectAlarm, copyToD1) at a moment of their choosing: the
 * alarm must not have run by itself first, so their lines keep the deployed copy delay.
 */
const ALARM_BY_HAND = ["test/line/object.test.ts", "test/routes/calls.test.ts", "test/routes/hold.test.ts"];

/**
 * The files that check the whole store is untouched (no line object, no record at all) or list every record or
 * delivery in D1: each needs a runtime of its own, where no other file's calls exist.
 */
const PRISTINE_STORE = ["test/routes/fuzz.test.ts", "test/routes/admin.test.ts", "test/routes/deliveries.test.ts"];

/**
 * Tests in the Workers runtime (workerd, through @cloudflare/vitest-plugin) against the local Retell, Twilio, hook
 * and receiver stand-ins. `copyDelayMs`: LINE_COPY_DELAY_MS, how long a line waits before copying a change to D1
 * (undefined: the deployed second, line/d1-copy.ts COPY_DELAY_MS).
 */
function workerProject(name: string, files: { include: string[]; exclude: string[] }, copyDelayMs: string | undefined, isolate = true): TestProjectInlineConfiguration {
  return {
    plugins: [
      cloudflareTest(async ({ inject }) => ({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          compatibilityFlags: ["nodejs_compat"],
          bindings: {
            RETELL_BASE_URL: inject("retellBaseUrl"),
            // Well above the stand-in's slow answers (1.5 s) that tests keep in flight: a loaded machine adds
            // seconds to a round trip, and a timeout there would retry and register twice.
            RETELL_TIMEOUT_MS: "5000",
            TWILIO_API_BASE_URL: inject("twilioApiBaseUrl"),
            TWILIO_ACCOUNT_SID: TEST_TWILIO_ACCOUNT_SID,
            TWILIO_AUTH_TOKEN: TEST_TWILIO_AUTH_TOKEN,
            TWILIO_AUTH_TOKEN_SECONDARY: TEST_TWILIO_AUTH_TOKEN_SECONDARY,
            RETELL_API_KEY: TEST_RETELL_API_KEY,
            ADMIN_TOKEN: TEST_ADMIN_TOKEN,
            WEBHOOK_SIGNING_SECRET: TEST_WEBHOOK_SIGNING_SECRET,
            CALLS_TOKEN: TEST_CALLS_TOKEN,
            // The tests call from Australian numbers to American ones (the default is the calling number's country).
            OUTBOUND_ALLOWED_COUNTRIES: "AU,US",
            // 50 ms for most files: the many tests that wait for a record (for it, not for a time) then wait 50 ms
            // each, not a second.
            ...(copyDelayMs !== undefined && { LINE_COPY_DELAY_MS: copyDelayMs }),
            TEST_RUN_WORKER_FIRST: JSON.stringify(Array.isArray(RUN_WORKER_FIRST) ? RUN_WORKER_FIRST : []),
            // Applied to the DB binding of each test file by test/apply-migrations.ts.
            TEST_MIGRATIONS: await readD1Migrations(fileURLToPath(new URL("./migrations", import.meta.url))),
          },
        },
      })),
    ],
    test: {
      name,
      // Generous limits that only a failing test reaches: on a loaded 2-core machine a test that takes
      // 0.5 s alone can take several, and vitest's default 5 s would fail it for the machine, not the code.
      testTimeout: 30_000,
      hookTimeout: 30_000,
      globalSetup: ["./test/global-setup.ts"],
      setupFiles: ["./test/apply-migrations.ts"],
      isolate,
      ...files,
    },
  };
}

/**
 * Four projects. Three run in the Workers runtime (workerProject): `worker` shares one runtime and its storage
 * among the files each vitest worker runs (`isolate: false`: a runtime per file cost about a second of CPU each,
 * 100 s over the suite); its tests key what they store on ids of their own (uniqueNumber, fresh CallSids), and
 * the setup file forgets memoised KV reads between files. `worker-pristine` (PRISTINE_STORE) and `worker-alarm`
 * (ALARM_BY_HAND) give each file a runtime of its own. `node` runs the operator CLI (cli/) against local
 * stand-ins and local wrangler, the operator page in a browser, and the stand-ins' own HTTP server.
 */
export default defineConfig({
  test: {
    // The Worker logs a JSON line per webhook; show them only for a test that fails.
    silent: "passed-only",
    // Project `worker` shares a runtime among its files: a line object's alarm or a waitUntil that a file started
    // may log after the file has ended, when vitest has closed that file's channel for console output. That one
    // error, about a log line with no file left to show it in, is ignored; every other unhandled error fails the run.
    onUnhandledError: (error) => !(error.name === "EnvironmentTeardownError" && error.message.includes('"onUserConsoleLog" was pending')),
    // Two test files at a time (vitest's default on 2 cores is one): most of a file's time is spent waiting on
    // other processes (wrangler, workerd, the CLI, a line object's alarm), so a second file fills the gap. Each
    // file keys what it stores on ids of its own, as the shared stand-ins do.
    maxWorkers: 2,
    sequence: { sequencer: SlowestFirst },
    projects: [
      workerProject("worker", { include: ["test/**/*.test.ts"], exclude: ["test/cli/**", "test/scripts/**", "test/page/**", "test/stand-ins/**", ...ALARM_BY_HAND, ...PRISTINE_STORE] }, "50", false),
      workerProject("worker-pristine", { include: PRISTINE_STORE, exclude: [] }, "50"),
      workerProject("worker-alarm", { include: ALARM_BY_HAND, exclude: [] }, undefined),
      {
        test: {
          name: "node",
          environment: "node",
          include: ["test/cli/**/*.test.ts", "test/scripts/**/*.test.ts", "test/page/**/*.test.ts", "test/stand-ins/**/*.test.ts"],
          // These tests start wrangler and workerd, which a loaded machine slows many times over: limits
          // that only a failing test reaches (wrangler dev's own start-up allows 90 s).
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
