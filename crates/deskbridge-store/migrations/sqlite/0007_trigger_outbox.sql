-- CRM triggers' durable outbox: one row per notification of one change to one
-- endpoint, written in the same transaction as the change it reports.
-- `message_id` is the Standard Webhooks `webhook-id` (stable across retries);
-- `request` the core's Request as JSON, built once; `status` pending, delivered
-- or failed (a dead letter, kept for an admin to see and replay). One record's
-- notifications to one endpoint (`endpoint`, `order_key`) go out in id order.
CREATE TABLE trigger_outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id   TEXT NOT NULL UNIQUE,
    group_name   TEXT NOT NULL,
    endpoint     TEXT NOT NULL,
    order_key    TEXT NOT NULL,
    request      TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL,          -- unix ms
    last_status  INTEGER,
    last_error   TEXT,
    created_at   TEXT NOT NULL,
    delivered_at TEXT,
    lease_owner  TEXT,
    lease_until  INTEGER                    -- unix ms
);
CREATE INDEX trigger_outbox_pending ON trigger_outbox (endpoint, order_key, id)
    WHERE status = 'pending';
CREATE INDEX trigger_outbox_due ON trigger_outbox (next_at) WHERE status = 'pending';
CREATE INDEX trigger_outbox_by_status ON trigger_outbox (status, id);
