-- Each built-in backend ([backends.NAME] kind = "builtin") is its own set of
-- records: every CRM row carries the backend's name and every query is scoped to
-- it. Records made before backends were separated belong to the implicit backend
-- "builtin" (what a config with no [backends.*] uses).
ALTER TABLE organizations ADD COLUMN tenant TEXT NOT NULL DEFAULT 'builtin';
ALTER TABLE contacts ADD COLUMN tenant TEXT NOT NULL DEFAULT 'builtin';
ALTER TABLE tickets ADD COLUMN tenant TEXT NOT NULL DEFAULT 'builtin';
ALTER TABLE comments ADD COLUMN tenant TEXT NOT NULL DEFAULT 'builtin';
ALTER TABLE tasks ADD COLUMN tenant TEXT NOT NULL DEFAULT 'builtin';
CREATE INDEX organizations_by_tenant ON organizations (tenant, id);
CREATE INDEX contacts_by_tenant ON contacts (tenant, id);
CREATE INDEX tickets_by_tenant ON tickets (tenant, id);
CREATE INDEX tasks_by_tenant ON tasks (tenant, id);
