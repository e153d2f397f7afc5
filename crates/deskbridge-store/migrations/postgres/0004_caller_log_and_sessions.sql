-- The caller log's filters, derived from the call's body on every write: its
-- queue, the agents it is theirs to see (answered or popped, a JSON array of
-- lowercase emails), whether it was missed; and when an agent marked it done.
ALTER TABLE calls ADD COLUMN queue TEXT;
ALTER TABLE calls ADD COLUMN agents TEXT NOT NULL DEFAULT '[]';
ALTER TABLE calls ADD COLUMN missed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE calls ADD COLUMN done_at TEXT;
CREATE INDEX calls_missed ON calls (group_name, missed, first_at DESC);
CREATE INDEX calls_by_first_at ON calls (first_at);

-- Agent page sessions, shared by every instance. The cookie's value is never
-- stored, only its SHA-256, so a copy of the database signs nobody in.
CREATE TABLE agent_sessions (
    id_hash     TEXT PRIMARY KEY,
    agent_email TEXT NOT NULL,
    csrf_token  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_ms  BIGINT NOT NULL
);
CREATE INDEX agent_sessions_expiry ON agent_sessions (expires_ms);
