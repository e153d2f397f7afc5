//! deskbridge inside Zendesk: the Zendesk app whose locations load deskbridge's
//! pages, the agents who sign in through it (Zendesk vouches for them, no
//! password), and the zip an admin uploads.
//!
//! - `accounts`: the Zendesk accounts of the configured backends, what signs an
//!   agent in (a token Zendesk signed, [`deskbridge_zendesk::zaf`]) and the
//!   agent directory each account lists;
//! - `package`: `deskbridge zendesk app-package`, the app's manifest and files.
//!
//! The pages themselves are served by `http::zendesk_app`.

pub mod accounts;
pub mod package;

pub use accounts::{SignInFailed, ZendeskAccount, ZendeskAccounts};

/// Where in Zendesk's agent interface the app shows: its manifest's locations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppLocation {
    /// The top bar: the live caller card, agent mode, the agent's call log.
    TopBar,
    /// Beside a ticket: the calls on it, and its requester's other calls.
    TicketSidebar,
    /// Beside a user: the user's calls.
    UserSidebar,
}

impl AppLocation {
    pub const ALL: [AppLocation; 3] = [
        AppLocation::TopBar,
        AppLocation::TicketSidebar,
        AppLocation::UserSidebar,
    ];

    /// The location's name in the manifest and in deskbridge's paths.
    pub fn as_str(self) -> &'static str {
        match self {
            AppLocation::TopBar => "top_bar",
            AppLocation::TicketSidebar => "ticket_sidebar",
            AppLocation::UserSidebar => "user_sidebar",
        }
    }

    pub fn parse(name: &str) -> Option<AppLocation> {
        AppLocation::ALL.into_iter().find(|l| l.as_str() == name)
    }
}
