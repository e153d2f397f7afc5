-- Requests counted under an upstream's endpoint limits (Zendesk: 30 updates per
-- ticket per 10 minutes, 100 ticket updates per account a minute, ...), shared
-- by the instances of one database so that together they keep under each limit.
-- One row per counted request: `count_key` names the count (`ticket_update:42`),
-- `expires_ms` is when it leaves its window (unix ms). Rows past their window
-- are deleted by the next admission on the account.
CREATE TABLE upstream_sends (
    account    TEXT NOT NULL,
    count_key  TEXT NOT NULL,
    sent_ms    BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX upstream_sends_by_count ON upstream_sends (account, count_key, sent_ms);
CREATE INDEX upstream_sends_by_expiry ON upstream_sends (account, expires_ms);
