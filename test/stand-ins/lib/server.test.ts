/** The stand-ins' one HTTP server (stand-ins/lib/server.ts): loopback only, any free port or the one asked for, closed at once. */
import { request } from "node:http";
import { describe, expect, it } from "vitest";
import { readBody, startStandIn } from "../../../stand-ins/lib/server.ts";

/** A GET that settles with the status, or with the error that ended the connection. */
function get(url: string): Promise<number | Error> {
  return new Promise((resolve) => {
    const req = request(url, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", resolve);
    req.end();
  });
}

describe("startStandIn", () => {
  it("listens on 127.0.0.1 at a free port and hands each request's body to the handler", async () => {
    const stand = await startStandIn(async (req, res) => res.writeHead(200).end(await readBody(req)));
    try {
      expect(stand.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(stand.url, { method: "POST", body: "ü <&>" });
      expect([res.status, await res.text()]).toEqual([200, "ü <&>"]);
    } finally {
      await stand.close();
    }
  });

  it("listens on the port asked for, and refuses a taken one with an error rather than a crash", async () => {
    const first = await startStandIn((_req, res) => res.writeHead(204).end());
    const port = Number(new URL(first.url).port);
    try {
      await expect(startStandIn((_req, res) => res.writeHead(204).end(), { port })).rejects.toMatchObject({ code: "EADDRINUSE" });
    } finally {
      await first.close();
    }
    const again = await startStandIn((_req, res) => res.writeHead(204).end(), { port });
    expect(again.url).toBe(`http://127.0.0.1:${port}`);
    await again.close();
  });

  it("closes at once with a request left unanswered on purpose, cutting it", async () => {
    let arrived!: () => void;
    const hung = new Promise<void>((resolve) => (arrived = resolve));
    const stand = await startStandIn(() => arrived());
    const outcome = get(stand.url);
    await hung;
    await stand.close();
    expect(await outcome).toBeInstanceOf(Error);
    expect(await get(stand.url)).toMatchObject({ code: "ECONNREFUSED" });
  });
});
