/**
 * Structured logs: one JSON object per line, which Workers Logs indexes field by field.
 * Callers pass masked numbers (see maskPhone) and never a secret.
 */
export type LogLevel = "info" | "warn" | "error";

export function log(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ level, event, ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
