/**
 * The shape of src/'s imports, read with TypeScript's own pre-processor (type-only imports, re-exports and
 * dynamic imports included): no import circles, so no module sees another half-initialised; imports that follow
 * the layers (routes → feature rooms → line → records → the base), so the code reads top-down; and protocol rooms
 * that know no HTTP framework and no other vendor (docs/layout.md).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Each file's imports as written (packages and relative paths). */
function importSpecifiers(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles.map((i) => i.fileName);
}

/** Each file's relative imports, resolved to files. */
function importGraph(dir: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(dir)) {
    graph.set(file, importSpecifiers(file).filter((name) => name.startsWith(".")).map((name) => resolve(dirname(file), name)));
  }
  return graph;
}

/**
 * Which layer each folder of src/ is in, highest first: a file imports only from its own layer or lower ones.
 * Files at the top of src/ are the base (log.ts, deadline.ts, phone.ts, agent-key.ts, config.ts, env.ts, errors.ts, tokens.ts, …),
 * except the entry points, which put everything together.
 */
const LAYERS: Record<string, number> = {
  routes: 4,
  agents: 3,
  calls: 3,
  events: 3,
  hold: 3,
  hook: 3,
  outbound: 3,
  rules: 3,
  transfers: 3,
  voicemail: 3,
  line: 2,
  records: 1,
  twilio: 0,
  retell: 0,
  "standard-webhooks": 0,
};
/** The files that wire every layer together: the Worker's entry and the app's routes. */
const ENTRY_POINTS = new Set(["index.ts", "app.ts"]);
/** The protocol rooms: each knows its vendor's wire format only, so it imports no framework and no other vendor. */
const PROTOCOL_ROOMS = ["twilio", "retell", "standard-webhooks"];
/** HTTP frameworks a protocol room must not import. */
const FRAMEWORKS = ["hono"];

/** The layer of a file relative to src/: its folder's, or the base's (0) at the top; null for an entry point or a file outside. */
function layerOf(file: string): number | null {
  const [room, ...rest] = file.split("/");
  if (room === ".." || (rest.length === 0 && ENTRY_POINTS.has(room as string))) return null;
  if (rest.length === 0) return 0;
  const layer = LAYERS[room as string];
  if (layer === undefined) throw new Error(`src/${room}/ has no layer in test/scripts/imports.test.ts LAYERS`);
  return layer;
}

/** Every relative import in `dir` that runs up the layers, as `from → to` relative to `dir`. */
function upwardImports(dir: string, layers: (file: string) => number | null = layerOf): string[] {
  const found: string[] = [];
  for (const [file, imports] of importGraph(dir)) {
    const from = layers(relative(dir, file));
    if (from === null) continue;
    for (const target of imports) {
      if (relative(dir, target).startsWith("..")) continue;
      const to = layers(relative(dir, target));
      if (to === null || to > from) found.push(`${relative(dir, file)} → ${relative(dir, target)}`);
    }
  }
  return found.sort();
}

/** Every import of a framework or of another vendor's room by a file in a protocol room of `dir`. */
function protocolLeaks(dir: string): string[] {
  const found: string[] = [];
  for (const room of PROTOCOL_ROOMS) {
    for (const file of sourceFiles(join(dir, room))) {
      for (const name of importSpecifiers(file)) {
        const target = name.startsWith(".") ? relative(dir, resolve(dirname(file), name)).split("/")[0] : name.split("/")[0];
        const framework = !name.startsWith(".") && FRAMEWORKS.includes(target as string);
        const otherVendor = PROTOCOL_ROOMS.includes(target as string) && target !== room;
        if (framework || otherVendor) found.push(`${relative(dir, file)} → ${name}`);
      }
    }
  }
  return found.sort();
}

/** Every import circle in `dir`, each as the files on it relative to `dir`, the first repeated at the end. */
function importCircles(dir: string): string[][] {
  const graph = importGraph(dir);
  const done = new Set<string>();
  const path: string[] = [];
  const circles: string[][] = [];
  const visit = (file: string) => {
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      const at = path.indexOf(next);
      if (at !== -1) circles.push([...path.slice(at), next].map((f) => relative(dir, f)));
      else if (!done.has(next)) visit(next);
    }
    path.pop();
    done.add(file);
  };
  for (const file of [...graph.keys()].sort()) if (!done.has(file)) visit(file);
  return circles;
}

const SRC = resolve(import.meta.dirname, "../../src");

describe("src/", () => {
  it("has no import circles", () => {
    expect(importCircles(SRC)).toEqual([]);
  });

  it("imports only down the layers: routes → feature rooms → line → records → the base", () => {
    expect(upwardImports(SRC)).toEqual([]);
  });

  it("has protocol rooms that import no HTTP framework and no other vendor's room", () => {
    expect(protocolLeaks(SRC)).toEqual([]);
  });

  it("gives every folder a layer", () => {
    const rooms = readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(rooms.filter((room) => !(room in LAYERS))).toEqual([]);
  });
});

/** Small projects written to a temporary folder, to check the checks themselves. */
const fixtures = mkdtempSync(join(tmpdir(), "imports-"));
afterAll(() => rmSync(fixtures, { recursive: true, force: true }));

function project(name: string, files: Record<string, string>): string {
  const root = join(fixtures, name);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  }
  return root;
}

describe("the circle check", () => {

  it.each([
    ["an import", 'import { b } from "../b/b.ts";\nexport const a = b;\n'],
    ["a type-only import", 'import type { B } from "../b/b.ts";\nexport type A = B;\n'],
    ["a re-export", 'export { b } from "../b/b.ts";\n'],
    ["a dynamic import", 'export const load = () => import("../b/b.ts");\n'],
  ])("finds a circle closed by %s", (_, text) => {
    const root = project(`circle-${_.replaceAll(" ", "-")}`, {
      "a/a.ts": text,
      "b/b.ts": 'import { c } from "./c.ts";\nexport const b = c;\nexport type B = string;\n',
      "b/c.ts": 'import { a } from "../a/a.ts";\nexport const c = 1;\nexport const unused = a;\n',
    });
    expect(importCircles(root)).toEqual([["a/a.ts", "b/b.ts", "b/c.ts", "a/a.ts"]]);
  });

  it("passes layers that import only downwards, and ignores packages", () => {
    const root = project("layers", {
      "routes/r.ts": 'import { f } from "../feature/f.ts";\nimport { Hono } from "hono";\nexport const r = [f, Hono];\n',
      "feature/f.ts": 'import { l } from "../line/l.ts";\nexport const f = l;\n',
      "line/l.ts": "export const l = 1;\n",
    });
    expect(importCircles(root)).toEqual([]);
  });
});

describe("the layer checks", () => {

  it("finds an import running up the layers, and passes those running down", () => {
    const root = project("layers-up", {
      "routes/r.ts": 'import { c } from "../calls/c.ts";\nexport const r = c;\n',
      "calls/c.ts": 'import { l } from "../line/l.ts";\nexport const c = l;\n',
      "line/l.ts": 'import type { C } from "../calls/c.ts";\nimport { x } from "../records/x.ts";\nexport const l = x;\nexport type L = C;\n',
      "records/x.ts": 'import { log } from "../log.ts";\nexport const x = log;\n',
      "log.ts": "export const log = 1;\n",
    });
    expect(upwardImports(root)).toEqual(["line/l.ts → calls/c.ts"]);
  });

  it("finds a protocol room importing a framework or another vendor's room", () => {
    const root = project("layers-protocol", {
      "twilio/a.ts": 'import { Hono } from "hono";\nimport { b } from "../retell/b.ts";\nimport { c } from "./c.ts";\nexport const a = [Hono, b, c];\n',
      "twilio/c.ts": 'import { log } from "../log.ts";\nexport const c = log;\n',
      "retell/b.ts": 'import type { Context } from "hono";\nexport type B = Context;\nexport const b = 1;\n',
      "standard-webhooks/s.ts": "export const s = 1;\n",
      "log.ts": "export const log = 1;\n",
    });
    expect(protocolLeaks(root)).toEqual(["retell/b.ts → hono", "twilio/a.ts → ../retell/b.ts", "twilio/a.ts → hono"]);
  });
});
