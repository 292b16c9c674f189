-- +goose Up
-- Published agreement versions. Terms are written once; only retirement and
-- the fan-out flag change afterwards.
CREATE TABLE versions (
    id                     TEXT PRIMARY KEY,
    program                TEXT NOT NULL,
    name                   TEXT NOT NULL,
    languages              TEXT[] NOT NULL,
    markets                TEXT[] NOT NULL DEFAULT '{}',
    effective_from         TIMESTAMPTZ NOT NULL,
    text_url               TEXT NOT NULL,
    text_sha256            TEXT NOT NULL CHECK (text_sha256 ~ '^[0-9a-f]{64}$'),
    policy                 TEXT NOT NULL CHECK (policy IN ('auto_effective', 'requires_reacceptance')),
    reacceptance_window_ns BIGINT NOT NULL DEFAULT 0,
    published_at           TIMESTAMPTZ NOT NULL,
    published_by           TEXT NOT NULL,
    retired_at             TIMESTAMPTZ,
    retired_by             TEXT NOT NULL DEFAULT '',
    fan_out_pending        BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX versions_program ON versions (program);
CREATE INDEX versions_fan_out_pending ON versions (id) WHERE fan_out_pending;

-- The partner projection (registration + verification events). It is
-- rebuildable from the streams, so the state is a JSONB document beside the
-- columns that are looked up.
CREATE TABLE partners (
    partner_id  TEXT PRIMARY KEY,
    location_id TEXT UNIQUE,
    doc         JSONB NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Acceptance records: evidence, append-only. The runtime role may INSERT
-- and SELECT only (revoked below); a trigger refuses changes even to the
-- owner. One successor per record and one root per key (the unique index)
-- make the current record of a key unique under concurrency.
CREATE TABLE acceptances (
    id                       TEXT PRIMARY KEY,
    partner_id               TEXT NOT NULL,
    location_id              TEXT NOT NULL,
    enrollment_id            TEXT NOT NULL DEFAULT '',
    program                  TEXT NOT NULL,
    market                   TEXT NOT NULL,
    version_id               TEXT NOT NULL REFERENCES versions (id),
    text_sha256              TEXT NOT NULL,
    acceptor_user_id         TEXT NOT NULL,
    acceptor_name            TEXT NOT NULL DEFAULT '',
    acceptor_email           TEXT NOT NULL DEFAULT '',
    acceptor_role            TEXT NOT NULL,
    accepted_at              TIMESTAMPTZ NOT NULL,
    client_accepted_at       TIMESTAMPTZ,
    effective_at             TIMESTAMPTZ NOT NULL,
    client_ip                TEXT NOT NULL DEFAULT '',
    user_agent               TEXT NOT NULL DEFAULT '',
    request_id               TEXT NOT NULL DEFAULT '',
    verification_decision_id TEXT NOT NULL DEFAULT '',
    supersedes_id            TEXT REFERENCES acceptances (id),
    channel                  TEXT NOT NULL,
    recorded_at              TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX acceptances_one_current
    ON acceptances (location_id, program, market, COALESCE(supersedes_id, ''));
CREATE INDEX acceptances_partner ON acceptances (partner_id, accepted_at);
CREATE INDEX acceptances_program ON acceptances (program);

-- Revoke from every role the owner granted to (the runtime role through
-- ALTER DEFAULT PRIVILEGES), whatever it is named in this deployment.
-- +goose StatementBegin
DO $$
DECLARE
    r RECORD;
BEGIN
    FOR r IN
        SELECT DISTINCT a.grantee
        FROM pg_class c, aclexplode(c.relacl) a
        WHERE c.oid = 'acceptances'::regclass AND a.grantee <> c.relowner AND a.grantee <> 0
    LOOP
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON acceptances FROM %I', r.grantee::regrole::text);
    END LOOP;
    EXECUTE 'REVOKE UPDATE, DELETE, TRUNCATE ON acceptances FROM PUBLIC';
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION acceptances_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'acceptance records are append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
-- +goose StatementEnd
CREATE TRIGGER acceptances_no_update BEFORE UPDATE OR DELETE ON acceptances
    FOR EACH ROW EXECUTE FUNCTION acceptances_append_only();
CREATE TRIGGER acceptances_no_truncate BEFORE TRUNCATE ON acceptances
    FOR EACH STATEMENT EXECUTE FUNCTION acceptances_append_only();

-- Re-acceptance requirements: one per key and required version.
CREATE TABLE requirements (
    id                    TEXT PRIMARY KEY,
    partner_id            TEXT NOT NULL,
    location_id           TEXT NOT NULL,
    program               TEXT NOT NULL,
    market                TEXT NOT NULL,
    version_id            TEXT NOT NULL REFERENCES versions (id),
    current_acceptance_id TEXT NOT NULL,
    due_by                TIMESTAMPTZ NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL,
    status                TEXT NOT NULL CHECK (status IN ('open', 'satisfied', 'cancelled')),
    overdue_at            TIMESTAMPTZ,
    satisfied_by          TEXT NOT NULL DEFAULT '',
    closed_at             TIMESTAMPTZ,
    UNIQUE (location_id, program, market, version_id)
);
CREATE INDEX requirements_open_due ON requirements (due_by) WHERE status = 'open' AND overdue_at IS NULL;
CREATE INDEX requirements_version ON requirements (version_id) WHERE status = 'open';

-- +goose Down
DROP TABLE requirements;
DROP TABLE acceptances;
DROP FUNCTION acceptances_append_only();
DROP TABLE partners;
DROP TABLE versions;
