-- Migration number: 0003 	 transfers: each transfer attempt of a call (docs/storage.md, "D1: calls").
-- A JSON array written by the call's line object (POST /api/webhooks/retell/transfer and
-- POST /api/webhooks/twilio/transfer-complete); NULL for a call never transferred.
ALTER TABLE calls ADD COLUMN transfers TEXT;
