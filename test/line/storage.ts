/** A fresh line object's own SQLite storage, for the tests of the line's modules of plain functions. */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { lineStub } from "../../src/line/address.ts";
import { uniqueNumber } from "../helpers.ts";

/** Runs `work` on a fresh line's storage (its constructor has created every table). */
export function onLineStorage<T>(work: (sql: SqlStorage, storage: DurableObjectStorage) => T | Promise<T>): Promise<T> {
  return runInDurableObject(lineStub(env, uniqueNumber()), (_line, state) => work(state.storage.sql, state.storage));
}
