import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lineObjectProblem, parseWranglerToml, setEntryField } from "../../cli/lib/config.ts";
import { ROOT } from "./helpers.ts";

const SAMPLE = `name = "bridge"
[vars]
WEBHOOK_BASE_URL = "https://calls.example.com" # public origin

# mappings
[[kv_namespaces]]
binding = "AGENTS"

# call records
[[d1_databases]]
binding = "DB"
database_name = "calls"
migrations_dir = "migrations"

[secrets]
required = [
  "TWILIO_AUTH_TOKEN",
  "RETELL_API_KEY",
]
`;

describe("wrangler.toml reader", () => {
  it("reads the name, vars, bindings and required secrets", () => {
    const config = parseWranglerToml(SAMPLE);
    expect(config.name).toBe("bridge");
    expect(config.vars.WEBHOOK_BASE_URL).toBe("https://calls.example.com");
    expect(config.kvNamespaces.map((e) => e.fields)).toEqual([{ binding: "AGENTS" }]);
    expect(config.d1Databases.map((e) => e.fields)).toEqual([{ binding: "DB", database_name: "calls", migrations_dir: "migrations" }]);
    expect(config.requiredSecrets).toEqual(["TWILIO_AUTH_TOKEN", "RETELL_API_KEY"]);
  });

  it("reads the project's own wrangler.toml", () => {
    const config = parseWranglerToml(readFileSync(join(ROOT, "wrangler.toml"), "utf8"));
    expect(config.name).toBe("twilio-retell-bridge");
    expect(config.kvNamespaces.some((e) => e.fields.binding === "AGENTS")).toBe(true);
  });

  it("inserts an id right after the entry's last field and leaves every other line as it was", () => {
    const edited = setEntryField(setEntryField(SAMPLE, "kv_namespaces", "AGENTS", "id", "abc"), "d1_databases", "DB", "database_id", "uuid-1");
    const lines = edited.split("\n");
    expect(lines[lines.indexOf('binding = "AGENTS"') + 1]).toBe('id = "abc"');
    expect(lines[lines.indexOf('migrations_dir = "migrations"') + 1]).toBe('database_id = "uuid-1"');
    expect(lines.filter((l) => !/^(id|database_id) = /.test(l))).toEqual(SAMPLE.split("\n"));
    expect(parseWranglerToml(edited).kvNamespaces[0]?.fields.id).toBe("abc");
  });
});

describe("the phone lines' Durable Object in wrangler.toml", () => {
  const binding = '[[durable_objects.bindings]]\nname = "LINES"\nclass_name = "PhoneLine"\n';
  const sqlite = '[[migrations]]\ntag = "v1"\nnew_sqlite_classes = ["PhoneLine"]\n';

  it("is right in the project's own wrangler.toml", () => {
    expect(lineObjectProblem(parseWranglerToml(readFileSync(join(ROOT, "wrangler.toml"), "utf8")))).toBeNull();
  });

  it.each([
    ["no binding", sqlite, "no Durable Object binding LINES"],
    ["another class", binding.replace("PhoneLine", "CallObject") + sqlite, "bound to class CallObject"],
    ["no migration", binding, "no migration creates PhoneLine"],
    ["a key-value-backed migration", binding + '[[migrations]]\ntag = "v1"\nnew_classes = ["PhoneLine"]\n', "key-value-backed"],
  ])("names the problem: %s", (_case, toml, problem) => {
    expect(lineObjectProblem(parseWranglerToml(SAMPLE + toml))?.problem).toContain(problem);
  });
});

describe(".dev.vars reader", () => {
  it("reads NAME=value lines with quotes, export, comments and blank lines", async () => {
    const { parseDevVars } = await import("../../cli/lib/settings.ts");
    const vars = parseDevVars('# comment\nexport TWILIO_ACCOUNT_SID=AC123\nTWILIO_AUTH_TOKEN="tok # not a comment"\nRETELL_API_KEY=\'key\'\nEMPTY=\nTRAILING=value # comment\n\n');
    expect(Object.fromEntries(vars)).toEqual({ TWILIO_ACCOUNT_SID: "AC123", TWILIO_AUTH_TOKEN: "tok # not a comment", RETELL_API_KEY: "key", EMPTY: "", TRAILING: "value" });
  });
});
