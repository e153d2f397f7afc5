-- The ticket and contact each call went to, as columns: the Zendesk app's
-- sidebars list the calls of a ticket and of a contact. Filled from the
-- stored body for the calls already there.
ALTER TABLE calls ADD COLUMN ticket_id TEXT;
ALTER TABLE calls ADD COLUMN contact_id TEXT;
UPDATE calls SET ticket_id = json_extract(body, '$.ticket_id'),
                 contact_id = json_extract(body, '$.contact_id');
CREATE INDEX calls_by_ticket ON calls (group_name, ticket_id, first_at DESC);
CREATE INDEX calls_by_contact ON calls (group_name, contact_id, first_at DESC);
