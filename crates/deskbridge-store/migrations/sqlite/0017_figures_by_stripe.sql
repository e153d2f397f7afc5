-- The figures' hour rows, striped as on PostgreSQL (see its 0017): the key
-- gains `stripe`, and a read sums a key's stripes. SQLite has one writer,
-- so it adds to stripe 0 only; the column keeps one schema and one
-- statement text for both databases. SQLite cannot change a primary key in
-- place: the table is made anew and its rows copied.
CREATE TABLE hourly_figures_striped (
    hour             TEXT NOT NULL,
    group_name       TEXT NOT NULL,
    queue            TEXT NOT NULL,
    agent            TEXT NOT NULL,
    stripe           INTEGER NOT NULL DEFAULT 0,
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
INSERT INTO hourly_figures_striped (hour, group_name, queue, agent, offered, answered,
    answered_within, abandoned, short_abandoned, missed, transferred, wait_ms, talk_ms)
SELECT hour, group_name, queue, agent, offered, answered, answered_within, abandoned,
    short_abandoned, missed, transferred, wait_ms, talk_ms
FROM hourly_figures;
DROP TABLE hourly_figures;
ALTER TABLE hourly_figures_striped RENAME TO hourly_figures;
