/**
 * Structured logs: one JSON object per line, which Workers Logs indexes field by field.
 * Callers pass masked numbers (see maskPhone) and never a secret.
 */
export type LogLevel = "info" | "warn" | "error";

/**
 * `level` and `event` are the code's own: a field of the same name never replaces them (a Retell event's name is
 * chosen by its sender, and must not become the log's event).
 */
export function log(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify(Object.assign({ level, event }, fields, { level, event }));
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
