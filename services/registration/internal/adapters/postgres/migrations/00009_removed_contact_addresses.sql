-- +goose Up
-- Since round 43 a profile change back to a contact address an upheld
-- "this wasn't me" report removed from the partner is refused
-- (email.removed_after_report). contact_reports keeps only each
-- enrollment's latest report, which may be of a later address: every
-- removal is kept here for good, in lower case.
CREATE TABLE removed_contact_addresses (
    partner_id    TEXT NOT NULL,
    address       TEXT NOT NULL,
    enrollment_id TEXT NOT NULL,
    challenge_id  TEXT NOT NULL,
    removed_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (partner_id, address)
);
INSERT INTO removed_contact_addresses (partner_id, address, enrollment_id, challenge_id, removed_at)
SELECT partner_id, lower(address), enrollment_id, challenge_id, at FROM contact_reports
WHERE state = 'removed' AND address <> ''
ON CONFLICT (partner_id, address) DO NOTHING;

-- +goose Down
DROP TABLE removed_contact_addresses;
