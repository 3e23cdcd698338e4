/**
 * Every relative link in the documentation resolves: the file exists, and a `#anchor` names a heading of the
 * target as GitHub slugs it (lower case; every character that is not a letter, digit, `_`, `-` or space
 * dropped; spaces to `-`; a repeated heading gets `-1`, `-2`…), so the README's front door and the docs/
 * pages never send a reader to a page or section that has moved.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

/** A link or image `[text](target)`; the target stops at whitespace, so a `"title"` is left out. */
const LINK = /!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;
/** Targets that leave the repository: checked by no one here. */
const EXTERNAL = /^[a-z][a-z0-9+.-]*:/i;

/** GitHub's heading anchor (github-slugger): what is left of the text, lower-cased, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** Markdown without fenced code blocks and inline code spans, where nothing is a link or a heading. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "").replace(/`+[^`\n]*`+/g, (code) => code.replace(/[[\]()#]/g, " "));
}

/** The anchors a Markdown file's headings get, in order, with GitHub's suffixes for repeats. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  const withoutFences = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
  for (const [, text] of withoutFences.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    // Headings render their links as the link text, and code spans as their content.
    const base = slug((text ?? "").replace(/\[([^\]]*)\]\([^)]*\)/g, "$1"));
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** Every relative link in `file` that does not resolve, as `file: target (why)`. */
function brokenLinks(file: string, root: string): string[] {
  const broken: string[] = [];
  const name = relative(root, file);
  for (const [, target] of prose(readFileSync(file, "utf8")).matchAll(LINK)) {
    if (target === undefined || EXTERNAL.test(target)) continue;
    const [path = "", anchor] = target.split("#", 2);
    const destination = path === "" ? file : resolve(dirname(file), decodeURIComponent(path));
    if (!existsSync(destination)) {
      broken.push(`${name}: ${target} (no such file)`);
      continue;
    }
    if (anchor === undefined) continue;
    if (!destination.endsWith(".md")) {
      broken.push(`${name}: ${target} (an anchor into a file that is not Markdown)`);
    } else if (!anchors(readFileSync(destination, "utf8")).has(decodeURIComponent(anchor))) {
      broken.push(`${name}: ${target} (no heading with that anchor)`);
    }
  }
  return broken;
}

const ROOT = resolve(import.meta.dirname, "../..");
const DOCUMENTS = [
  "README.md",
  "SECURITY.md",
  ...readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

describe("the documentation's links", () => {
  it.each(DOCUMENTS)("every relative link and anchor in %s resolves", (document) => {
    expect(brokenLinks(join(ROOT, document), ROOT)).toEqual([]);
  });
});

describe("the link check", () => {
  const dir = mkdtempSync(join(tmpdir(), "links-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ["Configuration", "configuration"],
    ["Proof under load, faults and hostile input", "proof-under-load-faults-and-hostile-input"],
    ["`npm run agents`: number → agent mappings", "npm-run-agents-number--agent-mappings"],
    ["Durable Object: phone lines (`LINES`)", "durable-object-phone-lines-lines"],
    ["Caching: a change applies within 60 s", "caching-a-change-applies-within-60-s"],
    ["Table `calls`", "table-calls"],
    ["What's new — v2.0", "whats-new--v20"],
  ])("slugs %s as GitHub does: %s", (heading, expected) => {
    expect(slug(heading)).toBe(expected);
  });

  it("numbers repeated headings as GitHub does", () => {
    expect([...anchors("# Notes\n\n## Notes\n\n### Notes\n")]).toEqual(["notes", "notes-1", "notes-2"]);
  });

  it("ignores headings and links inside code blocks and code spans", () => {
    const file = join(dir, "code.md");
    writeFileSync(file, "# Real\n\n```sh\n# not a heading\n[x](missing.md)\n```\n\n`[y](gone.md)`\n");
    expect([...anchors(readFileSync(file, "utf8"))]).toEqual(["real"]);
    expect(brokenLinks(file, dir)).toEqual([]);
  });

  it("reports a link to a missing file, a missing anchor and a missing anchor of its own page", () => {
    writeFileSync(join(dir, "target.md"), "# Target\n\n## A section\n");
    const file = join(dir, "source.md");
    writeFileSync(
      file,
      [
        "# Source",
        "[fine](target.md#a-section) [fine too](#source) [site](https://example.com/x.md#nowhere)",
        "[gone](nowhere.md) [moved](target.md#old-section) [self](#missing)",
      ].join("\n"),
    );
    expect(brokenLinks(file, dir)).toEqual([
      "source.md: nowhere.md (no such file)",
      "source.md: target.md#old-section (no heading with that anchor)",
      "source.md: #missing (no heading with that anchor)",
    ]);
  });
});
