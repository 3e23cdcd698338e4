/**
 * How every local stand-in (stand-ins/*.ts) serves HTTP: on 127.0.0.1 only, so nothing off this machine reaches
 * one; on the port asked for, else a free one the system picks (parallel test runs never collide); and closed at
 * once however it was left: requests it holds unanswered on purpose (a `hang` behaviour) and idle keep-alive
 * connections are cut with it, so a test's teardown never waits for them.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** Loopback only: a stand-in answers this machine's tests, the demo and the load run, nobody else. */
export const STAND_IN_HOST = "127.0.0.1";

export interface StandInServer {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  url: string;
  /** For a stand-in that also watches connections (the receiver refuses them while "down"). */
  server: Server;
  /** Stops listening and cuts every connection, mid-request or idle; resolves once the server is closed. */
  close(): Promise<void>;
}

/** Starts `handler` listening on 127.0.0.1 at `port` (0 or absent: any free port). */
export async function startStandIn(handler: RequestListener, options: { port?: number } = {}): Promise<StandInServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, STAND_IN_HOST, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${STAND_IN_HOST}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A request's whole body as text (every stand-in's vendor sends UTF-8). */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
