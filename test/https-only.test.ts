/** src/https-only.ts: the one rule for URLs that carry tokens or calls' details: https, or plain http to this machine. */
import { describe, expect, it } from "vitest";
import { isSecureOrLoopback } from "../src/https-only.ts";

describe("isSecureOrLoopback", () => {
  it.each([
    ["https anywhere", "https://calls.example.com", true],
    ["plain http to 127.0.0.1", "http://127.0.0.1:8787", true],
    ["plain http to elsewhere in 127.0.0.0/8", "http://127.1.2.3", true],
    ["plain http to localhost", "http://localhost:8787", true],
    ["plain http to [::1]", "http://[::1]:8787", true],
    ["plain http to another host", "http://calls.example.com", false],
    ["plain http to a host named like loopback", "http://127.0.0.1.example.com", false],
    ["plain http to localhost as a subdomain", "http://localhost.example.com", false],
    ["plain http to a private address", "http://10.0.0.1", false],
    ["another scheme", "ftp://127.0.0.1", false],
    ["not a URL", "calls.example.com", false],
  ])("%s: %s → %s", (_name, url, expected) => {
    expect(isSecureOrLoopback(url)).toBe(expected);
  });
});
