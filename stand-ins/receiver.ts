/**
 * A local stand-in for the operator's webhook endpoints, on 127.0.0.1, for tests, the demo and the load run. Each
 * request is verified with the `standardwebhooks` package, as an operator's code would, and recorded under its
 * path, so tests running side by side each use a path of their own. Per path it can be told to answer with a
 * status (a list, one per request, the last repeating), with Retry-After, to drop the connection, to hang, or to
 * misbehave at random (`chaos`), and the whole receiver can be taken down and brought back.
 *
 * Control API (under /__stand-in/): GET requests?path=P, POST behaviour {path, behaviour}, POST down {down}.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { Webhook } from "standardwebhooks";
import { readBody, startStandIn } from "./lib/server.ts";

export interface ReceiverBehaviour {
  /** Statuses to answer, in turn; the last one repeats. Default 204. */
  statuses?: number[];
  /** Retry-After sent with every non-2xx answer. */
  retryAfter?: string;
  /** A Location header (with a 3xx). */
  location?: string;
  /** `drop`: close the connection without answering; `hang`: never answer. */
  mode?: "drop" | "hang";
  /** Per request at random: answer 500 (`failRate`) or drop the connection (`dropRate`); otherwise 204. */
  chaos?: { failRate?: number; dropRate?: number };
}

export interface ReceivedRequest {
  at: number;
  path: string;
  headers: Record<string, string | undefined>;
  body: string;
  /** Whether the Standard Webhooks signature verified with the receiver's secret. */
  verified: boolean;
  /** What the receiver answered (0: dropped, hung, or down). */
  status: number;
}

export interface ReceiverStandIn {
  url: string;
  requests: ReceivedRequest[];
  setBehaviour(path: string, behaviour: ReceiverBehaviour): void;
  /** While down, every connection is dropped at once (a server that is unreachable). */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

function headersOf(req: IncomingMessage): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  return headers;
}

function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(value));
}

export async function startReceiverStandIn(options: { secret: string; port?: number }): Promise<ReceiverStandIn> {
  const webhook = new Webhook(options.secret);
  const requests: ReceivedRequest[] = [];
  const behaviours = new Map<string, ReceiverBehaviour>();
  const served = new Map<string, number>();
  let down = false;

  const serve: RequestListener = async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const body = await readBody(req);
    if (url.pathname.startsWith("/__stand-in/")) {
      if (url.pathname === "/__stand-in/requests") return json(res, 200, requests.filter((r) => r.path === url.searchParams.get("path")));
      const control = JSON.parse(body || "{}") as { path?: string; behaviour?: ReceiverBehaviour; down?: boolean };
      if (url.pathname === "/__stand-in/behaviour" && control.path) behaviours.set(control.path, control.behaviour ?? {});
      else if (url.pathname === "/__stand-in/down") down = control.down === true;
      else return json(res, 404, { error: "unknown control" });
      return json(res, 200, { ok: true });
    }
    const headers = headersOf(req);
    let verified = false;
    try {
      webhook.verify(body, { "webhook-id": headers["webhook-id"] ?? "", "webhook-timestamp": headers["webhook-timestamp"] ?? "", "webhook-signature": headers["webhook-signature"] ?? "" });
      verified = true;
    } catch {
      verified = false;
    }
    const entry: ReceivedRequest = { at: Date.now(), path: url.pathname, headers, body, verified, status: 0 };
    requests.push(entry);
    const behaviour = behaviours.get(url.pathname) ?? {};
    const n = served.get(url.pathname) ?? 0;
    served.set(url.pathname, n + 1);
    const roll = Math.random();
    if (down || behaviour.mode === "drop" || (behaviour.chaos?.dropRate !== undefined && roll < behaviour.chaos.dropRate)) {
      req.socket.destroy();
      return;
    }
    if (behaviour.mode === "hang") return;
    const failing = behaviour.chaos?.failRate !== undefined && roll < (behaviour.chaos.dropRate ?? 0) + behaviour.chaos.failRate;
    const statuses = behaviour.statuses ?? [204];
    const status = failing ? 500 : (statuses[Math.min(n, statuses.length - 1)] as number);
    entry.status = status;
    const responseHeaders: Record<string, string> = {};
    if (status >= 300 && behaviour.retryAfter) responseHeaders["Retry-After"] = behaviour.retryAfter;
    if (behaviour.location) responseHeaders.Location = behaviour.location;
    res.writeHead(status, responseHeaders).end();
  };
  const stand = await startStandIn(serve, { port: options.port });
  // While "down", a connection is refused outright, before any request on it.
  stand.server.on("connection", (socket: Socket) => {
    if (down) socket.destroy();
  });
  return {
    url: stand.url,
    requests,
    setBehaviour: (path, behaviour) => behaviours.set(path, behaviour),
    setDown: (value) => {
      down = value;
    },
    close: stand.close,
  };
}
