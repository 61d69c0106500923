-- Passkey backups (PROTOCOL §4.1) and device links (§13). Portable SQL, as in the first
-- migration: the same file runs on SQLite and PostgreSQL. Byte columns are BYTEA, which
-- PostgreSQL knows and SQLite stores as the blob it is given.

-- One opaque passkey backup (csw1. text) per identity and WebAuthn credential, beside
-- the one password backup of `backups`.
CREATE TABLE passkey_backups (
    identity      TEXT   NOT NULL,
    -- The credential id the backup is sealed for (1 to 1023 bytes), as in the csw1. text.
    credential_id BYTEA  NOT NULL,
    backup        TEXT   NOT NULL,
    -- Unix seconds: GET /v2/backup lists them by created_at, then credential_id.
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (identity, credential_id)
);

-- Pending device-link offers (csl1. text), each read at most once and kept at most 300 s.
CREATE TABLE links (
    -- 16 bytes, chosen by the new device.
    link_id    BYTEA  NOT NULL PRIMARY KEY,
    -- The identity of the token that stored it; only a token of it may read it.
    identity   TEXT   NOT NULL,
    offer      TEXT   NOT NULL,
    -- Unix seconds; an offer older than 300 s is gone.
    created_at BIGINT NOT NULL
);
CREATE INDEX links_by_identity ON links (identity, created_at);
CREATE INDEX links_by_age ON links (created_at);
