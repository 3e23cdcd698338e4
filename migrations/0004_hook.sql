-- Migration number: 0004 	 the pre-call hook (docs/pre-call-hook.md, docs/storage.md "D1: calls"): how the operator's
-- server answered (ok, rejected, timeout, error, invalid; NULL when no hook was asked), how long it took, and the
-- Retell agent finally registered (the hook's override_agent_id, else retell_agent_id).
ALTER TABLE calls ADD COLUMN hook_result TEXT;
ALTER TABLE calls ADD COLUMN hook_ms INTEGER;
ALTER TABLE calls ADD COLUMN final_agent_id TEXT;
