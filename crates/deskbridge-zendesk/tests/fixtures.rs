//! The client's types parse what the real Zendesk API sent (recorded responses).

use deskbridge_zendesk::types::*;
use serde::de::DeserializeOwned;

fn fixture<T: DeserializeOwned>(path: &str) -> T {
    let full = format!(
        "{}/tests/fixtures/go-zendesk/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} does not parse: {e}"))
}

#[test]
fn users() {
    let one: UserEnvelope = fixture("GET/user.json");
    assert!(one.user.id > 0);
    assert!(!one.user.name.is_empty());
    let _: UsersPage = fixture("GET/users.json");
    let created: UserEnvelope = fixture("POST/users.json");
    assert!(created.user.id > 0);
    let updated: UserEnvelope = fixture("PUT/user.json");
    assert!(updated.user.id > 0);
    let search: SearchResults<User> = fixture("GET/search_user.json");
    assert!(!search.results.is_empty());
}

#[test]
fn tickets_and_their_audits() {
    let one: TicketEnvelope = fixture("GET/ticket.json");
    assert!(one.ticket.id > 0);
    let page: TicketsPage = fixture("GET/tickets.json");
    assert!(!page.tickets.is_empty());
    let created: TicketWithAudit = fixture("POST/ticket.json");
    assert_eq!(created.ticket.priority.as_deref(), Some("urgent"));
    // The comment of a create is found in its audit.
    assert_eq!(created.comment_id(), Some(653915434312));
    let updated: TicketWithAudit = fixture("PUT/ticket.json");
    assert!(updated.ticket.id > 0);
    let comments: CommentsPage = fixture("GET/ticket_comments.json");
    assert!(!comments.comments.is_empty());
    let search: SearchResults<Ticket> = fixture("GET/search_ticket.json");
    assert!(search.count.is_some());
}

#[test]
fn organizations_fields_and_forms() {
    let org: OrganizationEnvelope = fixture("GET/organization.json");
    assert!(org.organization.id > 0);
    let created: OrganizationEnvelope = fixture("POST/organization.json");
    assert!(!created.organization.name.is_empty());
    let orgs: OrganizationsPage = fixture("GET/organizations.json");
    assert!(!orgs.organizations.is_empty());
    let field: TicketFieldEnvelope = fixture("GET/ticket_field.json");
    assert!(!field.ticket_field.field_type.is_empty());
    let form: TicketFormEnvelope = fixture("GET/ticket_form.json");
    assert!(!form.ticket_form.ticket_field_ids.is_empty());
}
