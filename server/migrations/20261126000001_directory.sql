-- The key directory (PROTOCOL §7). Portable SQL: the same file runs on SQLite and
-- PostgreSQL. Booleans are BIGINT 0/1 and times are unix seconds, for that reason.

-- Every card ever published, per identity in publication order (seq 1, 2, ...).
CREATE TABLE cards (
    identity     TEXT   NOT NULL,
    seq          BIGINT NOT NULL,
    card_id      TEXT   NOT NULL,
    card         TEXT   NOT NULL,
    published_at BIGINT NOT NULL,
    -- 1 when published with ?replace=true over a current card it does not chain to.
    replaced     BIGINT NOT NULL DEFAULT 0,
    -- Set when the identity revoked this card with DELETE /v1/cards.
    revoked_at   BIGINT,
    -- 1 for the card lookups answer with; at most one per identity.
    is_current   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (identity, seq)
);
CREATE UNIQUE INDEX cards_by_id ON cards (card_id);
CREATE UNIQUE INDEX cards_one_current ON cards (identity) WHERE is_current = 1;

-- One opaque key backup (csb1. text) per identity.
CREATE TABLE backups (
    identity   TEXT   NOT NULL PRIMARY KEY,
    backup     TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);
