-- The change audit: one row per change to a user (create, batch create,
-- update, delete, SIP password rotation) and per read of SIP credentials,
-- written in the transaction of the change. user_id has no foreign key: the
-- record of a user outlives the user.
CREATE TABLE user_change_events (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at    timestamptz NOT NULL DEFAULT now(),
    actor_key_id   text NOT NULL,
    actor_key_name text NOT NULL,
    request_id     text NOT NULL,
    action         text NOT NULL CHECK (action IN ('user.create', 'user.batch_create', 'user.update',
                                                   'user.delete', 'user.sip_credentials.rotate',
                                                   'user.sip_credentials.read')),
    user_id        uuid NOT NULL,
    extension      integer NOT NULL,
    -- [{"field": "email", "old": "a@example.com", "new": "b@example.com"}, ...];
    -- a SIP password is named ("sip_password"), never recorded.
    changes        jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(changes) = 'array')
);
CREATE INDEX user_change_events_by_user ON user_change_events (user_id, id DESC);

-- Evidence, like a finished Apply audit row: never changed or deleted.
CREATE FUNCTION user_change_events_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'change audit events cannot be changed or deleted'
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER user_change_events_keep_rows
    BEFORE UPDATE OR DELETE ON user_change_events
    FOR EACH ROW EXECUTE FUNCTION user_change_events_keep();
CREATE TRIGGER user_change_events_no_truncate
    BEFORE TRUNCATE ON user_change_events
    FOR EACH STATEMENT EXECUTE FUNCTION user_change_events_keep();

-- Request ids of creates (AIP-155): a retry with the same id and the same
-- request, by the same API key, is answered with the users the first one
-- created. The row is claimed before the create, in its transaction, so
-- concurrent requests with one id wait for the first and then read its answer.
CREATE TABLE create_requests (
    request_id  uuid PRIMARY KEY,
    -- The API key that made the request: only it gets the answer again.
    actor_key_id text NOT NULL,
    method      text NOT NULL,
    fingerprint text NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
    -- The users created, in request order.
    user_ids    uuid[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX create_requests_created_at ON create_requests (created_at);
