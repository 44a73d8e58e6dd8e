-- Tenants, users, their extensions and the Apply audit log (spec: Key Entities).

CREATE TABLE tenants (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- The MVP is single-tenant (FR-016): an index on a constant admits one row.
CREATE UNIQUE INDEX tenants_single_tenant ON tenants ((true));
INSERT INTO tenants (name) VALUES ('default');

CREATE TABLE users (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    email      text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    metadata   jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_tenant_email_key ON users (tenant_id, lower(email));

-- One extension per user; deleting the user frees the number.
CREATE TABLE extensions (
    number       integer PRIMARY KEY CHECK (number BETWEEN 1000 AND 1999),
    user_id      uuid NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    sip_secret   text NOT NULL CHECK (sip_secret ~ '^[A-Za-z0-9]{22,64}$'),
    allocated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per Apply attempt (FR-013, SC-007), opened before anything is
-- written to the PBX and closed when the attempt ends.
CREATE TABLE apply_audit_log (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    triggered_by  text NOT NULL,
    asterisk_host text NOT NULL,
    outcome       text NOT NULL DEFAULT 'running'
                  CHECK (outcome IN ('running', 'success', 'failure', 'interrupted')),
    error_detail  text NOT NULL DEFAULT '',
    user_count    integer NOT NULL DEFAULT 0,
    content_hash  text NOT NULL DEFAULT '',
    -- [{"path": ..., "sha256": ..., "size_bytes": ...}] of the files written.
    files         jsonb NOT NULL DEFAULT '[]'::jsonb,
    reload_output text NOT NULL DEFAULT '',
    verification  text NOT NULL DEFAULT '',
    duration_ms   bigint,
    CHECK ((outcome = 'running') = (finished_at IS NULL))
);
CREATE INDEX apply_audit_log_started_at ON apply_audit_log (started_at DESC, id DESC);
