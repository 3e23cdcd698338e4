/**
 * The upload as `wrangler deploy` builds it (wrangler.toml: minify, upload_source_maps), through the bench's
 * buildBundle(), which reports what is uploaded; and the rate limits the bench serves it with.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { BUNDLE_DIR, buildBundle, rateLimits, type BundleSize } from "../../../scripts/lib/workerd.ts";

describe("the deployed bundle", () => {
  let size: BundleSize;
  beforeAll(() => {
    size = buildBundle();
  }, 60_000);

  it("is minified: one module of long lines (only template literals keep their line breaks), under 68 KiB gzip, the bundle target (scripts/bench.ts TARGET_BUNDLE_GZIP_KIB)", () => {
    expect(size.files).toEqual(["index.js"]);
    const code = readFileSync(join(BUNDLE_DIR, "index.js"), "utf8");
    // Unminified, esbuild's output averages about 40 characters a line.
    expect(code.length / code.split("\n").length).toBeGreaterThan(500);
    expect(size.gzipKiB).toBeLessThan(68);
  });

  it("is reported as wrangler reports its upload", () => {
    const [, raw, gzip] = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(size.wranglerLine) ?? [];
    expect(Number(raw)).toBeCloseTo(size.rawKiB, 1);
    expect(Math.abs(Number(gzip) - size.gzipKiB)).toBeLessThan(1);
  });

  it("has a source map beside it that leads stack traces back to the source files", () => {
    expect(size.sourceMaps.files).toEqual(["index.js.map"]);
    const map = JSON.parse(readFileSync(join(BUNDLE_DIR, "index.js.map"), "utf8")) as { sources: string[] };
    expect(map.sources).toEqual(expect.arrayContaining([expect.stringMatching(/src\/line\/object\.ts$/), expect.stringMatching(/src\/routes\/voice\.ts$/)]));
  });
});

describe("the bench's rate limits", () => {
  it("are wrangler.toml's two bindings, the raised one with its new limit and everything else as declared", () => {
    const declared = rateLimits();
    const raised = rateLimits({ NUMBER_RATE_LIMITER: 1_000_000 });
    expect(Object.keys(declared).sort()).toEqual(["CALLER_RATE_LIMITER", "NUMBER_RATE_LIMITER"]);
    expect(raised.CALLER_RATE_LIMITER).toEqual(declared.CALLER_RATE_LIMITER);
    expect(raised.NUMBER_RATE_LIMITER).toEqual({ ...declared.NUMBER_RATE_LIMITER, simple: { ...declared.NUMBER_RATE_LIMITER?.simple, limit: 1_000_000 } });
  });

  it("refuse to raise a binding wrangler.toml does not declare", () => {
    expect(() => rateLimits({ NUMBER_LIMITER: 1_000_000 })).toThrow("wrangler.toml has no [[ratelimits]] binding NUMBER_LIMITER");
  });
});
