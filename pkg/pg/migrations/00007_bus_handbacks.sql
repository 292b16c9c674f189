-- +goose Up
-- Where each partitioned durable stood when an instance last gave its
-- partition up cleanly (everything it held handled, or handed back with a
-- nak): the durable's last delivery sequence and its creation time. The
-- next owner finds the durable with deliveries pending; when it has
-- delivered nothing since, they are the ones handed back, due again at
-- once, and the owner pulls at once instead of waiting out the ack wait as
-- it must for an instance that died holding them (bus.Router).
CREATE TABLE bus_handbacks (
    durable          TEXT PRIMARY KEY,
    delivered        BIGINT NOT NULL,
    consumer_created BIGINT NOT NULL,
    handed_back_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE bus_handbacks;
