/**
 * Answering-machine detection for outbound calls: what Twilio is asked for, and what an answered call gets.
 * Twilio's AMD (https://www.twilio.com/docs/voice/answering-machine-detection): `Enable` reports as soon as it
 * knows (`machine_start`); `DetectMessageEnd` waits for the end of the greeting (`machine_end_*`), so a message
 * spoken then is recorded. Without AsyncAmd the result comes with the call's `Url` request as `AnsweredBy`.
 * Here, below the outbound room, because the line plans the callee's answer (line/outbound.ts); POST /api/calls
 * checks the choice (outbound/request.ts, shared with the CLI) and asks Twilio for it (outbound/place.ts).
 */
/** What happens when a machine answers: hang up, leave `voicemailMessage`, or let the agent talk to it. */
export const MACHINE_DETECTIONS = ["off", "hangup", "message"] as const;
export type MachineDetection = (typeof MACHINE_DETECTIONS)[number];

/** AnsweredBy values that mean nobody is there to talk to (`human` and `unknown` are given to the agent). */
export const MACHINE_ANSWERS = ["machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"] as const;

/** Twilio's MachineDetection value for a choice; none for `off`. */
export function twilioMachineDetection(detection: MachineDetection): "Enable" | "DetectMessageEnd" | undefined {
  if (detection === "hangup") return "Enable";
  if (detection === "message") return "DetectMessageEnd";
  return undefined;
}

export function isMachine(answeredBy: string | undefined): boolean {
  return answeredBy !== undefined && (MACHINE_ANSWERS as readonly string[]).includes(answeredBy);
}

/** What an answered outbound call gets: the agent, or (a machine answered and detection says so) a hang-up or the message. */
export type AnsweredPlan = { kind: "agent" } | { kind: "hangup" } | { kind: "message"; message: string };

export function planAnswer(detection: MachineDetection, answeredBy: string | undefined, voicemailMessage: string | undefined): AnsweredPlan {
  if (detection === "off" || !isMachine(answeredBy)) return { kind: "agent" };
  if (detection === "message" && voicemailMessage !== undefined) return { kind: "message", message: voicemailMessage };
  return { kind: "hangup" };
}
