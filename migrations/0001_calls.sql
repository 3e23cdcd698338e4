-- Migration number: 0001 	 calls: one row per Twilio call (docs/storage.md, "D1: calls").
-- Every timestamp is milliseconds since the Unix epoch (UTC). Each group of columns has one writer;
-- every writer upserts by call_sid, so they may arrive in any order and any number of times.

CREATE TABLE calls (
  -- Identity and routing (voice webhook; status callbacks and Retell events fill gaps)
  call_sid TEXT PRIMARY KEY NOT NULL,
  account_sid TEXT,
  agent_key TEXT,
  retell_agent_id TEXT,
  from_number TEXT,
  to_number TEXT,

  -- Voice webhook (POST /api/webhooks/twilio[/:agentId]); outcome/outcome_reason also by dial-complete
  outcome TEXT,
  outcome_reason TEXT,
  retell_call_id TEXT,
  retell_register_ms INTEGER,
  retell_register_attempts INTEGER,
  voice_received_at INTEGER,
  voice_answered_at INTEGER,

  -- <Dial action> (POST /api/webhooks/twilio/dial-complete)
  dial_status TEXT,
  dial_sip_code INTEGER,
  dial_duration_s INTEGER,
  dial_ended_at INTEGER,
  fallback_status TEXT,
  fallback_ended_at INTEGER,

  -- Twilio status callbacks (POST /api/webhooks/twilio/status)
  twilio_status TEXT,
  twilio_sequence INTEGER,
  twilio_status_at INTEGER,
  twilio_answered_at INTEGER,
  twilio_ended_at INTEGER,
  duration_s INTEGER,

  -- Retell webhooks (POST /api/webhooks/retell)
  retell_status TEXT,
  retell_started_at INTEGER,
  retell_ended_at INTEGER,
  retell_duration_ms INTEGER,
  disconnection_reason TEXT,
  call_summary TEXT,
  user_sentiment TEXT,
  call_successful INTEGER CHECK (call_successful IN (0, 1)),
  retell_event_at INTEGER,

  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- Retell events join by call_id; one Retell call belongs to one Twilio call.
CREATE UNIQUE INDEX calls_retell_call_id ON calls (retell_call_id);
-- Listing newest first, stats windows and retention.
CREATE INDEX calls_created_at ON calls (created_at);
-- The `agent` filter matches either the KV key or the Retell agent id.
CREATE INDEX calls_agent_key_created_at ON calls (agent_key, created_at);
CREATE INDEX calls_retell_agent_id_created_at ON calls (retell_agent_id, created_at);
