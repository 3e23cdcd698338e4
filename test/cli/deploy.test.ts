/**
 * `npm run deploy` end to end with a fake wrangler (Cloudflare cannot be reached here) that records its
 * arguments, keeps account state and prints what wrangler prints; on a temp copy of wrangler.toml.
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseWranglerToml } from "../../cli/lib/config.ts";
import { ROOT, cleanEnv, fakeWrangler, removeTempDirs, runCli, tempDir } from "./helpers.ts";

afterAll(removeTempDirs);

/** A temp project: wrangler.toml as in the repo, with both resources unrecorded, plus migrations/. */
function project(): { dir: string; config: string; secrets: string } {
  const dir = tempDir("deploy");
  const config = join(dir, "wrangler.toml");
  const text = readFileSync(join(ROOT, "wrangler.toml"), "utf8").replace(/^(id|database_id) = .*\n/gm, "");
  writeFileSync(config, text);
  if (existsSync(join(ROOT, "migrations"))) cpSync(join(ROOT, "migrations"), join(dir, "migrations"), { recursive: true });
  else writeFileSync(join(dir, "0001.sql"), "");
  const secrets = join(dir, "secrets.env");
  writeFileSync(secrets, "TWILIO_AUTH_TOKEN=tok\nRETELL_API_KEY=key\n");
  return { dir, config, secrets };
}

const words = (calls: string[][]) => calls.map((c) => c.filter((a, i) => !a.startsWith("-") && !(c[i - 1] ?? "").startsWith("--")).join(" "));

describe("npm run deploy", () => {
  it("creates the KV namespace and D1 database, writes their ids into wrangler.toml, migrates, deploys and prints the webhook URL", async () => {
    const { config, secrets } = project();
    const before = readFileSync(config, "utf8");
    const fake = fakeWrangler();
    const result = await runCli("deploy", ["--config", config, "--secrets-file", secrets], cleanEnv(fake.env));
    expect(result.code, result.output).toBe(0);
    const state = fake.state() as { namespaces: { id: string; title: string }[]; databases: { uuid: string; name: string }[]; deploys: number };
    expect(state.namespaces).toEqual([{ id: expect.stringMatching(/^[0-9a-f]{32}$/), title: "twilio-retell-bridge-agents" }]);
    const written = parseWranglerToml(readFileSync(config, "utf8"));
    expect(written.kvNamespaces.find((e) => e.fields.binding === "AGENTS")?.fields.id).toBe(state.namespaces[0]?.id);
    const db = written.d1Databases.find((e) => e.fields.binding === "DB");
    expect(db?.fields.database_id).toBe(state.databases.find((d) => d.name === db?.fields.database_name)?.uuid);
    // Only the id lines were added; every other line is as it was.
    expect(readFileSync(config, "utf8").split("\n").filter((l) => !/^(id|database_id) = /.test(l))).toEqual(before.split("\n"));
    expect(words(fake.calls())).toEqual(expect.arrayContaining(["deploy", "secret list"]));
    const deployCall = fake.calls().find((c) => c[0] === "deploy");
    expect(deployCall).toEqual(["deploy", "--config", config, "--secrets-file", secrets]);
    expect(fake.calls()).toContainEqual(["d1", "migrations", "apply", "DB", "--remote", "--config", config]);
    expect((fake.state() as { queues: { name: string; retention: number }[] }).queues).toEqual([
      { id: expect.any(String), name: "twilio-retell-events", retention: 86_400 },
      { id: expect.any(String), name: "twilio-retell-events-dlq", retention: 86_400 },
    ]);
    expect(result.stdout).toContain("Webhook URL for Twilio (Voice, HTTP POST): https://twilio-retell-bridge.operator-test.workers.dev/api/webhooks/twilio");
    expect(result.stdout).toContain("npm run doctor -- --remote --url https://twilio-retell-bridge.operator-test.workers.dev");
  });

  it("creates nothing on a second run and keeps the recorded ids", async () => {
    const { config, secrets } = project();
    const fake = fakeWrangler();
    expect((await runCli("deploy", ["--config", config, "--secrets-file", secrets], cleanEnv(fake.env))).code).toBe(0);
    const afterFirst = readFileSync(config, "utf8");
    const firstCalls = fake.calls().length;
    const second = await runCli("deploy", ["--config", config], cleanEnv(fake.env));
    expect(second.code, second.output).toBe(0);
    const secondCalls = words(fake.calls().slice(firstCalls));
    expect(secondCalls.filter((c) => / create |^kv namespace create|^d1 create|namespace list|^d1 list/.test(c))).toEqual([]);
    expect(readFileSync(config, "utf8")).toBe(afterFirst);
    expect(second.stdout).toContain("(recorded in wrangler.toml)");
    expect((fake.state() as { namespaces: unknown[] }).namespaces).toHaveLength(1);
  });

  it("reuses a namespace created earlier but never recorded, instead of creating a second", async () => {
    const { config, secrets } = project();
    const fake = fakeWrangler({ namespaces: [{ id: "a".repeat(32), title: "twilio-retell-bridge-agents" }] });
    const result = await runCli("deploy", ["--config", config, "--secrets-file", secrets], cleanEnv(fake.env));
    expect(result.code, result.output).toBe(0);
    expect(words(fake.calls())).not.toContain("kv namespace create twilio-retell-bridge-agents");
    expect(parseWranglerToml(readFileSync(config, "utf8")).kvNamespaces[0]?.fields.id).toBe("a".repeat(32));
    expect(result.stdout).toContain("found (created earlier)");
  });

  it.each([
    ["not whsec_", "WEBHOOK_SIGNING_SECRET=hunter2", "must start with whsec_"],
    ["too short", `WEBHOOK_SIGNING_SECRET=whsec_${Buffer.alloc(16, 7).toString("base64")}`, "decodes to 16"],
    ["a bad secondary", `WEBHOOK_SIGNING_SECRET=whsec_${Buffer.alloc(32, 7).toString("base64")}\nWEBHOOK_SIGNING_SECRET_SECONDARY=whsec_***`, "WEBHOOK_SIGNING_SECRET_SECONDARY"],
  ])("stops before wrangler deploy when the signing secret in --secrets-file is %s, never echoing it", async (_name, line, message) => {
    const { config, secrets } = project();
    writeFileSync(secrets, `TWILIO_AUTH_TOKEN=tok\nRETELL_API_KEY=key\n${line}\n`);
    const fake = fakeWrangler();
    const result = await runCli("deploy", ["--config", config, "--secrets-file", secrets], cleanEnv(fake.env));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(message);
    expect(result.output).not.toContain("hunter2");
    expect(fake.calls().some((c) => c[0] === "deploy")).toBe(false);
  });

  it("deploys with a valid signing secret in --secrets-file", async () => {
    const { config, secrets } = project();
    writeFileSync(secrets, `TWILIO_AUTH_TOKEN=tok\nRETELL_API_KEY=key\nWEBHOOK_SIGNING_SECRET=whsec_${Buffer.alloc(32, 9).toString("base64")}\n`);
    const result = await runCli("deploy", ["--config", config, "--secrets-file", secrets], cleanEnv(fakeWrangler().env));
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toContain("✓ WEBHOOK_SIGNING_SECRET is set from");
  });

  it("stops before wrangler deploy when a required secret is unset, and says how to set it", async () => {
    const { config } = project();
    const fake = fakeWrangler();
    const result = await runCli("deploy", ["--config", config], cleanEnv(fake.env));
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("✗ TWILIO_AUTH_TOKEN is not set (required)");
    expect(result.stderr).toContain("Not deployed: required secrets TWILIO_AUTH_TOKEN, RETELL_API_KEY are not set.");
    expect(result.stderr).toContain("npm run deploy -- --secrets-file <that file>");
    expect(fake.calls().some((c) => c[0] === "deploy")).toBe(false);
  });

  it("reminds which optional secrets are unset", async () => {
    const { config, secrets } = project();
    const fake = fakeWrangler();
    const result = await runCli("deploy", ["--config", config, "--secrets-file", secrets], cleanEnv(fake.env));
    expect(result.stdout).toContain("– ADMIN_TOKEN is not set (optional");
    expect(result.stdout).toContain("npx wrangler secret put TWILIO_AUTH_TOKEN_SECONDARY");
  });

  it("says outbound calls are off while TWILIO_ACCOUNT_SID is unset, and deploys", async () => {
    const { config, secrets } = project();
    const fake = fakeWrangler();
    const result = await runCli("deploy", ["--config", config, "--secrets-file", secrets], cleanEnv(fake.env));
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toContain("– TWILIO_ACCOUNT_SID is not set in wrangler.toml [vars] (optional: without it POST /api/calls and npm run call place no calls)");
    expect(result.stdout).toContain("✓ outbound limits: per number 5 at once and 500 a UTC day; 1000 a UTC day from all numbers together");
    expect(result.stdout).toContain("✓ outbound calls reach only the calling number's own country (OUTBOUND_ALLOWED_COUNTRIES is empty)");
  });

  it.each([
    ["a TWILIO_ACCOUNT_SID that is no account SID", 'TWILIO_ACCOUNT_SID = "SK0123"', "TWILIO_ACCOUNT_SID in wrangler.toml [vars] is \"SK0123\""],
    ["an outbound limit that is no number", 'OUTBOUND_DAILY_LIMIT = "lots"', 'OUTBOUND_DAILY_LIMIT must be a whole number of 0 or more, not "lots"'],
    ["an account-wide limit that is no number", 'OUTBOUND_ACCOUNT_DAILY_LIMIT = "-1"', 'OUTBOUND_ACCOUNT_DAILY_LIMIT must be a whole number of 0 or more, not "-1"'],
    ["a country list that is not ISO codes", 'OUTBOUND_ALLOWED_COUNTRIES = "AUS"', "OUTBOUND_ALLOWED_COUNTRIES must be ISO 3166-1 alpha-2 country codes"],
  ])("stops before wrangler deploy on %s", async (_name, line, message) => {
    const { config, secrets } = project();
    writeFileSync(config, readFileSync(config, "utf8").replace(new RegExp(`^${line.split(" ")[0]} = .*$`, "m"), line));
    const fake = fakeWrangler();
    const result = await runCli("deploy", ["--config", config, "--secrets-file", secrets], cleanEnv(fake.env));
    expect(result.code, result.output).toBe(1);
    expect(result.output).toContain(message);
    expect(result.stderr).toContain("Not deployed: an outbound setting in wrangler.toml is wrong.");
    expect(fake.calls().some((c) => c[0] === "deploy")).toBe(false);
  });

  it.each([
    ["a CALLS_TOKEN shorter than 32 characters", "CALLS_TOKEN=test_short_token", "CALLS_TOKEN is shorter than 32 characters"],
    ["an ADMIN_TOKEN with a trailing space", "ADMIN_TOKEN='admin_token '", "ADMIN_TOKEN must be visible ASCII characters"],
  ])("stops before wrangler deploy on %s in the secrets file", async (_name, line, message) => {
    const { config, secrets } = project();
    writeFileSync(secrets, `${readFileSync(secrets, "utf8")}${line}\n`);
    const fake = fakeWrangler();
    const result = await runCli("deploy", ["--config", config, "--secrets-file", secrets], cleanEnv(fake.env));
    expect(result.code, result.output).toBe(1);
    expect(result.output).toContain(message);
    expect(result.stderr).toContain("Not deployed: a token in the secrets file breaks the token rule.");
    expect(fake.calls().some((c) => c[0] === "deploy")).toBe(false);
  });

  it("stops before touching anything when WEBHOOK_BASE_URL is plain http to another host", async () => {
    const { config, secrets } = project();
    writeFileSync(config, readFileSync(config, "utf8").replace(/^WEBHOOK_BASE_URL = .*$/m, 'WEBHOOK_BASE_URL = "http://calls.example.com"'));
    const fake = fakeWrangler();
    const result = await runCli("deploy", ["--config", config, "--secrets-file", secrets], cleanEnv(fake.env));
    expect(result.code, result.output).toBe(2);
    expect(result.stderr).toContain("WEBHOOK_BASE_URL (wrangler.toml [vars]) must be https://");
    expect(fake.calls()).toEqual([]);
  });

  it("fails with wrangler's reason and a login fix when Cloudflare refuses, leaving wrangler.toml untouched", async () => {
    const { config, secrets } = project();
    const before = readFileSync(config, "utf8");
    const fake = fakeWrangler();
    const result = await runCli("deploy", ["--config", config, "--secrets-file", secrets], cleanEnv({ ...fake.env, FAKE_WRANGLER_FAIL: "kv namespace list" }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Listing KV namespaces failed: wrangler exited with code 1.");
    expect(result.stderr).toContain("CLOUDFLARE_API_TOKEN");
    expect(result.stderr).toContain("fix: run `npx wrangler login` once");
    expect(readFileSync(config, "utf8")).toBe(before);
  });

  it("stops before creating anything when the phone lines' Durable Object is created key-value-backed", async () => {
    const { config, secrets } = project();
    writeFileSync(config, readFileSync(config, "utf8").replace("new_sqlite_classes", "new_classes"));
    const fake = fakeWrangler();
    const result = await runCli("deploy", ["--config", config, "--secrets-file", secrets], cleanEnv(fake.env));
    expect(result.code).toBe(1);
    expect(result.output).toContain("PhoneLine is created key-value-backed");
    expect(fake.calls()).toEqual([]);
  });

  it("rejects an unknown flag before touching anything", async () => {
    const fake = fakeWrangler();
    const result = await runCli("deploy", ["--env", "production"], cleanEnv(fake.env));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Unknown flag --env for `npm run deploy`");
    expect(fake.calls()).toEqual([]);
  });
});
