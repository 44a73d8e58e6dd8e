-- One result per Asterisk host of an Apply (several hosts hold the same
-- configuration): name, address, outcome, error, whether it wrote, its phases,
-- reload output and verification. Rows written before hold [].
ALTER TABLE apply_audit_log ADD COLUMN hosts jsonb NOT NULL DEFAULT '[]'::jsonb;
