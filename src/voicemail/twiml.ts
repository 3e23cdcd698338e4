/**
 * The voicemail's TwiML and URLs. Twilio's recording status callback carries the call's CallSid but no From or
 * To, so its URL names the call's line in the signed query (as the queue's do, hold/twiml.ts). `<Record>` without
 * an action would request the current document's URL again when the recording ends (tw-record "action"), which
 * for the voice webhook would record again: its action is a route that hangs up.
 */
import { record, say } from "../twilio/twiml.ts";
import type { Voicemail } from "../line/voice-outcome.ts";
import { endTwilioUrl } from "../twilio/params.ts";

export const VOICEMAIL_PATH = "/api/webhooks/twilio/voicemail";
export const VOICEMAIL_END_PATH = "/api/webhooks/twilio/voicemail-end";

export interface VoicemailUrls {
  /** `<Record recordingStatusCallback>`: where Twilio reports the recording (POST). */
  callback: string;
  /** `<Record action>`: requested when the recording ends; answers with a hang-up. */
  action: string;
}

export function voicemailUrls(signedRequestUrl: string, line: string): VoicemailUrls {
  const origin = new URL(signedRequestUrl).origin;
  const url = (path: string) => {
    const u = new URL(path, origin);
    u.searchParams.set("line", line);
    return endTwilioUrl(u);
  };
  return { callback: url(VOICEMAIL_PATH), action: url(VOICEMAIL_END_PATH) };
}

export function voicemailTwiml(voicemail: Voicemail, urls: VoicemailUrls): string {
  return say(voicemail.greeting) + record({ maxLength: voicemail.maxSeconds, action: urls.action, recordingStatusCallback: urls.callback });
}
