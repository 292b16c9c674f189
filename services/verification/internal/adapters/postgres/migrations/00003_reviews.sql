-- +goose Up
-- Reviews that belong to no case (duplicate claims, e-mail disputes): the
-- aggregate as JSONB plus the columns the verifiers' queue filters on. ref
-- is the claim or challenge id: one review per claim and per challenge.
CREATE TABLE reviews (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    ref         TEXT NOT NULL,
    partner_id  TEXT NOT NULL,
    market      TEXT NOT NULL,
    status      TEXT NOT NULL,
    due_at      TIMESTAMPTZ NOT NULL,
    claimed_by  TEXT NOT NULL DEFAULT '',
    lease_until TIMESTAMPTZ,
    doc         JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT reviews_kind_ref_key UNIQUE (kind, ref)
);
CREATE INDEX reviews_queue ON reviews (due_at) WHERE status = 'open';

-- +goose Down
DROP TABLE reviews;
