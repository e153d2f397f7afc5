-- The figures' hour rows in stripes: each key (hour, group, queue, agent) may
-- have up to 16 rows, one per `stripe`, and a read sums them. A transaction
-- adds to the stripe of its connection (`pg_backend_pid() % 16`,
-- postgres/dialect.rs `figure_rows!`). With one row per key, every group
-- commit of the same hour and group updated the same rows, so the
-- concurrent commits queued on those rows' locks, each until the one ahead
-- had committed: the upsert was PostgreSQL's slowest statement under load
-- (11-13 ms a commit, BENCHMARKS.md, stop 41).
--
-- A new table rather than a new key on `hourly_figures`: during a rolling
-- upgrade the instances of the last release keep adding to `hourly_figures`
-- (their upsert names its four-column key), and this release reads the sum of
-- both tables, so no call is lost or counted twice whichever instance saved
-- it. A later release, once no instance of the last one runs, moves
-- `hourly_figures` into this table and drops it (ARCHITECTURE.md, "Changing
-- the schema").
CREATE TABLE hourly_figure_stripes (
    hour             TEXT NOT NULL,
    group_name       TEXT NOT NULL,
    queue            TEXT NOT NULL,
    agent            TEXT NOT NULL,
    stripe           SMALLINT NOT NULL,
    offered          BIGINT NOT NULL DEFAULT 0,
    answered         BIGINT NOT NULL DEFAULT 0,
    answered_within  BIGINT NOT NULL DEFAULT 0,
    abandoned        BIGINT NOT NULL DEFAULT 0,
    short_abandoned  BIGINT NOT NULL DEFAULT 0,
    missed           BIGINT NOT NULL DEFAULT 0,
    transferred      BIGINT NOT NULL DEFAULT 0,
    wait_ms          BIGINT NOT NULL DEFAULT 0,
    talk_ms          BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, group_name, queue, agent, stripe)
);
