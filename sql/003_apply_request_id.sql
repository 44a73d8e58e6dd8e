-- The request id (x-request-id) of the call that asked for each Apply, so an
-- audit row leads to the gateway's and the server's log lines of that request.
-- NULL for rows written before it was recorded.
ALTER TABLE apply_audit_log ADD COLUMN request_id text;
