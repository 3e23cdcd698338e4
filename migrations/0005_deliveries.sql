-- Migration number: 0005 	 deliveries: each call event's delivery to each operator endpoint (docs/storage.md, "D1: deliveries").
-- A row is written pending by the call's line object before the queue message is sent, and updated by the queue
-- consumer on every attempt; `npm run webhooks -- deliveries`, GET /api/deliveries and GET /api/stats read it.
CREATE TABLE deliveries (
  event_id TEXT NOT NULL,          -- the webhook-id (msg_…), one per event
  endpoint_id TEXT NOT NULL,       -- the endpoint's id in KV `webhooks`
  call_sid TEXT NOT NULL,
  sequence INTEGER NOT NULL,       -- the event's place among its call's events
  type TEXT NOT NULL,              -- call.started, …, or retell.<event> (pass-through)
  state TEXT NOT NULL,             -- pending | delivered | failed
  attempts INTEGER NOT NULL DEFAULT 0,
  last_status INTEGER,             -- the endpoint's last HTTP status (NULL: no answer)
  last_error TEXT,                 -- why the last attempt failed (never a secret)
  next_attempt_at INTEGER,         -- when a pending delivery is tried next (ms)
  created_at INTEGER NOT NULL,     -- when the event happened (ms)
  updated_at INTEGER NOT NULL,
  delivered_at INTEGER,
  PRIMARY KEY (event_id, endpoint_id)
);
-- Per call and endpoint in sequence: the consumer holds an event back while an earlier one is pending.
CREATE INDEX deliveries_call ON deliveries (call_sid, endpoint_id, sequence);
CREATE INDEX deliveries_created ON deliveries (created_at);
CREATE INDEX deliveries_state ON deliveries (state, created_at);

-- Event bodies too large for a queue message (128 KB), and the bodies of failed deliveries (for replay),
-- in parts under D1's 2 MB row limit.
CREATE TABLE event_bodies (
  event_id TEXT NOT NULL,
  part INTEGER NOT NULL,
  text TEXT NOT NULL,
  retell_signature TEXT,           -- a Retell body passed through: Retell's own signature
  created_at INTEGER NOT NULL,
  PRIMARY KEY (event_id, part)
);
CREATE INDEX event_bodies_created ON event_bodies (created_at);
