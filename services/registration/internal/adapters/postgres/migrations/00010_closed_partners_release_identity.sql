-- +goose Up
-- Since round 46 a closed account lets go of its company's identity keys,
-- as a rejected registration always did: the company may register again
-- (a new partner, reviewed from the start). Accounts closed before keep
-- none either.
DELETE FROM identity_keys k USING partners p
WHERE p.id = k.partner_id AND p.status = 'closed';

-- +goose Down
-- The keys let go are not claimed back: another partner may hold them now.
SELECT 1;
