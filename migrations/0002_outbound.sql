-- Migration number: 0002 	 outbound calls (docs/storage.md, "D1: calls"): which way a call went, and who answered it.
-- Every call before this migration was inbound, so existing rows read `inbound`.

-- `inbound` (Twilio's voice webhook) or `outbound` (POST /api/calls).
ALTER TABLE calls ADD COLUMN direction TEXT NOT NULL DEFAULT 'inbound';
-- Twilio's AnsweredBy for an outbound call with machine detection: human, machine_start, machine_end_beep,
-- machine_end_silence, machine_end_other, fax or unknown; NULL without detection or when nobody answered.
ALTER TABLE calls ADD COLUMN answered_by TEXT;

-- `GET /api/calls?direction=outbound` lists newest first within a direction.
CREATE INDEX calls_direction_created_at ON calls (direction, created_at);
