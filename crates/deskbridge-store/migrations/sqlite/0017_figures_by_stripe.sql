-- The figures' hour rows in stripes, as on PostgreSQL (see its 0017): a read
-- sums a key's stripes and the rows `hourly_figures` kept before. SQLite has
-- one writer, so it adds to stripe 0 only; the table keeps one schema and
-- one statement text for both databases.
CREATE TABLE hourly_figure_stripes (
    hour             TEXT NOT NULL,
    group_name       TEXT NOT NULL,
    queue            TEXT NOT NULL,
    agent            TEXT NOT NULL,
    stripe           INTEGER NOT NULL,
    offered          INTEGER NOT NULL DEFAULT 0,
    answered         INTEGER NOT NULL DEFAULT 0,
    answered_within  INTEGER NOT NULL DEFAULT 0,
    abandoned        INTEGER NOT NULL DEFAULT 0,
    short_abandoned  INTEGER NOT NULL DEFAULT 0,
    missed           INTEGER NOT NULL DEFAULT 0,
    transferred      INTEGER NOT NULL DEFAULT 0,
    wait_ms          INTEGER NOT NULL DEFAULT 0,
    talk_ms          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, group_name, queue, agent, stripe)
) WITHOUT ROWID;
