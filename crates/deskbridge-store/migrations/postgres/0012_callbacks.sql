-- Callbacks (the missed-call loop): a number in a group that missed calls and
-- has not been reached since. The callback itself is the JSON body
-- (deskbridge_core::callback::Callback); the columns are what lists filter by.
-- At most one open callback per number and group: a missed call folds into it.
-- `version` counts writes: an agent's claim or close is written only over the
-- version it was decided on.
CREATE TABLE callbacks (
    id              BIGSERIAL PRIMARY KEY,
    group_name      TEXT NOT NULL,
    phone           TEXT NOT NULL,
    first_missed_at TEXT NOT NULL,
    closed_at       TEXT,
    version         BIGINT NOT NULL,
    last_call_id    TEXT NOT NULL,
    body            TEXT NOT NULL
);
CREATE UNIQUE INDEX callbacks_one_open_per_number ON callbacks (group_name, phone)
    WHERE closed_at IS NULL;
CREATE INDEX callbacks_by_age ON callbacks (group_name, first_missed_at);
