/**
 * Twilio's recording status callback for a voicemail (`<Record recordingStatusCallback>`): RecordingSid,
 * RecordingUrl, RecordingDuration and RecordingStatus (`in-progress`, `completed`, `absent`, `failed`;
 * https://www.twilio.com/docs/voice/twiml/record#recordingstatuscallback). Twilio keeps the audio: the record keeps
 * where it is. Callbacks come late, twice or out of order, so what is kept only ever moves forward.
 */
import { param, type TwilioParams } from "./params.ts";

export interface VoicemailRecording {
  recordingSid: string;
  /** Twilio's URL of the audio (its REST API; fetching it takes the account's credentials). */
  url: string;
  durationS: number | null;
  status: string;
  reportedAt: number;
}

const RECORDING_SID = /^RE[0-9a-fA-F]{32}$/;
/** Twilio's own host for recordings: a URL elsewhere is not one Twilio gave. */
const RECORDING_HOST = "api.twilio.com";
/** A final status is never replaced by an earlier one (`in-progress`) of the same recording. */
const FINAL_STATUSES = new Set(["completed", "absent", "failed"]);

/** The callback's recording, or null when it is not one Twilio would send (logged by the route). */
export function readRecording(params: TwilioParams, now: number): VoicemailRecording | null {
  const recordingSid = param(params, "RecordingSid");
  const url = param(params, "RecordingUrl");
  const status = param(params, "RecordingStatus");
  if (!recordingSid || !RECORDING_SID.test(recordingSid) || !url || !status || !/^[a-z-]{1,32}$/.test(status)) return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== "https:" || parsed.hostname !== RECORDING_HOST) return null;
  const duration = Number(param(params, "RecordingDuration"));
  return { recordingSid, url, durationS: Number.isInteger(duration) && duration >= 0 ? duration : null, status, reportedAt: now };
}

/** The voicemail to keep: a final status over an earlier one of the same recording; the first recording over another. */
export function laterRecording(stored: VoicemailRecording | null, next: VoicemailRecording): VoicemailRecording {
  if (stored === null) return next;
  if (stored.recordingSid !== next.recordingSid) return FINAL_STATUSES.has(stored.status) || !FINAL_STATUSES.has(next.status) ? stored : next;
  if (FINAL_STATUSES.has(stored.status)) return stored;
  return next;
}
