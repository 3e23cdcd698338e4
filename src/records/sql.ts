/**
 * SQL with positional `?` parameters: bound by the Worker (D1 `bind`), inlined as literals by the CLI, because
 * `wrangler d1 execute --command` takes no parameters. Shared by both: plain TypeScript, no Workers types.
 */

export type SqlValue = string | number | null;

export interface SqlQuery {
  sql: string;
  params: SqlValue[];
}

/** A SQLite literal. Strings are single-quoted with quotes doubled (SQLite has no backslash escapes). */
export function sqlLiteral(value: SqlValue): string {
  if (value === null) return "NULL";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
    return String(value);
  }
  // NUL would end the statement early in SQLite's C API; no value the CLI sends can need it.
  if (value.includes("\0")) throw new RangeError("a string parameter contains NUL");
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * The query with each `?` replaced by its parameter as a literal. The queries built in this folder contain
 * no `?` inside string literals or comments, so every `?` is a placeholder.
 */
export function inlineParams(query: SqlQuery): string {
  let index = 0;
  const sql = query.sql.replace(/\?/g, () => {
    if (index >= query.params.length) throw new RangeError("more placeholders than parameters");
    return sqlLiteral(query.params[index++] as SqlValue);
  });
  if (index !== query.params.length) throw new RangeError("more parameters than placeholders");
  return sql;
}
