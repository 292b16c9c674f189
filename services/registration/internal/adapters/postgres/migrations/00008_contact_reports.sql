-- +goose Up
-- Since round 42 the requirements view also says that a confirmation mail
-- was reported ("this wasn't me") and is under review, not only that an
-- upheld report removed the address: the table keeps the latest report of
-- each enrollment and its state (reported, removed, ended), as of the time
-- e-mail ownership recorded it.
ALTER TABLE contact_removals RENAME TO contact_reports;
ALTER TABLE contact_reports RENAME COLUMN removed_at TO at;
ALTER TABLE contact_reports ADD COLUMN state TEXT NOT NULL DEFAULT 'removed';
ALTER TABLE contact_reports ALTER COLUMN state DROP DEFAULT;

-- +goose Down
DELETE FROM contact_reports WHERE state <> 'removed';
ALTER TABLE contact_reports DROP COLUMN state;
ALTER TABLE contact_reports RENAME COLUMN at TO removed_at;
ALTER TABLE contact_reports RENAME TO contact_removals;
