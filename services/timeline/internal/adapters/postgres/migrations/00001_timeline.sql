-- +goose Up
-- Every CloudEvent the timeline consumed, once per (source, id): a
-- redelivery or a replay of the same event inserts nothing.
CREATE TABLE events (
    source         TEXT NOT NULL,
    id             TEXT NOT NULL,
    type           TEXT NOT NULL,
    subject        TEXT NOT NULL DEFAULT '',
    time           TIMESTAMPTZ NOT NULL,
    -- The producer's partition (= subject in this system) and its gap-free
    -- sequence within it; 0 when the producer gave none.
    partition_key  TEXT NOT NULL DEFAULT '',
    sequence       BIGINT NOT NULL DEFAULT 0 CHECK (sequence >= 0),
    correlationid  TEXT NOT NULL DEFAULT '',
    causationid    TEXT NOT NULL DEFAULT '',
    authtype       TEXT NOT NULL DEFAULT '',
    authid         TEXT NOT NULL DEFAULT '',
    data           JSONB,
    recorded_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (source, id)
);
-- The gaps of a partner's partition at each source.
CREATE INDEX events_partition ON events (partition_key, source, sequence) WHERE sequence > 0;

-- The timelines: one row per (partner, event) the event concerns (its
-- subject and the partners its data names, e.g. both sides of a
-- relationship). The ordering columns are copied so that a page is one
-- index range scan.
CREATE TABLE partner_events (
    partner_id TEXT NOT NULL,
    time       TIMESTAMPTZ NOT NULL,
    source     TEXT NOT NULL,
    sequence   BIGINT NOT NULL,
    event_id   TEXT NOT NULL,
    type       TEXT NOT NULL,
    PRIMARY KEY (partner_id, source, event_id),
    FOREIGN KEY (source, event_id) REFERENCES events (source, id)
);
CREATE INDEX partner_events_order ON partner_events (partner_id, time, source, sequence, event_id);

-- +goose Down
DROP TABLE partner_events;
DROP TABLE events;
