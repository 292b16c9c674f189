-- +goose Up
-- Standing: when registration last saw the partner act (the inactivity job
-- reads it; requests touch it without rewriting the snapshot), and since
-- when an approved partner is inactive (NULL: not inactive).
ALTER TABLE partners ADD COLUMN last_activity_at TIMESTAMPTZ;
ALTER TABLE partners ADD COLUMN inactive_since TIMESTAMPTZ;
UPDATE partners SET last_activity_at = updated_at;
ALTER TABLE partners ALTER COLUMN last_activity_at SET NOT NULL;
CREATE INDEX partners_inactivity ON partners (last_activity_at)
    WHERE inactive_since IS NULL AND status IN ('active', 'suspended');

-- Confirmed addresses move into the enrollments of the partner aggregate
-- (they gate the enrollment now, seed 002 step 17).
UPDATE partners p SET snapshot = jsonb_set(p.snapshot, '{enrollments}', (
    SELECT jsonb_agg(CASE WHEN c.enrollment_id IS NULL THEN e
                          ELSE e || jsonb_build_object('email_confirmed_at', c.confirmed_at, 'email_address', c.address) END
                     ORDER BY x.ord)
    FROM jsonb_array_elements(p.snapshot -> 'enrollments') WITH ORDINALITY AS x(e, ord)
    LEFT JOIN email_confirmations c ON c.enrollment_id = x.e ->> 'id'))
WHERE EXISTS (SELECT 1 FROM email_confirmations c WHERE c.partner_id = p.id);
DROP TABLE email_confirmations;

-- What verification asks the applicant for, per check (documents, or a
-- domain proof), for the requirements view: verification's
-- documents.requested sets a row, documents.satisfied and the case's
-- decision clear it.
CREATE TABLE documents_due (
    partner_id  TEXT NOT NULL REFERENCES partners (id),
    check_kind  TEXT NOT NULL,
    request     JSONB NOT NULL,
    PRIMARY KEY (partner_id, check_kind)
);

-- +goose Down
DROP TABLE documents_due;
CREATE TABLE email_confirmations (
    enrollment_id TEXT PRIMARY KEY,
    partner_id    TEXT NOT NULL,
    address       TEXT NOT NULL,
    confirmed_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX email_confirmations_partner ON email_confirmations (partner_id);
DROP INDEX partners_inactivity;
ALTER TABLE partners DROP COLUMN inactive_since;
ALTER TABLE partners DROP COLUMN last_activity_at;
