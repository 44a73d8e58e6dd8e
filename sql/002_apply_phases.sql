-- How long each phase of an Apply took: [{"name": "upload", "duration_us": 1234}, ...]
-- in the order they ran.
ALTER TABLE apply_audit_log ADD COLUMN phases jsonb NOT NULL DEFAULT '[]'::jsonb;
