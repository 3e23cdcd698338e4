/**
 * `npm run webhooks`: endpoints written to a recording fake wrangler store in exactly the format the Worker reads
 * (src/records/endpoints.ts parses what was written), nothing written for bad input; deliveries, test and replay
 * against a stand-in for the Worker's admin API (the CLI's only network edge there).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WEBHOOKS_KEY, parseEndpoints } from "../../src/records/endpoints.ts";
import { cleanEnv, fakeWrangler, removeTempDirs, runCli } from "./helpers.ts";

afterAll(removeTempDirs);

function fakeStore(kv: Record<string, string> = {}) {
  const fake = fakeWrangler({ kv });
  return { env: cleanEnv(fake.env), kv: () => fake.state().kv as Record<string, string>, commands: () => fake.calls().map((c) => c.slice(0, 3).join(" ")) };
}

const stored = (store: ReturnType<typeof fakeStore>) => parseEndpoints(store.kv()[WEBHOOKS_KEY] ?? null);

describe.concurrent("webhooks endpoints (fake wrangler store)", () => {
  it("add writes an endpoint the Worker reads, narrowed to events and an agent", async () => {
    const store = fakeStore();
    const result = await runCli("webhooks", ["add", "https://hooks.example.com/calls", "--events", "call.ended,call.analyzed", "--agent", "+61 3 4151 7921", "--local"], store.env);
    expect(result.code, result.output).toBe(0);
    expect(stored(store)).toEqual({
      ok: true,
      endpoints: [{ id: "hooks-example-com", url: "https://hooks.example.com/calls", events: ["call.ended", "call.analyzed"], agents: ["+61341517921"] }],
    });
  });

  it.each([
    ["http://hooks.example.com/x", "https://"],
    ["https://hooks.example.com/x --events call.ringing", "call.ringing"],
    ["https://user:pw@hooks.example.com/x", "user name or password"],
  ])("add %s exits 2 and touches no store", async (args, message) => {
    const store = fakeStore();
    const result = await runCli("webhooks", ["add", ...args.split(" "), "--local"], store.env);
    expect(result.code).toBe(2);
    expect(result.output).toContain(message);
    expect(store.commands()).toEqual([]);
  });

  it("add allows plain http to localhost for local development, and a retell-format endpoint", async () => {
    const store = fakeStore();
    expect((await runCli("webhooks", ["add", "http://127.0.0.1:9000/hook", "--id", "dev", "--format", "retell", "--local"], store.env)).code).toBe(0);
    expect(stored(store)).toEqual({ ok: true, endpoints: [{ id: "dev", url: "http://127.0.0.1:9000/hook", format: "retell" }] });
  });

  it("enable turns back on an endpoint a 410 turned off; list shows why one is off", async () => {
    const off = JSON.stringify([{ id: "crm", url: "https://crm.example.com/h", enabled: false, disabledReason: "410 Gone on 2026-12-06T10:00:00.000Z" }]);
    const store = fakeStore({ [WEBHOOKS_KEY]: off });
    const listed = await runCli("webhooks", ["list", "--local"], store.env);
    expect(listed.stdout).toContain("off: 410 Gone on 2026-12-06T10:00:00.000Z");
    expect((await runCli("webhooks", ["enable", "crm", "--local"], store.env)).code).toBe(0);
    expect(stored(store)).toEqual({ ok: true, endpoints: [{ id: "crm", url: "https://crm.example.com/h" }] });
  });

  it("remove deletes the key with the last endpoint; an unknown id exits 1 and writes nothing", async () => {
    const store = fakeStore({ [WEBHOOKS_KEY]: JSON.stringify([{ id: "crm", url: "https://crm.example.com/h" }]) });
    expect((await runCli("webhooks", ["remove", "nope", "--local"], store.env)).code).toBe(1);
    expect((await runCli("webhooks", ["remove", "crm", "--local"], store.env)).code).toBe(0);
    expect(store.kv()).not.toHaveProperty(WEBHOOKS_KEY);
  });

  it("needs --local or --remote", async () => {
    const result = await runCli("webhooks", ["list"], fakeStore().env);
    expect(result.code).toBe(2);
    expect(result.output).toContain("--local or --remote");
  });
});

describe("webhooks deliveries, test and replay (admin API stand-in)", () => {
  const TOKEN = "admin_token_for_webhooks_tests";
  const seen: string[] = [];
  let server: Server;
  let url = "";
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return res.writeHead(401).end("{}");
      const send = (status: number, body: unknown) => res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
      if (req.url?.startsWith("/api/deliveries?") || req.url === "/api/deliveries") {
        return send(200, {
          deliveries: [{ eventId: "msg_1", endpointId: "crm", callSid: "CA" + "0".repeat(32), sequence: 2, type: "call.ended", state: "failed", attempts: 10, lastStatus: 500, lastError: "HTTP 500", nextAttemptAt: null, createdAt: 0, updatedAt: 0, deliveredAt: null }],
        });
      }
      if (req.url === "/api/deliveries/msg_1/replay") return send(202, { eventId: "msg_1", replayed: ["crm"] });
      if (req.url === "/api/deliveries/test/crm") return send(200, { eventId: "msg_t", delivered: false, status: 500, error: "HTTP 500" });
      return send(404, { error: "not_found", message: "no failed delivery of this event" });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const env = () => cleanEnv({ ADMIN_TOKEN: TOKEN });

  it("deliveries --failed asks for failed ones and prints them with the replay hint", async () => {
    const result = await runCli("webhooks", ["deliveries", "--failed", "--url", url], env());
    expect(result.code, result.output).toBe(0);
    expect(seen).toContain("GET /api/deliveries?state=failed");
    expect(result.stdout).toMatch(/msg_1\s+call\.ended.*crm\s+failed\s+10\s+HTTP 500/);
    expect(result.output).toContain("replay <EVENT>");
  });

  it("replay queues the event again", async () => {
    const result = await runCli("webhooks", ["replay", "msg_1", "--url", url], env());
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toContain("msg_1 queued again for crm");
  });

  it("replay of an event with nothing failed exits 1 with the Worker's reason", async () => {
    const result = await runCli("webhooks", ["replay", "msg_2", "--url", url], env());
    expect(result.code).toBe(1);
    expect(result.output).toContain("no failed delivery");
  });

  it("test exits 1 when the endpoint refuses the test event, saying how", async () => {
    const result = await runCli("webhooks", ["test", "crm", "--url", url], env());
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("did not take the test event: HTTP 500");
  });
});
