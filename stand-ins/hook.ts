/**
 * A local stand-in for the operator's server behind the pre-call hook (docs/pre-call-hook.md), on 127.0.0.1, for
 * tests, the demo and benchmarks. It verifies every request's Standard Webhooks signature with the
 * `standardwebhooks` package (as an operator would) and answers 401 to one that fails, checks the body's shape
 * (Retell's `call_inbound` event), and answers as told.
 *
 * Each hook is a path, `/hooks/<name>`, with its own behaviour set through /__stand-in/hooks/<name>, so tests
 * running side by side do not disturb each other. Without one it answers 204 ("go ahead as configured").
 */
import type { RequestListener, ServerResponse } from "node:http";
import { gzipSync } from "node:zlib";
import { Webhook } from "standardwebhooks";
import { readBody, startStandIn } from "./lib/server.ts";

export interface HookBehaviour {
  /** Milliseconds to wait before answering. */
  delayMs?: number;
  /** The HTTP status (default 200 with `answer`, 204 without). */
  status?: number;
  /** The JSON answer to send. */
  answer?: unknown;
  /** A body sent as it is (not JSON-encoded), with `contentType`. */
  raw?: string;
  contentType?: string;
  /**
   * `drop`: close the connection without answering; `hang`: never answer; `redirect`: 307 to `location`;
   * `huge`: a 2xx body of `hugeBytes` (default 1 MiB) in chunks, without Content-Length (with `gzip`, compressed
   * whole, with the compressed Content-Length and `Content-Encoding: gzip`); `crm`: greet a caller found
   * in `crm` (from_number → name) by name through the dynamic variable `customer_name`.
   */
  mode?: "drop" | "hang" | "redirect" | "huge" | "crm";
  location?: string;
  hugeBytes?: number;
  gzip?: boolean;
  crm?: Record<string, string>;
  /** Only the first `times` requests misbehave (`drop`, `hang`, `status`); later ones answer `answer` (retry tests). */
  times?: number;
}

export interface HookRequestRecord {
  at: number;
  hook: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** Whether the signature verified with the stand-in's secret. */
  verified: boolean;
  /** What the stand-in answered (0 when it dropped or hung). */
  status: number;
}

export interface HookStandIn {
  url: string;
  requests: HookRequestRecord[];
  setBehaviour(hook: string, behaviour: HookBehaviour): void;
  close(): Promise<void>;
}

const MAX_RECORDED = 10_000;

function send(res: ServerResponse, status: number, body?: unknown): number {
  if (body === undefined) res.writeHead(status).end();
  else res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
  return status;
}

/** Why a hook request body is not Retell's `call_inbound` event as the bridge sends it, or null. */
export function hookBodyProblem(body: unknown): string | null {
  if (typeof body !== "object" || body === null) return "body must be a JSON object";
  const b = body as Record<string, unknown>;
  if (b.event !== "call_inbound") return "event must be call_inbound";
  const inbound = b.call_inbound as Record<string, unknown> | undefined;
  if (typeof inbound !== "object" || inbound === null) return "call_inbound must be an object";
  for (const field of ["agent_id", "twilio_call_sid", "caller_number"]) {
    if (typeof inbound[field] !== "string") return `call_inbound.${field} must be a string`;
  }
  if (typeof inbound.after_hours !== "boolean") return "call_inbound.after_hours must be a boolean";
  return null;
}

export async function startHookStandIn(options: { secret: string; port?: number }): Promise<HookStandIn> {
  const verifier = new Webhook(options.secret);
  const behaviours = new Map<string, HookBehaviour & { seen: number }>();
  const requests: HookRequestRecord[] = [];

  const serve: RequestListener = async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const text = await readBody(req);
    if (url.pathname.startsWith("/__stand-in/")) return control(url, req.method ?? "GET", text, res);
    const match = url.pathname.match(/^\/hooks\/([^/]+)$/);
    if (!match || req.method !== "POST") return send(res, 404, { message: "not found" });
    const hook = decodeURIComponent(match[1] as string);
    let verified = false;
    let body: unknown = text;
    try {
      body = verifier.verify(text, req.headers as Record<string, string>);
      verified = true;
    } catch {
      try {
        body = JSON.parse(text);
      } catch {
        // Kept as text.
      }
    }
    const record: HookRequestRecord = { at: Date.now(), hook, headers: req.headers, body, verified, status: 0 };
    if (requests.length < MAX_RECORDED) requests.push(record);
    if (!verified) {
      record.status = send(res, 401, { message: "signature did not verify" });
      return;
    }
    const problem = hookBodyProblem(body);
    if (problem) {
      record.status = send(res, 400, { message: problem });
      return;
    }
    const b = behaviours.get(hook);
    const seen = b ? b.seen++ : 0;
    const misbehave = b?.times === undefined || seen < b.times;
    if (b?.delayMs) await new Promise((r) => setTimeout(r, b.delayMs));
    if (misbehave && b?.mode === "drop") {
      req.socket.destroy();
      return;
    }
    if (misbehave && b?.mode === "hang") {
      // Never answered: cut when the stand-in closes.
      return;
    }
    if (b?.mode === "redirect") {
      res.writeHead(307, { Location: b.location ?? "https://example.com/elsewhere" }).end();
      record.status = 307;
      return;
    }
    if (b?.mode === "huge" && b.gzip) {
      const whole = gzipSync(`{"call_inbound":{}${" ".repeat(b.hugeBytes ?? 1024 * 1024)}}`);
      res.writeHead(200, { "Content-Type": "application/json", "Content-Encoding": "gzip", "Content-Length": String(whole.byteLength) }).end(whole);
      record.status = 200;
      return;
    }
    if (b?.mode === "huge") {
      res.writeHead(200, { "Content-Type": "application/json" });
      const chunk = " ".repeat(16 * 1024);
      let left = b.hugeBytes ?? 1024 * 1024;
      res.write('{"call_inbound":{}');
      const more = () => {
        while (left > 0) {
          left -= chunk.length;
          if (!res.write(chunk)) return void res.once("drain", more);
        }
        res.end("}");
      };
      res.on("error", () => {});
      more();
      record.status = 200;
      return;
    }
    if (b?.mode === "crm") {
      const from = (body as { call_inbound: { from_number?: string } }).call_inbound.from_number;
      const name = from ? b.crm?.[from] : undefined;
      record.status = name ? send(res, 200, { call_inbound: { dynamic_variables: { customer_name: name } } }) : send(res, 204);
      return;
    }
    if (b?.raw !== undefined) {
      res.writeHead(b.status ?? 200, { "Content-Type": b.contentType ?? "application/json" }).end(b.raw);
      record.status = b.status ?? 200;
      return;
    }
    const status = misbehave && b?.status !== undefined ? b.status : b?.answer === undefined ? 204 : 200;
    record.status = send(res, status, status === 204 ? undefined : b?.answer);
  };

  function control(url: URL, method: string, text: string, res: ServerResponse) {
    const hook = url.pathname.match(/^\/__stand-in\/hooks\/([^/]+)$/);
    if (hook && method === "PUT") {
      behaviours.set(decodeURIComponent(hook[1] as string), { ...(JSON.parse(text || "{}") as HookBehaviour), seen: 0 });
      return send(res, 204);
    }
    if (url.pathname === "/__stand-in/requests" && method === "GET") {
      const name = url.searchParams.get("hook");
      return send(res, 200, name ? requests.filter((r) => r.hook === name) : requests);
    }
    return send(res, 404, { message: "unknown control route" });
  }

  const stand = await startStandIn(serve, { port: options.port });
  return {
    url: stand.url,
    requests,
    setBehaviour: (name, behaviour) => behaviours.set(name, { ...behaviour, seen: 0 }),
    close: stand.close,
  };
}
