/**
 * A small Twilio REST client for IncomingPhoneNumbers (2010-04-01 API): Basic auth, form-encoded writes,
 * paging through next_page_uri, and Twilio's errors ({code, message, more_info, status}) as one clear sentence.
 * TWILIO_API_BASE_URL overrides https://api.twilio.com (tests point it at stand-ins/twilio.ts).
 */
import { CliError } from "./errors.ts";
import type { Settings } from "./settings.ts";

export const DEFAULT_TWILIO_API_BASE_URL = "https://api.twilio.com";

export interface IncomingNumber {
  sid: string;
  phone_number: string;
  friendly_name: string | null;
  voice_url: string | null;
  voice_method: string | null;
  voice_fallback_url: string | null;
  status_callback: string | null;
  status_callback_method: string | null;
  voice_application_sid: string | null;
  trunk_sid: string | null;
}

/** The fields `numbers connect` writes. */
export type NumberUpdate = Partial<Record<"VoiceUrl" | "VoiceMethod" | "StatusCallback" | "StatusCallbackMethod" | "VoiceApplicationSid", string>>;

interface TwilioErrorBody {
  code?: number;
  message?: string;
  more_info?: string;
  status?: number;
}

export interface TwilioCredentials {
  accountSid: string;
  /** Basic auth user and password: the account SID and auth token, or an API key SID and secret. */
  username: string;
  password: string;
  baseUrl: string;
}

/** Credentials from the environment or .dev.vars; missing ones are one error naming both places. */
export function twilioCredentials(settings: Settings): TwilioCredentials {
  const accountSid = settings.value("TWILIO_ACCOUNT_SID");
  const apiKey = settings.value("TWILIO_API_KEY");
  const apiSecret = settings.value("TWILIO_API_SECRET");
  const token = settings.value("TWILIO_AUTH_TOKEN");
  const missing = [!accountSid && "TWILIO_ACCOUNT_SID", !(token || (apiKey && apiSecret)) && "TWILIO_AUTH_TOKEN"].filter(Boolean);
  if (missing.length > 0 || !accountSid) {
    throw new CliError(`Twilio credentials missing: ${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} not set.`, {
      fix: `set ${missing.join(" and ")} in the environment or in ${settings.devVarsFile} (Twilio Console → Account → API keys & tokens)`,
    });
  }
  if (!/^AC[0-9a-fA-F]{32}$/.test(accountSid)) {
    throw new CliError(`TWILIO_ACCOUNT_SID "${accountSid}" is not an account SID (AC followed by 32 hex digits).`, { fix: "copy the Account SID from the Twilio Console" });
  }
  const baseUrl = (settings.value("TWILIO_API_BASE_URL") || DEFAULT_TWILIO_API_BASE_URL).replace(/\/+$/, "");
  return apiKey && apiSecret
    ? { accountSid, username: apiKey, password: apiSecret, baseUrl }
    : { accountSid, username: accountSid, password: token as string, baseUrl };
}

/** Twilio's error as one sentence that says what to do. */
export function twilioErrorSentence(status: number, body: TwilioErrorBody, what: string, accountSid: string): string {
  const ref = body.code ? ` (Twilio error ${body.code}${body.more_info ? `, ${body.more_info}` : ""})` : "";
  switch (status) {
    case 401:
      return `Twilio rejected the credentials while ${what}: check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN${ref}.`;
    case 404:
      return `Twilio found nothing at that address while ${what}: account ${accountSid} or the number does not exist or is not visible to these credentials${ref}.`;
    case 429:
      return `Twilio is rate-limiting this account (429 Too Many Requests) while ${what}: wait a minute and run the command again${ref}.`;
    default:
      return `Twilio answered HTTP ${status} while ${what}: ${body.message ?? "no message"}${ref}.`;
  }
}

export class TwilioClient {
  readonly credentials: TwilioCredentials;
  /** Attempts for a 429 before giving up (Retry-After is honoured, at most 5 s a wait). */
  maxAttempts = 3;

  constructor(credentials: TwilioCredentials) {
    this.credentials = credentials;
  }

  get #accountPath(): string {
    return `/2010-04-01/Accounts/${this.credentials.accountSid}`;
  }

  async #request(method: "GET" | "POST", path: string, what: string, form?: Record<string, string>): Promise<unknown> {
    const { username, password, baseUrl, accountSid } = this.credentials;
    const headers: Record<string, string> = {
      Authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`,
      Accept: "application/json",
    };
    let body: string | undefined;
    if (form) {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(form).toString();
    }
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(baseUrl + path, { method, headers, ...(body !== undefined && { body }), signal: AbortSignal.timeout(30_000) });
      } catch (error) {
        const cause = (error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message;
        throw new CliError(`Cannot reach Twilio at ${baseUrl} while ${what}: ${cause}.`, { fix: "check the network (or TWILIO_API_BASE_URL if you set it)" });
      }
      const text = await response.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : {};
      } catch {
        json = { message: text.slice(0, 200) };
      }
      if (response.ok) return json;
      if (response.status === 429 && attempt < this.maxAttempts) {
        const retryAfter = Number(response.headers.get("retry-after"));
        const wait = Number.isFinite(retryAfter) && response.headers.has("retry-after") ? Math.min(retryAfter * 1000, 5_000) : 1_000 * attempt;
        await new Promise((r) => setTimeout(r, wait));
        continue;
      }
      const error = json as TwilioErrorBody;
      throw new CliError(twilioErrorSentence(response.status, error, what, accountSid), {
        ...(response.status === 401 && { fix: "copy them from the Twilio Console (Account → API keys & tokens) into .dev.vars or the environment" }),
      });
    }
  }

  /** Every incoming number on the account, following next_page_uri. */
  async listNumbers(): Promise<IncomingNumber[]> {
    const numbers: IncomingNumber[] = [];
    let path: string | null = `${this.#accountPath}/IncomingPhoneNumbers.json?PageSize=1000`;
    while (path) {
      const page = (await this.#request("GET", path, "listing the account's phone numbers")) as { incoming_phone_numbers?: IncomingNumber[]; next_page_uri?: string | null };
      numbers.push(...(page.incoming_phone_numbers ?? []));
      path = page.next_page_uri || null;
    }
    return numbers;
  }

  async updateNumber(sid: string, update: NumberUpdate, label: string): Promise<IncomingNumber> {
    const form = Object.fromEntries(Object.entries(update).filter((e): e is [string, string] => e[1] !== undefined));
    return (await this.#request("POST", `${this.#accountPath}/IncomingPhoneNumbers/${sid}.json`, `updating ${label}`, form)) as IncomingNumber;
  }
}
