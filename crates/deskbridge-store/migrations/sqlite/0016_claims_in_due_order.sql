-- The claim's two walks (sql/jobs.rs, `runnable_ids!`): the lane's queued
-- steps in due order, and its running steps whose lease ran out; each stops
-- after the few it needs. With `status` first, the done and failed steps
-- (kept until the calls' retention purges them) are never walked.
-- `jobs_due_by_step` is the same walk for one kind of step: the pop workers'
-- claim, which would otherwise pass every queued step of other kinds.
CREATE INDEX jobs_due ON jobs (status, priority, run_after, id);
CREATE INDEX jobs_due_by_step ON jobs (step, status, priority, run_after, id);
-- What they replace: one gave no order within a lane, the other held only the
-- active steps but could not be walked for the claim's `OR`.
DROP INDEX jobs_ready;
DROP INDEX jobs_active_by_lane;
