-- +goose Up
-- The partner's contact as the latest contact change registration applied
-- named it, with the partner sequence of that event: an enrollment added
-- before the change, and heard of after it (another durable), opens its
-- challenge on this address, not on the one its own event carried.
CREATE TABLE partner_contacts (
    partner_id     TEXT PRIMARY KEY,
    sequence       BIGINT NOT NULL,
    change_number  INT NOT NULL,
    address        TEXT NOT NULL,
    contact_name   TEXT NOT NULL,
    language       TEXT NOT NULL,
    market         TEXT NOT NULL
);

-- +goose Down
DROP TABLE partner_contacts;
