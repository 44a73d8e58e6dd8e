-- Whether an Apply wrote and reloaded anything (a no-op Apply finds the host
-- already holding what it would write, and leaves it alone), and whether the
-- caller forced the rewrite. Rows written before this always wrote.
ALTER TABLE apply_audit_log ADD COLUMN changed boolean NOT NULL DEFAULT true;
ALTER TABLE apply_audit_log ADD COLUMN forced boolean NOT NULL DEFAULT false;

-- The newest background drift check, one row for all server processes: a
-- process claims the next check by moving claimed_at (so one process checks
-- per interval however many run), and every process reports what the row
-- holds in its gauges.
CREATE TABLE drift_check (
    id             integer PRIMARY KEY CHECK (id = 1),
    claimed_at     timestamptz,
    claimed_by     text NOT NULL DEFAULT '',
    checked_at     timestamptz,
    checked_by     text NOT NULL DEFAULT '',
    -- NULL when the check could not run (error says why).
    in_sync        boolean,
    finding_counts jsonb NOT NULL DEFAULT '{}'::jsonb,
    error          text NOT NULL DEFAULT ''
);
INSERT INTO drift_check (id) VALUES (1);
