-- A local mirror of a Zendesk account, per backend (issue 15): its users with
-- their phones (E.164, normalized by deskbridge) and its tickets that are not
-- closed, kept current from Zendesk's incremental exports. The mirror answers
-- caller identification and ticket lookups without a search or a GET while it
-- is current; `mirror_state` says whether it is (`loaded_ms`, `synced_ms`),
-- where each export goes on (its cursor) and which instance polls (a lease).
CREATE TABLE mirror_users (
    backend     TEXT NOT NULL,
    id          BIGINT NOT NULL,
    name        TEXT NOT NULL,
    email       TEXT,
    external_id TEXT,
    is_agent    BOOLEAN NOT NULL,
    shared_phone BOOLEAN NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (backend, id)
);
CREATE TABLE mirror_user_phones (
    backend TEXT NOT NULL,
    phone   TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    PRIMARY KEY (backend, phone, user_id)
);
CREATE INDEX mirror_user_phones_by_user ON mirror_user_phones (backend, user_id);
CREATE TABLE mirror_tickets (
    backend      TEXT NOT NULL,
    id           BIGINT NOT NULL,
    requester_id BIGINT,
    assignee_id  BIGINT,
    status       TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    -- The ticket's external id: deskbridge's create key on the tickets it made.
    external_id  TEXT,
    PRIMARY KEY (backend, id)
);
CREATE INDEX mirror_tickets_by_requester ON mirror_tickets (backend, requester_id);
CREATE TABLE mirror_state (
    backend        TEXT PRIMARY KEY,
    users_cursor   TEXT,
    tickets_cursor TEXT,
    users_done     BOOLEAN NOT NULL,
    tickets_done   BOOLEAN NOT NULL,
    loaded_ms      BIGINT,
    synced_ms      BIGINT,
    lease_owner    TEXT,
    lease_until_ms BIGINT NOT NULL
);
