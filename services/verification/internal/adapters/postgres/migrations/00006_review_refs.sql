-- +goose Up
-- One review of a "this wasn't me" dispute per address: a second report of
-- the address (the partner's other enrollment) joins the open review. refs
-- are every claim or challenge a review decides (ref, its key when it
-- opened, among them): a withdrawal or a replay finds the review by any.
ALTER TABLE reviews ADD COLUMN refs TEXT[] NOT NULL DEFAULT '{}';
UPDATE reviews SET refs = ARRAY[ref];
CREATE INDEX reviews_refs ON reviews USING GIN (refs);
CREATE INDEX reviews_open_by_partner ON reviews (partner_id) WHERE status = 'open';

-- +goose Down
DROP INDEX reviews_open_by_partner;
DROP INDEX reviews_refs;
ALTER TABLE reviews DROP COLUMN refs;
