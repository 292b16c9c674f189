-- +goose Up
-- Every mail a partner must act on, not only the verification mail: a
-- delivery is now one mail (id = challenge id, or the triggering event's
-- id) of a template of the catalog, with its data (no secret), its
-- category and, while it waits for the partner's contact, no recipient.
ALTER TABLE deliveries
    ADD COLUMN category     TEXT NOT NULL DEFAULT 'transactional' CHECK (category IN ('transactional', 'reminder')),
    ADD COLUMN data         JSONB NOT NULL DEFAULT '{}',
    ADD COLUMN trigger_type TEXT NOT NULL DEFAULT '',
    ADD COLUMN challenge_id TEXT NOT NULL DEFAULT '',
    ADD COLUMN secret_ref   TEXT NOT NULL DEFAULT '',
    ALTER COLUMN expires_at DROP NOT NULL,
    DROP CONSTRAINT deliveries_status_check,
    ADD CONSTRAINT deliveries_status_check CHECK (status IN ('pending', 'sending', 'delivered', 'failed', 'suppressed'));
UPDATE deliveries SET challenge_id = id, secret_ref = id, trigger_type = 'com.partnerhub.email.verification_mail.requested.v1';
UPDATE deliveries SET fail_reason = 'expired' WHERE fail_reason = 'challenge_expired';
CREATE INDEX deliveries_by_partner ON deliveries (partner_id, created_at DESC);
CREATE INDEX deliveries_waiting_for_contact ON deliveries (partner_id) WHERE status = 'pending' AND recipient = '';

-- The SMTP reply code of a failed attempt (0: none).
ALTER TABLE delivery_attempts ADD COLUMN smtp_code INT NOT NULL DEFAULT 0;

-- The notifier's projection of registration.application.submitted: where
-- a partner's mail goes and how to address it. Nothing else.
CREATE TABLE contacts (
    partner_id   TEXT PRIMARY KEY,
    email        TEXT NOT NULL,
    first_name   TEXT NOT NULL,
    last_name    TEXT NOT NULL,
    language     TEXT NOT NULL,
    market       TEXT NOT NULL,
    company_name TEXT NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A partner's choice about reminders (transactional mails are not
-- affected). No row: reminders on.
CREATE TABLE reminder_preferences (
    partner_id    TEXT PRIMARY KEY,
    reminders_off BOOLEAN NOT NULL,
    changed_at    TIMESTAMPTZ NOT NULL
);

-- Sealed secrets kept for a later mail (an invitation link for its
-- reminder), sealed to the notifier's key, until they expire.
CREATE TABLE sealed_secrets (
    ref        TEXT PRIMARY KEY,
    sealed     BYTEA NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE sealed_secrets;
DROP TABLE reminder_preferences;
DROP TABLE contacts;
ALTER TABLE delivery_attempts DROP COLUMN smtp_code;
DROP INDEX deliveries_waiting_for_contact;
DROP INDEX deliveries_by_partner;
DELETE FROM deliveries WHERE challenge_id = '' OR status = 'suppressed';
UPDATE deliveries SET fail_reason = 'challenge_expired' WHERE fail_reason = 'expired';
ALTER TABLE deliveries
    DROP CONSTRAINT deliveries_status_check,
    ADD CONSTRAINT deliveries_status_check CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
    ALTER COLUMN expires_at SET NOT NULL,
    DROP COLUMN secret_ref, DROP COLUMN challenge_id, DROP COLUMN trigger_type, DROP COLUMN data, DROP COLUMN category;
