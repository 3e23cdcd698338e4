/** src/records/sql.ts: the literals the CLI writes into SQL for `wrangler d1 execute --command`. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { inlineParams, sqlLiteral, type SqlValue } from "../../src/records/sql.ts";

describe("sqlLiteral", () => {
  it.each([
    [null, "NULL"],
    [42, "42"],
    [-1.5, "-1.5"],
    ["plain", "'plain'"],
    ["O'Brien", "'O''Brien'"],
    ["back\\slash", "'back\\slash'"],
  ] as const)("writes %j as %s", (value, literal) => {
    expect(sqlLiteral(value)).toBe(literal);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, "nul\0byte"])("refuses %j", (value) => {
    expect(() => sqlLiteral(value)).toThrow(RangeError);
  });

  it.each(["'; DROP TABLE calls; --", "x' OR '1'='1", "''", "\u2019 é 😀", "a\nb"])("round-trips %j through SQLite unchanged", async (value) => {
    const row = await env.DB.prepare(`SELECT ${sqlLiteral(value)} AS v`).first<{ v: string }>();
    expect(row?.v).toBe(value);
  });
});

describe("inlineParams", () => {
  it("replaces each ? with its parameter in order", () => {
    expect(inlineParams({ sql: "SELECT ? , ?, ?", params: ["a", 1, null] })).toBe("SELECT 'a' , 1, NULL");
  });

  it.each([
    [["a"], "SELECT ?, ?"],
    [["a", "b"], "SELECT ?"],
  ] as [SqlValue[], string][])("refuses %j for %s", (params, sql) => {
    expect(() => inlineParams({ sql, params })).toThrow(RangeError);
  });
});
