-- Chats (POST /api/v1/conversations) are stored as interactions beside calls,
-- so they share the journal, the steps and their sync; the caller log and the
-- call streams show calls only. Derived from the body on every write; rows of
-- an older version are calls.
ALTER TABLE calls ADD COLUMN kind TEXT NOT NULL DEFAULT 'call';
