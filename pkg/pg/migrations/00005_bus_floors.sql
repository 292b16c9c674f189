-- +goose Up
-- The ack floor of each of the service's durables (the stream sequence
-- below which it has acknowledged everything), copied every few seconds:
-- JetStream keeps the durables in memory, and the router creates one the
-- servers lost again from its floor + 1 (bus.Router; the inbox makes what
-- is delivered again a no-op). stream_created (Unix nanoseconds) tells a
-- stream created anew, whose durables start from its beginning.
CREATE TABLE bus_floors (
    durable        TEXT PRIMARY KEY,
    stream         TEXT NOT NULL,
    stream_created BIGINT NOT NULL,
    floor          BIGINT NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE bus_floors;
