-- The background drift check per Asterisk host (PBX_ASTERISK_HOSTS): one
-- element per host, in configuration order, with what the row's own columns
-- hold for the check as a whole: [{"name": "a", "address": "ssh://...",
-- "in_sync": true, "finding_counts": {"FILE_CHANGED": 0, ...}, "error": ""}].
-- in_sync is null for a host that could not be read. A check stored before
-- this holds [].
ALTER TABLE drift_check ADD COLUMN hosts jsonb NOT NULL DEFAULT '[]'::jsonb;
