-- Migration number: 0006 	 busy lines and unwanted callers (docs/busy-lines.md, docs/storage.md "D1: calls").
-- stir_verstat: Twilio's SHAKEN/STIR result as it came on the voice webhook (NULL when it sent none).
-- announced: 1 when the caller heard the agent's consent notice before the AI leg (NULL on older rows: not announced).
-- queued_at, held_ms: when the caller was put on hold and how long they held (NULL when never held).
-- concurrent_calls: the line's calls connected to an AI leg, this one included, when it took its place.
ALTER TABLE calls ADD COLUMN stir_verstat TEXT;
ALTER TABLE calls ADD COLUMN announced INTEGER;
ALTER TABLE calls ADD COLUMN queued_at INTEGER;
ALTER TABLE calls ADD COLUMN held_ms INTEGER;
ALTER TABLE calls ADD COLUMN concurrent_calls INTEGER;
-- voicemail: JSON {recordingSid, url, durationS, status, reportedAt} of the message the caller left (NULL: none).
ALTER TABLE calls ADD COLUMN voicemail TEXT;
