-- The agent's credentials as they were at sign-in (a fingerprint, never the
-- secret): a session whose agent's password or token has changed since is
-- no longer accepted. Sessions from before this column have '' and end.
ALTER TABLE agent_sessions ADD COLUMN credential TEXT NOT NULL DEFAULT '';
