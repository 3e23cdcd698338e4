/** src/line/waiters.ts: requests waiting on a key get the value handed over, once; a wait with no wake ends with null. */
import { describe, expect, it } from "vitest";
import { Waiters } from "../../src/line/waiters.ts";

describe("Waiters", () => {
  it("hands the value to every request waiting on the key, and to no other key's", async () => {
    const waiters = new Waiters<string>();
    const waits = [waiters.wait("CA1", 60_000), waiters.wait("CA1", 60_000)];
    const other = waiters.wait("CA2", 0);
    waiters.wake("CA1", "answered");
    expect(await Promise.all([...waits, other])).toEqual(["answered", "answered", null]);
  });

  it("ends a wait nobody wakes with null", async () => {
    expect(await new Waiters<string>().wait("CA1", 0)).toBeNull();
  });
});
