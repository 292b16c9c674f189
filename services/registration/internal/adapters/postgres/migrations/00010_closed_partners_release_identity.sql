-- +goose Up
-- Since round 46 a closed account lets go of its company's identity keys,
-- as a rejected registration always did: the company may register again
-- (a new partner, reviewed from the start). The keys a partner lets go of
-- are kept here, so that a new registration of the same company names its
-- earlier accounts for the reviewers (registration.application.submitted.v1
-- earlier_accounts). Accounts closed before let go of theirs now; keys of
-- registrations rejected before were deleted and are not known.
CREATE TABLE released_identity_keys (
    market      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    partner_id  TEXT NOT NULL,
    status      TEXT NOT NULL,
    released_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (market, kind, value, partner_id)
);
INSERT INTO released_identity_keys (market, kind, value, partner_id, status, released_at)
SELECT k.market, k.kind, k.value, k.partner_id, p.status, p.updated_at
FROM identity_keys k JOIN partners p ON p.id = k.partner_id WHERE p.status = 'closed';
DELETE FROM identity_keys k USING partners p
WHERE p.id = k.partner_id AND p.status = 'closed';

-- +goose Down
-- The keys let go are not claimed back: another partner may hold them now.
DROP TABLE released_identity_keys;
