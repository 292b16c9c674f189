-- +goose Up
-- Since round 47 a relationship that a side's closure ended gives as its
-- end reason only that the account was closed. Both sides read the reason
-- (relationships.relationship.ended.v1, the answer to ending it again);
-- before, it carried the closure's reason code and the operator's note,
-- which are staff's and the closed side's business. Relationships ended so
-- before are cut back to the sentence (the events published then keep it).
UPDATE relationships
SET doc = jsonb_set(doc, '{end_reason}', to_jsonb('the ' || (doc->>'ended_by') || '''s partner account was closed')),
    version = version + 1,
    updated_at = now()
WHERE state = 'ended'
  AND (doc->>'end_reason' LIKE 'the ' || (doc->>'ended_by') || '''s partner account was closed (%'
    OR doc->>'end_reason' LIKE 'the ' || (doc->>'ended_by') || '''s partner account was closed: %');

-- +goose Down
-- The words cut are not kept: nothing to restore.
SELECT 1;
