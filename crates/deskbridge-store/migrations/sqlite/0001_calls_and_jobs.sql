-- The journal: every event accepted, once. The primary key is the dedupe.
CREATE TABLE events (
    group_name  TEXT NOT NULL,
    id          TEXT NOT NULL,
    call_id     TEXT NOT NULL,
    received_at TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (group_name, id)
);
CREATE INDEX events_call ON events (group_name, call_id);

-- One row per call: the interaction (JSON) plus the columns we search by.
CREATE TABLE calls (
    group_name     TEXT NOT NULL,
    call_id        TEXT NOT NULL,
    customer_phone TEXT,
    state          TEXT NOT NULL,
    first_at       TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    body           TEXT NOT NULL,
    PRIMARY KEY (group_name, call_id)
);
CREATE INDEX calls_by_phone ON calls (group_name, customer_phone, first_at DESC);
CREATE INDEX calls_by_time ON calls (group_name, first_at DESC);

-- Durable steps. A call has at most one step queued or running at a time; the next
-- is derived from the call when that one finishes.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    group_name  TEXT NOT NULL,
    call_id     TEXT NOT NULL,
    step        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_after   INTEGER NOT NULL,          -- unix ms
    lease_owner TEXT,
    lease_until INTEGER,                   -- unix ms
    last_error  TEXT,
    outcome     TEXT,
    created_at  TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX jobs_ready ON jobs (status, run_after);
CREATE INDEX jobs_by_call ON jobs (group_name, call_id, id);
CREATE UNIQUE INDEX jobs_one_active_per_call ON jobs (group_name, call_id)
    WHERE status IN ('queued', 'running');

-- Instances sharing this database (with SQLite: this process only).
CREATE TABLE instances (
    id           TEXT PRIMARY KEY,
    hostname     TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    version      TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    heartbeat_ms INTEGER NOT NULL
);
