//! Freshdesk's rate limits per plan, kept by the client before it sends.
//!
//! Support article "What are the rate limits for the API calls to Freshdesk?"
//! (modified 14 Mar 2024): the limit is per minute and account-wide,
//! "irrespective of the number of agents you have or IP addresses used to make
//! the calls", and some endpoints have a per-minute limit of their own within
//! it. Trial accounts get 50 a minute.

use std::time::Duration;

use deskbridge_budget::{Counted, Limit};

/// A Freshdesk plan, for its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Growth,
    Pro,
    Enterprise,
}

/// One plan's limits, requests a minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanLimits {
    pub per_minute: u32,
    pub ticket_create: u32,
    pub ticket_update: u32,
    pub tickets_list: u32,
    pub contacts_list: u32,
}

impl Plan {
    /// The table of the support article.
    pub fn limits(self) -> PlanLimits {
        let (per_minute, ticket_create, ticket_update, tickets_list, contacts_list) = match self {
            Plan::Growth => (200, 80, 80, 20, 20),
            Plan::Pro => (400, 160, 160, 100, 100),
            Plan::Enterprise => (700, 280, 280, 200, 200),
        };
        PlanLimits {
            per_minute,
            ticket_create,
            ticket_update,
            tickets_list,
            contacts_list,
        }
    }

    /// `growth`, `pro`, `enterprise` (the config's `plan`).
    pub fn parse(name: &str) -> Option<Plan> {
        match name.to_ascii_lowercase().as_str() {
            "growth" => Some(Plan::Growth),
            "pro" => Some(Plan::Pro),
            "enterprise" => Some(Plan::Enterprise),
            _ => None,
        }
    }
}

/// The endpoints with a limit of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limited {
    TicketCreate,
    TicketUpdate,
    TicketsList,
    ContactsList,
}

impl Limited {
    /// The endpoint a request goes to, if it has a limit of its own. Search
    /// (`/api/v2/search/...`) and a single record's GET have none.
    pub(crate) fn of(method: &str, path: &str) -> Option<Limited> {
        let rest = path.strip_prefix("/api/v2/")?;
        let segments: Vec<&str> = rest.split('/').collect();
        match (method, segments.as_slice()) {
            ("POST", ["tickets"]) => Some(Limited::TicketCreate),
            ("PUT", ["tickets", _]) => Some(Limited::TicketUpdate),
            ("GET", ["tickets"]) => Some(Limited::TicketsList),
            ("GET", ["contacts"]) => Some(Limited::ContactsList),
            _ => None,
        }
    }

    pub(crate) fn counted(self) -> Counted {
        Counted::account(match self {
            Limited::TicketCreate => "freshdesk_ticket_create",
            Limited::TicketUpdate => "freshdesk_ticket_update",
            Limited::TicketsList => "freshdesk_tickets_list",
            Limited::ContactsList => "freshdesk_contacts_list",
        })
    }

    pub(crate) fn limit(self, limits: &PlanLimits) -> Limit {
        let updates = match self {
            Limited::TicketCreate => limits.ticket_create,
            Limited::TicketUpdate => limits.ticket_update,
            Limited::TicketsList => limits.tickets_list,
            Limited::ContactsList => limits.contacts_list,
        };
        Limit {
            updates: updates as usize,
            window: Duration::from_secs(60),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_growth_plan_is_the_support_articles_row() {
        assert_eq!(
            Plan::Growth.limits(),
            PlanLimits {
                per_minute: 200,
                ticket_create: 80,
                ticket_update: 80,
                tickets_list: 20,
                contacts_list: 20
            }
        );
        assert_eq!(Plan::parse("Enterprise"), Some(Plan::Enterprise));
        assert_eq!(Plan::parse("blossom"), None);
    }

    #[test]
    fn only_the_limited_endpoints_are_counted_on_their_own() {
        assert_eq!(
            Limited::of("POST", "/api/v2/tickets"),
            Some(Limited::TicketCreate)
        );
        assert_eq!(
            Limited::of("PUT", "/api/v2/tickets/12"),
            Some(Limited::TicketUpdate)
        );
        assert_eq!(
            Limited::of("GET", "/api/v2/contacts"),
            Some(Limited::ContactsList)
        );
        assert_eq!(
            Limited::of("GET", "/api/v2/tickets"),
            Some(Limited::TicketsList)
        );
        assert_eq!(Limited::of("GET", "/api/v2/contacts/12"), None);
        assert_eq!(Limited::of("POST", "/api/v2/tickets/12/notes"), None);
        assert_eq!(Limited::of("GET", "/api/v2/search/contacts"), None);
    }
}
