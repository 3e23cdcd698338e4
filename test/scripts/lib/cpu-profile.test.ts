/**
 * scripts/lib/cpu-profile.ts: the tables `npm run profile` prints, from CPU profiles built by hand.
 */
import { describe, expect, it } from "vitest";
import { largest, profileTables, type CallFrame, type Profile } from "../../../scripts/lib/cpu-profile.ts";

const frame = (functionName: string, url = ""): CallFrame => ({ functionName, url, lineNumber: 0, columnNumber: 0 });
const locate = (f: CallFrame) => ({ file: f.url || `(${f.functionName})`, where: `${f.url ? `${f.url} ` : ""}${f.functionName}` });
const isOwn = (f: CallFrame) => f.url === "index.js";

/**
 * root → handle (ours) → helper (node_modules, not ours) → fetch (runtime); root → (idle); root → exec (runtime,
 * called from nothing of ours). Samples: handle 10 µs, fetch 30 µs, idle 50 µs, exec 5 µs.
 */
const PROFILE: Profile = {
  nodes: [
    { id: 1, callFrame: frame("(root)"), children: [2, 5, 6] },
    { id: 2, callFrame: frame("handle", "index.js"), children: [3] },
    { id: 3, callFrame: frame("helper", "lib.js"), children: [4] },
    { id: 4, callFrame: frame("fetch") },
    { id: 5, callFrame: frame("(idle)") },
    { id: 6, callFrame: frame("exec") },
  ],
  samples: [2, 4, 4, 5, 6],
  timeDeltas: [0, 10, 10, 20, 50, 5],
  startTime: 0,
  endTime: 95,
};

describe("profileTables", () => {
  const tables = profileTables(PROFILE, locate, isOwn);

  it("counts each sample's time to its node, idle apart", () => {
    expect([tables.busyUs, tables.idleUs]).toEqual([45, 50]);
  });

  it("adds self time by function", () => {
    expect(Object.fromEntries(tables.bySelf)).toEqual({ "index.js handle": 10, fetch: 30, exec: 5 });
  });

  it("adds self time by source file", () => {
    expect(Object.fromEntries(tables.byFile)).toEqual({ "index.js": 10, "(fetch)": 30, "(exec)": 5 });
  });

  it("charges a runtime function to the nearest of the Worker's own functions that called it", () => {
    expect(Object.fromEntries(tables.runtimeCallers)).toEqual({ "fetch ← index.js handle": 30, "exec ← (top)": 5 });
  });
});

describe("largest", () => {
  it("returns the largest entries first, at most the rows asked for", () => {
    expect(largest(new Map([["a", 1], ["b", 3], ["c", 2]]), 2)).toEqual([["b", 3], ["c", 2]]);
  });
});
