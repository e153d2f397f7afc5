CREATE TABLE organizations (
    id            BIGSERIAL PRIMARY KEY,
    name            TEXT NOT NULL,
    custom_fields   TEXT NOT NULL DEFAULT '{}',
    idempotency_key TEXT UNIQUE,
    created_at      TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE contacts (
    id              BIGSERIAL PRIMARY KEY,
    name            TEXT NOT NULL,
    email           TEXT,
    organization_id BIGINT REFERENCES organizations (id) ON DELETE SET NULL,
    custom_fields   TEXT NOT NULL DEFAULT '{}',
    idempotency_key TEXT UNIQUE,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

-- Phones in E.164. Not unique: several contacts may share a number.
CREATE TABLE contact_phones (
    contact_id BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    position   BIGINT NOT NULL,
    phone      TEXT NOT NULL,
    PRIMARY KEY (contact_id, phone)
);
CREATE INDEX contact_phones_by_phone ON contact_phones (phone);

CREATE TABLE tickets (
    id              BIGSERIAL PRIMARY KEY,
    subject         TEXT NOT NULL,
    status          TEXT NOT NULL,
    priority        TEXT NOT NULL,
    type            TEXT NOT NULL,
    requester_id    BIGINT REFERENCES contacts (id) ON DELETE SET NULL,
    assignee        TEXT,
    tags            TEXT NOT NULL DEFAULT '[]',
    custom_fields   TEXT NOT NULL DEFAULT '{}',
    idempotency_key TEXT UNIQUE,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX tickets_by_requester ON tickets (requester_id, updated_at DESC);

CREATE TABLE comments (
    id              BIGSERIAL PRIMARY KEY,
    ticket_id       BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    body            TEXT NOT NULL,
    public          BOOLEAN NOT NULL,
    idempotency_key TEXT UNIQUE,
    created_at      TEXT NOT NULL
);
CREATE INDEX comments_by_ticket ON comments (ticket_id, id);

CREATE TABLE tasks (
    id         BIGSERIAL PRIMARY KEY,
    subject    TEXT NOT NULL,
    status     TEXT NOT NULL,
    due_at     TEXT,
    contact_id BIGINT REFERENCES contacts (id) ON DELETE SET NULL,
    ticket_id  BIGINT REFERENCES tickets (id) ON DELETE SET NULL,
    assignee   TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
