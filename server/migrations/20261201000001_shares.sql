-- The group-session share mailbox (PROTOCOL §7 `/v1/shares`, §9). Portable SQL, as in
-- the first migration: the same file runs on SQLite and PostgreSQL.

-- One share: a csm1. message with one stanza, stored opaquely for its one recipient.
CREATE TABLE shares (
    -- Handed out from share_ids below, in commit order, never reused: the `after`
    -- cursor of GET /v1/shares. (Not AUTOINCREMENT/BIGSERIAL: neither is portable,
    -- and a sequence may make a later id visible before an earlier one.)
    id         BIGINT NOT NULL PRIMARY KEY,
    recipient  TEXT   NOT NULL,
    -- The identity of the token that stored it.
    sender     TEXT   NOT NULL,
    -- 32 lowercase hex digits, as the sender labelled it (the server cannot read it).
    session_id TEXT   NOT NULL,
    share      TEXT   NOT NULL,
    -- Lowercase hex SHA-256 of `share`: the same share for the same recipient is
    -- stored once, so a retried POST stores nothing new.
    share_hash TEXT   NOT NULL,
    -- Unix seconds; --share-retention-days deletes by it.
    created_at BIGINT NOT NULL
);
CREATE INDEX shares_by_session ON shares (recipient, session_id, id);
CREATE INDEX shares_by_cursor ON shares (recipient, id);
CREATE UNIQUE INDEX shares_once ON shares (recipient, share_hash);
CREATE INDEX shares_by_age ON shares (created_at);

-- The last share id handed out (one row). A POST takes its ids with one UPDATE of this
-- row, which also makes concurrent POSTs (several servers on PostgreSQL) commit one
-- after the other, so no reader can see id n+1 before id n.
CREATE TABLE share_ids (
    last_id BIGINT NOT NULL
);
INSERT INTO share_ids (last_id) VALUES (0);
