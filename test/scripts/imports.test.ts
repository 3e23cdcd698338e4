/**
 * No import circles in src/: every relative import (type-only, re-exports and dynamic imports included), read
 * with TypeScript's own pre-processor, forms a graph with no cycle, so the layers (routes → features → line →
 * records) can be read top-down and no module sees another half-initialised.
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

/** Each file's relative imports, resolved to files. */
function importGraph(dir: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(dir)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    graph.set(file, importedFiles.filter((i) => i.fileName.startsWith(".")).map((i) => resolve(dirname(file), i.fileName)));
  }
  return graph;
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

describe("src/", () => {
  it("has no import circles", () => {
    expect(importCircles(resolve(import.meta.dirname, "../../src"))).toEqual([]);
  });
});

describe("the circle check", () => {
  const dir = mkdtempSync(join(tmpdir(), "imports-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const project = (name: string, files: Record<string, string>) => {
    const root = join(dir, name);
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, file)), { recursive: true });
      writeFileSync(join(root, file), text);
    }
    return root;
  };

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
