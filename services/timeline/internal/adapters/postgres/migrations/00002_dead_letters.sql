-- +goose Up
-- Other consumers' dead letters of events, once per (consumer service,
-- handler, original event): a redelivered dead letter inserts nothing. The
-- original event's attributes are kept as the dead letter carried them; time
-- is when it was dead-lettered.
CREATE TABLE dead_letters (
    service        TEXT NOT NULL,
    handler        TEXT NOT NULL,
    source         TEXT NOT NULL,
    id             TEXT NOT NULL,
    code           TEXT NOT NULL,
    reason         TEXT NOT NULL DEFAULT '',
    delivered      INTEGER NOT NULL DEFAULT 0,
    type           TEXT NOT NULL,
    subject        TEXT NOT NULL DEFAULT '',
    time           TIMESTAMPTZ NOT NULL,
    partition_key  TEXT NOT NULL DEFAULT '',
    sequence       BIGINT NOT NULL DEFAULT 0 CHECK (sequence >= 0),
    correlationid  TEXT NOT NULL DEFAULT '',
    causationid    TEXT NOT NULL DEFAULT '',
    authtype       TEXT NOT NULL DEFAULT '',
    authid         TEXT NOT NULL DEFAULT '',
    data           JSONB,
    recorded_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (service, handler, source, id)
);

-- The dead letters on each partner's timeline, apart from partner_events so
-- that they never count as the producer's events (sources, gaps). dl is
-- service|handler, the last tie-breaker of the timeline order.
CREATE TABLE partner_dead_letters (
    partner_id TEXT NOT NULL,
    time       TIMESTAMPTZ NOT NULL,
    source     TEXT NOT NULL,
    sequence   BIGINT NOT NULL,
    event_id   TEXT NOT NULL,
    dl         TEXT NOT NULL,
    service    TEXT NOT NULL,
    handler    TEXT NOT NULL,
    type       TEXT NOT NULL,
    PRIMARY KEY (partner_id, source, event_id, dl),
    FOREIGN KEY (service, handler, source, event_id) REFERENCES dead_letters (service, handler, source, id)
);
CREATE INDEX partner_dead_letters_order ON partner_dead_letters (partner_id, time, source, sequence, event_id, dl);

-- +goose Down
DROP TABLE partner_dead_letters;
DROP TABLE dead_letters;
