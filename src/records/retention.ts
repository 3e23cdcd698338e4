/**
 * Retention: the daily Cron Trigger (wrangler.toml [triggers]) deletes call records, and call events' deliveries
 * and kept bodies, older than RETENTION_DAYS.
 */
import type { Bindings } from "../env.ts";
import { log } from "../log.ts";
import { deleteCallsBefore } from "./store.ts";
import { deleteDeliveriesBefore } from "./deliveries.ts";

/** How long records are kept when RETENTION_DAYS is unset or invalid: a quarter, for month-on-month comparisons. */
export const DEFAULT_RETENTION_DAYS = 90;
const DAY_MS = 86_400_000;

/** RETENTION_DAYS as a whole number of days ≥ 1; anything else falls back to the default (and says so in the log). */
export function retentionDays(env: Pick<Bindings, "RETENTION_DAYS">): number {
  const text = env.RETENTION_DAYS?.trim();
  if (!text) return DEFAULT_RETENTION_DAYS;
  if (!/^\d{1,6}$/.test(text) || Number(text) < 1) {
    log("warn", "config.invalid_var", { var: "RETENTION_DAYS", fix: "a whole number of days, at least 1", using: DEFAULT_RETENTION_DAYS });
    return DEFAULT_RETENTION_DAYS;
  }
  return Number(text);
}

/** Deletes records created more than RETENTION_DAYS before `now`; logs how many. A D1 failure fails the cron run (visible in the dashboard). */
export async function purgeExpiredCalls(env: Pick<Bindings, "DB" | "RETENTION_DAYS">, now: number): Promise<number> {
  const days = retentionDays(env);
  const cutoff = now - days * DAY_MS;
  try {
    const deleted = await deleteCallsBefore(env.DB, cutoff);
    const deliveries = await deleteDeliveriesBefore(env.DB, cutoff);
    log("info", "calls.retention", { deleted, deliveries, retentionDays: days, cutoff: new Date(cutoff).toISOString() });
    return deleted;
  } catch (error) {
    log("error", "calls.retention_failed", { retentionDays: days, detail: error instanceof Error ? error.message : String(error) });
    throw error;
  }
}
