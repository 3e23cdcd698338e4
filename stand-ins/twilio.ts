/**
 * A local stand-in for Twilio's REST API (2010-04-01) on 127.0.0.1, for the CLI's and the Worker's tests
 * (the latter through its control API under /__stand-in/). It is strict where Twilio is: HTTP Basic auth (account SID + auth token, or an API key and
 * secret), the account in the path, methods, `application/x-www-form-urlencoded` bodies and the exact
 * PascalCase field names an update accepts (an unknown one is a 400, as Twilio answers). Errors have Twilio's
 * shape `{ code, message, more_info, status }`. Numbers live in memory; lists are paged with next_page_uri.
 * Calls.json creates calls (fields as twilio-node sends them, StatusCallbackEvent repeated per event) and
 * answers 201 with the queued call; a failure can be scoped to one callee (`To=+1…`) or made to hang.
 * Queues/{QueueSid}/Members/{CallSid}.json dequeues a held caller (Url, Method), once per member.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";
import { readBody, startStandIn } from "./lib/server.ts";

export interface StandInNumber {
  sid: string;
  account_sid: string;
  phone_number: string;
  friendly_name: string;
  voice_url: string | null;
  voice_method: string;
  voice_fallback_url: string | null;
  voice_fallback_method: string;
  status_callback: string | null;
  status_callback_method: string;
  voice_application_sid: string | null;
  trunk_sid: string | null;
  voice_caller_id_lookup: boolean;
  sms_url: string | null;
  sms_method: string;
  date_created: string;
  date_updated: string;
  uri: string;
}

export interface TwilioRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  form: Record<string, string[]>;
  status: number;
}

export interface Failure {
  /** 400 answers Twilio's 21220 "Invalid call state" (a call that is not in progress), unless `code` says otherwise. */
  status: 400 | 401 | 404 | 429 | 500 | 503;
  /** Never answer (the connection stays open until the stand-in closes), instead of failing with `status`. */
  hang?: boolean;
  /** Only the next `times` requests fail (default: all, until cleared). */
  times?: number;
  /** Retry-After header (seconds) with a 429. */
  retryAfter?: string;
  /** Twilio's error code and message to answer with instead of the status's usual one (e.g. 21215 for a 400). */
  code?: number;
  message?: string;
}

/** A call created through Calls.json, as Twilio's Call resource shows it (the fields the Worker reads, and a few more). */
export interface StandInCall {
  sid: string;
  account_sid: string;
  to: string;
  from: string;
  status: string;
  direction: "outbound-api";
  answered_by: string | null;
  date_created: string;
  uri: string;
  /** The form fields it was created with (for tests). */
  form: Record<string, string[]>;
}

/** A queue member dequeued through the Member update: Twilio would now fetch `url` with `method` for the call. */
export interface StandInDequeue {
  queueSid: string;
  callSid: string;
  url: string;
  method: string;
}

export interface TwilioStandIn {
  url: string;
  accountSid: string;
  numbers: Map<string, StandInNumber>;
  calls: Map<string, StandInCall>;
  requests: TwilioRequest[];
  /** Members dequeued, in order. */
  dequeues: StandInDequeue[];
  /** Called for each member dequeued (the load test plays Twilio's Url request from it). */
  onDequeue(listener: ((dequeue: StandInDequeue) => void) | null): void;
  addNumber(phoneNumber: string, fields?: Partial<StandInNumber>): StandInNumber;
  byNumber(phoneNumber: string): StandInNumber | undefined;
  fail(failure: Failure | null): void;
  close(): Promise<void>;
}

/** Fields Twilio's IncomingPhoneNumber update accepts (twilio-node incomingPhoneNumber.ts, docs). */
const UPDATE_FIELDS = new Set([
  "AccountSid", "ApiVersion", "FriendlyName", "SmsApplicationSid", "SmsFallbackMethod", "SmsFallbackUrl", "SmsMethod", "SmsUrl",
  "StatusCallback", "StatusCallbackMethod", "VoiceApplicationSid", "VoiceCallerIdLookup", "VoiceFallbackMethod", "VoiceFallbackUrl",
  "VoiceMethod", "VoiceUrl", "EmergencyStatus", "EmergencyAddressSid", "TrunkSid", "VoiceReceiveMode", "IdentitySid", "AddressSid", "BundleSid",
]);
const METHOD_FIELDS = new Set(["VoiceMethod", "VoiceFallbackMethod", "StatusCallbackMethod", "SmsMethod", "SmsFallbackMethod"]);
const URL_FIELDS = new Set(["VoiceUrl", "VoiceFallbackUrl", "StatusCallback", "SmsUrl", "SmsFallbackUrl"]);
const FIELD_TO_PROPERTY: Record<string, keyof StandInNumber> = {
  FriendlyName: "friendly_name", VoiceUrl: "voice_url", VoiceMethod: "voice_method", VoiceFallbackUrl: "voice_fallback_url",
  VoiceFallbackMethod: "voice_fallback_method", StatusCallback: "status_callback", StatusCallbackMethod: "status_callback_method",
  VoiceApplicationSid: "voice_application_sid", TrunkSid: "trunk_sid", SmsUrl: "sms_url", SmsMethod: "sms_method",
};
const MAX_PAGE_SIZE = 1000;
/** Fields Twilio's Calls create accepts (twilio-node call.ts `CallListInstance.create`, twilio-oai). */
const CREATE_FIELDS = new Set([
  "To", "From", "Method", "FallbackUrl", "FallbackMethod", "StatusCallback", "StatusCallbackEvent", "StatusCallbackMethod", "SendDigits",
  "Timeout", "Record", "RecordingChannels", "RecordingStatusCallback", "RecordingStatusCallbackMethod", "SipAuthUsername", "SipAuthPassword",
  "MachineDetection", "MachineDetectionTimeout", "RecordingStatusCallbackEvent", "Trim", "CallerId", "MachineDetectionSpeechThreshold",
  "MachineDetectionSpeechEndThreshold", "MachineDetectionSilenceTimeout", "AsyncAmd", "AsyncAmdStatusCallback", "AsyncAmdStatusCallbackMethod",
  "Byoc", "CallReason", "CallToken", "RecordingTrack", "TimeLimit", "Url", "Twiml", "ApplicationSid",
]);
/** Create fields a list may repeat (one value per field, as twilio-node encodes arrays). */
const REPEATABLE_CREATE_FIELDS = new Set(["StatusCallbackEvent", "RecordingStatusCallbackEvent"]);
const STATUS_CALLBACK_EVENTS = new Set(["initiated", "ringing", "answered", "completed"]);
const E164 = /^\+[1-9]\d{6,14}$/;
/** Fields Twilio's Call update accepts (twilio-node call.ts CallContextImpl.update). */
const CALL_UPDATE_FIELDS = new Set(["Url", "Method", "Status", "FallbackUrl", "FallbackMethod", "StatusCallback", "StatusCallbackMethod", "Twiml", "TimeLimit"]);
/** Fields Twilio's Queue Member update accepts (twilio-node member.ts MemberContextImpl.update): Url required. */
const MEMBER_UPDATE_FIELDS = new Set(["Url", "Method"]);
/** Paths under this prefix control the stand-in (tests); they are not Twilio's. */
export const CONTROL_PREFIX = "/__stand-in/";

function twilioError(res: ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}): number {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }));
  return status;
}

/** Whether `scope` is `Name=value` and the form has that value for the field. */
function formHas(form: Record<string, string[]>, scope: string): boolean {
  const eq = scope.indexOf("=");
  return eq > 0 && (form[scope.slice(0, eq)] ?? []).includes(scope.slice(eq + 1));
}

function json(res: ServerResponse, status: number, body: unknown): number {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
  return status;
}

const hex = (n: number) => randomBytes(n).toString("hex");

export async function startTwilioStandIn(options: {
  accountSid: string;
  authToken: string;
  /** An API key (SK…) and secret that may authenticate too. */
  apiKey?: { sid: string; secret: string };
  /** The largest page it serves (Twilio: 1000); small values make paging testable. */
  maxPageSize?: number;
}): Promise<TwilioStandIn> {
  const { accountSid } = options;
  const numbers = new Map<string, StandInNumber>();
  const calls = new Map<string, StandInCall>();
  const requests: TwilioRequest[] = [];
  const dequeues: StandInDequeue[] = [];
  let dequeueListener: ((dequeue: StandInDequeue) => void) | null = null;
  let failure: (Failure & { left?: number }) | null = null;
  const scopedFailures = new Map<string, Failure & { left?: number }>();
  const maxPageSize = Math.min(options.maxPageSize ?? MAX_PAGE_SIZE, MAX_PAGE_SIZE);
  const base = `/2010-04-01/Accounts/${accountSid}`;

  const authorized = (header: string | undefined): boolean => {
    const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? "");
    if (!m) return false;
    const decoded = Buffer.from(m[1] as string, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    const [user, pass] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
    if (colon === -1) return false;
    if (user === accountSid && pass === options.authToken) return true;
    return options.apiKey !== undefined && user === options.apiKey.sid && pass === options.apiKey.secret;
  };

  const serve: RequestListener = async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const text = await readBody(req);
    // The control API for tests running in the Workers runtime, which cannot reach this object directly.
    if (url.pathname.startsWith(CONTROL_PREFIX)) {
      control(res, url, text);
      return;
    }
    const form: Record<string, string[]> = {};
    for (const [k, v] of new URLSearchParams(text)) (form[k] ??= []).push(v);
    const record: TwilioRequest = { method: req.method ?? "", path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, form, status: 0 };
    requests.push(record);
    record.status = handle(req, res, url, text, form);
  };

  /** GET /__stand-in/requests[?path=<prefix>]: what was received; PUT /__stand-in/fail: the next failure (JSON Failure or null). */
  function control(res: ServerResponse, url: URL, text: string): void {
    const what = url.pathname.slice(CONTROL_PREFIX.length);
    if (what === "requests") {
      const prefix = url.searchParams.get("path") ?? "";
      json(res, 200, requests.filter((r) => r.path.startsWith(prefix)).map(({ headers, ...r }) => ({ ...r, authorization: headers.authorization ?? null })));
      return;
    }
    if (what === "fail") {
      // Scoped to requests whose path contains ?path=…, so tests running side by side do not disturb each other.
      const scope = url.searchParams.get("path") ?? "";
      const next = text ? (JSON.parse(text) as Failure | null) : null;
      if (next) scopedFailures.set(scope, { ...next, ...(next.times !== undefined && { left: next.times }) });
      else scopedFailures.delete(scope);
      res.writeHead(204).end();
      return;
    }
    json(res, 404, { message: "unknown control" });
  }

  function handle(req: IncomingMessage, res: ServerResponse, url: URL, text: string, form: Record<string, string[]>): number {
    if (!authorized(req.headers.authorization)) {
      return twilioError(res, 401, 20003, "Authentication Error - invalid username", { "WWW-Authenticate": 'Basic realm="Twilio API"' });
    }
    // A scope is a path part, or `Name=value` for requests whose form has that field (a Calls.json `To=+1…`).
    const scope = [...scopedFailures.keys()].find((key) => url.pathname.includes(key) || formHas(form, key));
    if (failure || scope !== undefined) {
      const f = (scope !== undefined ? scopedFailures.get(scope) : failure) as Failure & { left?: number };
      if (f.left !== undefined && --f.left <= 0) {
        if (scope !== undefined) scopedFailures.delete(scope);
        else failure = null;
      }
      if (f.hang) {
        // Never answered: cut when the stand-in closes.
        return 0;
      }
      if (f.code !== undefined) return twilioError(res, f.status, f.code, f.message ?? "Error");
      if (f.status === 400) return twilioError(res, 400, 21220, "Call is not in-progress. Cannot redirect.");
      if (f.status === 429) return twilioError(res, 429, 20429, "Too Many Requests", f.retryAfter ? { "Retry-After": f.retryAfter } : {});
      if (f.status === 401) return twilioError(res, 401, 20003, "Authentication Error - invalid username");
      if (f.status === 404) return twilioError(res, 404, 20404, `The requested resource ${url.pathname} was not found`);
      return twilioError(res, f.status, 20500, "Internal Server Error");
    }
    if (!url.pathname.startsWith(base + "/") || url.pathname.startsWith("/2010-04-01/Accounts/") === false) {
      return twilioError(res, 404, 20404, `The requested resource ${url.pathname} was not found`);
    }
    const rest = url.pathname.slice(base.length);
    if (rest === "/Calls.json") return createCall(req, res, text, form);
    const call = /^\/Calls\/(CA[0-9a-fA-F]{32})\.json$/.exec(rest);
    if (call) return updateCall(req, res, call[1] as string, form);
    const member = /^\/Queues\/([^/]+)\/Members\/([^/]+)\.json$/.exec(rest);
    if (member) return dequeueMember(req, res, member[1] as string, member[2] as string, form);
    if (rest === "/IncomingPhoneNumbers.json") {
      if (req.method !== "GET") return twilioError(res, 405, 20004, "Method not allowed");
      return list(res, url);
    }
    const one = /^\/IncomingPhoneNumbers\/(PN[0-9a-f]{32})\.json$/.exec(rest);
    if (!one) return twilioError(res, 404, 20404, `The requested resource ${url.pathname} was not found`);
    const number = numbers.get(one[1] as string);
    if (!number) return twilioError(res, 404, 20404, `The requested resource ${url.pathname} was not found`);
    if (req.method === "GET") return json(res, 200, number);
    if (req.method !== "POST") return twilioError(res, 405, 20004, "Method not allowed");
    if (text !== "" && req.headers["content-type"]?.split(";")[0]?.trim() !== "application/x-www-form-urlencoded") {
      return twilioError(res, 400, 20001, "Content-Type must be application/x-www-form-urlencoded");
    }
    for (const [field, values] of Object.entries(form)) {
      if (!UPDATE_FIELDS.has(field)) return twilioError(res, 400, 20001, `Unknown parameter: ${field}`);
      if (values.length > 1) return twilioError(res, 400, 20001, `Parameter given more than once: ${field}`);
      const value = values[0] as string;
      if (METHOD_FIELDS.has(field) && value !== "GET" && value !== "POST") return twilioError(res, 400, 21603, `${field} must be GET or POST`);
      if (URL_FIELDS.has(field) && value !== "" && !/^https?:\/\/[^\s/?#]+/.test(value)) return twilioError(res, 400, 21502, `${field} is not a valid URL: ${value}`);
    }
    for (const [field, values] of Object.entries(form)) {
      const property = FIELD_TO_PROPERTY[field];
      if (property) (number as unknown as Record<string, unknown>)[property] = values[0] === "" ? null : values[0];
    }
    number.date_updated = new Date().toUTCString();
    return json(res, 200, number);
  }

  /** POST Calls.json: checks the form as strictly as Twilio documents it, then answers 201 with the queued call. */
  function createCall(req: IncomingMessage, res: ServerResponse, text: string, form: Record<string, string[]>): number {
    if (req.method !== "POST") return twilioError(res, 405, 20004, "Method not allowed");
    if (text !== "" && req.headers["content-type"]?.split(";")[0]?.trim() !== "application/x-www-form-urlencoded") {
      return twilioError(res, 400, 20001, "Content-Type must be application/x-www-form-urlencoded");
    }
    for (const [field, values] of Object.entries(form)) {
      if (!CREATE_FIELDS.has(field)) return twilioError(res, 400, 20001, `Unknown parameter: ${field}`);
      if (values.length > 1 && !REPEATABLE_CREATE_FIELDS.has(field)) return twilioError(res, 400, 20001, `Parameter given more than once: ${field}`);
    }
    const one = (field: string) => form[field]?.[0];
    const to = one("To");
    const from = one("From");
    if (!to) return twilioError(res, 400, 21201, "No 'To' number is specified");
    if (!from) return twilioError(res, 400, 21213, "No 'From' number is specified");
    if (!E164.test(to)) return twilioError(res, 400, 21211, `Invalid 'To' Phone Number: ${to}`);
    if (!E164.test(from)) return twilioError(res, 400, 21212, `Invalid 'From' Phone Number: ${from}`);
    if (!one("Url") && !one("Twiml") && !one("ApplicationSid")) return twilioError(res, 400, 21205, "Url parameter is required");
    for (const field of ["Url", "StatusCallback", "FallbackUrl"]) {
      const value = one(field);
      if (value !== undefined && !/^https?:\/\/[^\s/?#]+/.test(value)) return twilioError(res, 400, 21205, `${field} is not a valid URL: ${value}`);
    }
    for (const field of ["Method", "StatusCallbackMethod", "FallbackMethod"]) {
      const value = one(field);
      if (value !== undefined && value !== "GET" && value !== "POST") return twilioError(res, 400, 21603, `${field} must be GET or POST`);
    }
    for (const event of form.StatusCallbackEvent ?? []) {
      if (!STATUS_CALLBACK_EVENTS.has(event)) return twilioError(res, 400, 21626, `Invalid StatusCallbackEvent: ${event}`);
    }
    const detection = one("MachineDetection");
    if (detection !== undefined && detection !== "Enable" && detection !== "DetectMessageEnd") {
      return twilioError(res, 400, 21627, `MachineDetection must be Enable or DetectMessageEnd, not ${detection}`);
    }
    const limit = one("TimeLimit");
    if (limit !== undefined && !/^\d+$/.test(limit)) return twilioError(res, 400, 20001, "TimeLimit must be a whole number of seconds");
    const sid = `CA${hex(16)}`;
    const call: StandInCall = {
      sid, account_sid: accountSid, to, from, status: "queued", direction: "outbound-api", answered_by: null,
      date_created: new Date().toUTCString(), uri: `${base}/Calls/${sid}.json`, form,
    };
    calls.set(sid, call);
    return json(res, 201, { ...call, form: undefined });
  }

  /**
   * POST Calls/{Sid}.json: updating a live call (twilio-node CallContextImpl.update; vendor facts §A). Only the
   * fields Twilio takes, each once; `Twiml` and `Url` are exclusive; inline TwiML at most 4,000 characters (32018)
   * with absolute action URLs (15004). Any CallSid is taken as a live call.
   */
  function updateCall(req: IncomingMessage, res: ServerResponse, sid: string, form: Record<string, string[]>): number {
    if (req.method !== "POST") return twilioError(res, 405, 20004, "Method not allowed");
    if (req.headers["content-type"]?.split(";")[0]?.trim() !== "application/x-www-form-urlencoded") {
      return twilioError(res, 400, 20001, "Content-Type must be application/x-www-form-urlencoded");
    }
    for (const [field, values] of Object.entries(form)) {
      if (!CALL_UPDATE_FIELDS.has(field)) return twilioError(res, 400, 20001, `Unknown parameter: ${field}`);
      if (values.length > 1) return twilioError(res, 400, 20001, `Parameter given more than once: ${field}`);
    }
    const twiml = form.Twiml?.[0];
    if (twiml !== undefined && form.Url !== undefined) return twilioError(res, 400, 21205, "Twiml and Url are mutually exclusive");
    if (twiml !== undefined) {
      if (twiml.length > 4000) return twilioError(res, 400, 32018, "Twiml size exceeded maximum allowed value of 4000 characters");
      for (const [, url] of twiml.matchAll(/\s(?:action|url)="([^"]*)"/g)) {
        if (!/^https?:\/\//.test(url ?? "")) return twilioError(res, 400, 15004, "Action Callback URL must be an absolute URL when using TwiML to update in-progress calls");
      }
    }
    const now = new Date().toUTCString();
    return json(res, 200, {
      sid, account_sid: accountSid, status: form.Status?.[0] ?? "in-progress", direction: "inbound", date_updated: now,
      api_version: "2010-04-01", uri: `${base}/Calls/${sid}.json`,
    });
  }

  /**
   * POST Queues/{QueueSid}/Members/{CallSid}.json: dequeues the member, which then runs the TwiML at Url (Twilio's
   * Member resource). SIDs of Twilio's shape (QU…/CA… and 32 hex digits), Url an absolute http(s) URL, Method GET
   * or POST, nothing else. Only the first dequeue of a member succeeds; a repeat is a 400, as Twilio documents.
   */
  function dequeueMember(req: IncomingMessage, res: ServerResponse, queueSid: string, callSid: string, form: Record<string, string[]>): number {
    if (req.method !== "POST") return twilioError(res, 405, 20004, "Method not allowed");
    if (!/^QU[0-9a-fA-F]{32}$/.test(queueSid) || !/^CA[0-9a-fA-F]{32}$/.test(callSid)) {
      return twilioError(res, 404, 20404, `The requested resource ${req.url ?? ""} was not found`);
    }
    if (req.headers["content-type"]?.split(";")[0]?.trim() !== "application/x-www-form-urlencoded") {
      return twilioError(res, 400, 20001, "Content-Type must be application/x-www-form-urlencoded");
    }
    for (const [field, values] of Object.entries(form)) {
      if (!MEMBER_UPDATE_FIELDS.has(field)) return twilioError(res, 400, 20001, `Unknown parameter: ${field}`);
      if (values.length > 1) return twilioError(res, 400, 20001, `Parameter given more than once: ${field}`);
    }
    const url = form.Url?.[0];
    const method = form.Method?.[0] ?? "POST";
    if (!url) return twilioError(res, 400, 21205, "Url parameter is required");
    if (!/^https?:\/\/[^\s/?#]+/.test(url)) return twilioError(res, 400, 21205, `Url is not a valid URL: ${url}`);
    if (method !== "GET" && method !== "POST") return twilioError(res, 400, 21603, "Method must be GET or POST");
    if (dequeues.some((d) => d.queueSid === queueSid && d.callSid === callSid)) return twilioError(res, 400, 20001, "Call is not in the queue");
    const dequeue: StandInDequeue = { queueSid, callSid, url, method };
    dequeues.push(dequeue);
    dequeueListener?.(dequeue);
    return json(res, 200, {
      call_sid: callSid, queue_sid: queueSid, date_enqueued: new Date().toUTCString(), position: 1, wait_time: 0,
      uri: `${base}/Queues/${queueSid}/Members/${callSid}.json`,
    });
  }

  function list(res: ServerResponse, url: URL): number {
    const pageSize = Math.min(Number(url.searchParams.get("PageSize") ?? 50) || 50, maxPageSize);
    const page = Number(url.searchParams.get("Page") ?? 0) || 0;
    const filter = url.searchParams.get("PhoneNumber");
    const all = [...numbers.values()].filter((n) => !filter || n.phone_number === filter);
    const items = all.slice(page * pageSize, (page + 1) * pageSize);
    const hasNext = (page + 1) * pageSize < all.length;
    const uri = (p: number) => `${base}/IncomingPhoneNumbers.json?PageSize=${pageSize}&Page=${p}${p > 0 ? `&PageToken=PA${hex(8)}` : ""}`;
    return json(res, 200, {
      incoming_phone_numbers: items,
      start: page * pageSize,
      end: page * pageSize + Math.max(items.length - 1, 0),
      page,
      page_size: pageSize,
      first_page_uri: uri(0),
      previous_page_uri: page > 0 ? uri(page - 1) : null,
      next_page_uri: hasNext ? uri(page + 1) : null,
      uri: uri(page),
    });
  }

  const stand = await startStandIn(serve);
  return {
    url: stand.url,
    accountSid,
    numbers,
    calls,
    requests,
    dequeues,
    onDequeue(listener) {
      dequeueListener = listener;
    },
    addNumber(phoneNumber, fields = {}) {
      const sid = `PN${hex(16)}`;
      const now = new Date().toUTCString();
      const number: StandInNumber = {
        sid, account_sid: accountSid, phone_number: phoneNumber, friendly_name: phoneNumber, voice_url: null, voice_method: "POST",
        voice_fallback_url: null, voice_fallback_method: "POST", status_callback: null, status_callback_method: "POST",
        voice_application_sid: null, trunk_sid: null, voice_caller_id_lookup: false, sms_url: null, sms_method: "POST",
        date_created: now, date_updated: now, uri: `${base}/IncomingPhoneNumbers/${sid}.json`, ...fields,
      };
      numbers.set(sid, number);
      return number;
    },
    byNumber: (phoneNumber) => [...numbers.values()].find((n) => n.phone_number === phoneNumber),
    fail(f) {
      failure = f ? { ...f, ...(f.times !== undefined && { left: f.times }) } : null;
    },
    close: stand.close,
  };
}
