-- A job's lane (deskbridge-core's WorkLane): 0 for live calls, 1 for calls
-- imported by `deskbridge backfill`. Live workers claim priority 0 only, the
-- import's workers priority 1 only, so a history import never makes a live
-- call wait. Existing rows, and rows an older instance inserts during a rolling
-- upgrade, are live.
ALTER TABLE jobs ADD COLUMN priority BIGINT NOT NULL DEFAULT 0;
-- The claims' lookup within a lane, over the few active jobs only (a partial
-- index, so building it reads the table once but stores little).
CREATE INDEX jobs_active_by_lane ON jobs (priority, run_after)
    WHERE status IN ('queued', 'running');
