/**
 * npm run typecheck: the generated binding types checked against wrangler.toml, then the four TypeScript
 * programs (the Worker and its tests; the CLI, scripts, stand-ins and Node tests; the bench's own-work stage;
 * the operator page), all at once. They cannot be one program: each has its own globals (the Workers
 * runtime's, Node's, both, the browser's DOM). Run side by side they take the time of the longest on two cores instead of the sum, and each keeps
 * its incremental state in node_modules/.cache/tsc, so a second run checks only what changed.
 * Each check's output is printed whole, in order, after they end; exits 1 if any failed.
 */
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

/** Where tsc keeps what it learnt last time (`--incremental`); node_modules/ is never committed. */
const CACHE = join("node_modules", ".cache", "tsc");

const tsc = (project: string) => ["tsc", "--noEmit", "-p", project, "--incremental", "--tsBuildInfoFile", join(CACHE, `${project}.tsbuildinfo`)];

const CHECKS: { name: string; args: string[] }[] = [
  { name: "wrangler types --check", args: ["wrangler", "types", "--strict-vars=false", "--check"] },
  { name: "tsc -p tsconfig.json (the Worker and its tests)", args: tsc("tsconfig.json") },
  { name: "tsc -p tsconfig.node.json (CLI, scripts, stand-ins, Node tests)", args: tsc("tsconfig.node.json") },
  { name: "tsc -p tsconfig.bench.json (the bench's own-work stage: Worker code under Node)", args: tsc("tsconfig.bench.json") },
  { name: "tsc -p tsconfig.page.json (the operator page)", args: tsc("tsconfig.page.json") },
];

function run(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    // The project's own binaries, as npm scripts run them.
    const [bin, ...rest] = args as [string, ...string[]];
    const child = spawn(join("node_modules", ".bin", bin), rest, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
    child.on("error", (error) => resolve({ code: 1, output: `${output}${error.message}\n` }));
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

mkdirSync(CACHE, { recursive: true });
const results = await Promise.all(CHECKS.map((check) => run(check.args)));
let failed = 0;
for (const [i, { code, output }] of results.entries()) {
  const check = CHECKS[i] as (typeof CHECKS)[number];
  console.log(`${code === 0 ? "✓" : "✗"} ${check.name}`);
  if (code !== 0) {
    failed++;
    process.stdout.write(output.endsWith("\n") || output === "" ? output : `${output}\n`);
  }
}
process.exitCode = failed ? 1 : 0;
