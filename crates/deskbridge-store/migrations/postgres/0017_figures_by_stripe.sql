-- The figures' hour rows, striped: each key (hour, group, queue, agent) may
-- have up to 16 rows, one per `stripe`, and a read sums them. A transaction
-- adds to the stripe of its connection (`pg_backend_pid() % 16`,
-- postgres/dialect.rs `figure_rows!`). With one row per key, every group
-- commit of the same hour and group updated the same rows, so the
-- concurrent commits queued on those rows' locks, each until the one ahead
-- had committed: the upsert was PostgreSQL's slowest statement under load
-- (11-13 ms a commit, BENCHMARKS.md, stop 41). Existing rows become stripe 0.
ALTER TABLE hourly_figures ADD COLUMN stripe SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE hourly_figures DROP CONSTRAINT hourly_figures_pkey;
ALTER TABLE hourly_figures ADD PRIMARY KEY (hour, group_name, queue, agent, stripe);
