-- +goose Up
-- Who caused each change: one row per emitted event that had an actor,
-- written in the change's transaction by the outbox writer.
CREATE TABLE audit_log (
    event_id      TEXT PRIMARY KEY,
    event_type    TEXT NOT NULL,
    subject       TEXT NOT NULL,
    actor_kind    TEXT NOT NULL,
    actor_sub     TEXT NOT NULL,
    actor_roles   TEXT[] NOT NULL DEFAULT '{}',
    actor_partner TEXT NOT NULL DEFAULT '',
    source_ip     TEXT NOT NULL DEFAULT '',
    user_agent    TEXT NOT NULL DEFAULT '',
    request_id    TEXT NOT NULL DEFAULT '',
    at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_subject ON audit_log (subject, at);

-- +goose Down
DROP TABLE audit_log;
