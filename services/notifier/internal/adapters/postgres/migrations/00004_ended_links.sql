-- +goose Up
-- A challenge that ended (withdrawn, cancelled, locked) before the request
-- for its confirmation mail reached the notifier: the two events travel on
-- different durables, so the end can come first. The request, when it
-- comes, is recorded as failed (expired) with why, and never sent. One row
-- per such challenge, written only when no mail was recorded for it yet.
CREATE TABLE ended_links (
    challenge_id TEXT PRIMARY KEY,
    why          TEXT NOT NULL,
    ended_at     TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE ended_links;
