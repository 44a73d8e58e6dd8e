-- API keys: who may call the API, with which role. Only the SHA-256 of a token
-- is kept; the token itself is shown once, when the key is created.
CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    role         text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    token_sha256 text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
-- A name belongs to one live key at a time; a revoked key's name may be given again.
CREATE UNIQUE INDEX api_keys_live_name ON api_keys (lower(name)) WHERE revoked_at IS NULL;

-- The Apply audit names the API key that asked for each Apply (its name stays in
-- triggered_by), and keeps the caller's optional free-text note apart from it.
ALTER TABLE apply_audit_log ADD COLUMN triggered_by_key_id uuid;
ALTER TABLE apply_audit_log ADD COLUMN note text NOT NULL DEFAULT '';

-- A finished audit row is evidence: no UPDATE, DELETE or TRUNCATE of it goes
-- through, whoever sends it (a running row is still closed by its Apply, or
-- marked interrupted). Only the table's owner could get past this, by first
-- disabling the trigger: a schema change, which no code of the portal makes.
CREATE FUNCTION apply_audit_log_keep_finished() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('TRUNCATE', 'DELETE') THEN
        RAISE EXCEPTION 'Apply audit rows cannot be deleted' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.outcome <> 'running' THEN
        RAISE EXCEPTION 'finished Apply audit rows cannot be changed' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER apply_audit_log_keep_finished_rows
    BEFORE UPDATE OR DELETE ON apply_audit_log
    FOR EACH ROW EXECUTE FUNCTION apply_audit_log_keep_finished();
CREATE TRIGGER apply_audit_log_no_truncate
    BEFORE TRUNCATE ON apply_audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION apply_audit_log_keep_finished();

-- SIP passwords are kept sealed (AES-256-GCM, see server/store/secret_box.h).
-- Rows written before are sealed by the server when it starts, which empties
-- sip_secret; each row holds exactly one of the two.
ALTER TABLE extensions ALTER COLUMN sip_secret DROP NOT NULL;
ALTER TABLE extensions ADD COLUMN sip_secret_sealed text;
ALTER TABLE extensions ADD CONSTRAINT extensions_one_secret
    CHECK ((sip_secret IS NULL) <> (sip_secret_sealed IS NULL));
