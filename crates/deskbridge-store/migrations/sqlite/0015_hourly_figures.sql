-- The contact center's figures, kept as calls change (deskbridge_core::stats):
-- one row per hour (UTC, as stored times are written), group, queue and agent,
-- holding the sums of deskbridge_core::stats::Totals. Saving a call adds what
-- its figures changed by (a late event can take counts back out), in the
-- transaction that saves it; GET /api/v1/stats sums the rows of a period.
-- '' in queue: the call came without queue data; in agent: nobody answered.
-- (Empty text rather than NULL, so that the primary key keeps one row per
-- key on both databases.) The key leads with the hour: it serves the range
-- (and, WITHOUT ROWID, the rows are stored in its order).
CREATE TABLE hourly_figures (
    hour             TEXT NOT NULL,
    group_name       TEXT NOT NULL,
    queue            TEXT NOT NULL,
    agent            TEXT NOT NULL,
    offered          INTEGER NOT NULL DEFAULT 0,
    answered         INTEGER NOT NULL DEFAULT 0,
    answered_within  INTEGER NOT NULL DEFAULT 0,
    abandoned        INTEGER NOT NULL DEFAULT 0,
    short_abandoned  INTEGER NOT NULL DEFAULT 0,
    missed           INTEGER NOT NULL DEFAULT 0,
    transferred      INTEGER NOT NULL DEFAULT 0,
    wait_ms          INTEGER NOT NULL DEFAULT 0,
    talk_ms          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, group_name, queue, agent)
) WITHOUT ROWID;
