-- How many of a step's runs were cut off: its worker stopped (a crash, a
-- restart) and another took the step over when the lease ran out. Such a run
-- failed nothing, so it spends none of the step's attempts (deskbridge_core::retry
-- judges `attempts - takeovers`); it has a bound of its own, so that a step whose
-- run stops its instance every time still ends.
ALTER TABLE jobs ADD COLUMN takeovers BIGINT NOT NULL DEFAULT 0;
