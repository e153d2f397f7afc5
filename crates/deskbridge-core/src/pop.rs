//! Screen pops: what an agent's screen is told to open as their phone rings (or
//! as they answer), and whether it got there.
//!
//! A pop is a fact of the call, like its answer time: the pop step records a
//! [`PopRecord`] on the [`crate::Interaction`], and everything that shows pops
//! (the agent page's stream on any instance, `GET /api/v1/calls/{id}`) reads it
//! from there. So a pop made by one instance reaches an agent whose browser is
//! connected to another, through the store's change stream, and a pop is never
//! shown to an agent it was not made for.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// When a group's calls pop (`pop_on`; per call, attribute `pop_incoming`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PopOn {
    /// As the agent's phone rings, before they answer.
    Ringing,
    /// When the agent answers.
    Answered,
    /// No pops.
    #[default]
    Off,
}

/// What a pop opens (`pop_action`), the Genesys connector's set.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PopAction {
    /// The contact whose id the call carries (attribute, e.g. `zendesk_user`).
    Contact,
    /// The contact found by the caller's number (ANI).
    ContactByAni,
    /// The ticket whose id the call carries (attribute `zendesk_ticket`).
    Ticket,
    /// The caller's most recent ticket (or the ticket whose configured custom
    /// field holds the number).
    #[default]
    TicketByAni,
}

/// Whether a pop opens a new ticket (`pop_new_ticket`).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PopNewTicket {
    Always,
    #[default]
    WhenNotFound,
    Never,
}

/// Where a pop is delivered.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PopChannel {
    /// Zendesk's agent workspace, through the Talk Partner Edition display
    /// endpoints.
    Zendesk,
    /// deskbridge's own agent page (`/agent`), over Server-Sent Events.
    Page,
}

/// How a delivery ended. Every failure is final: a pop is only worth showing
/// while the phone rings, so none is retried for ever.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Delivered,
    /// The helpdesk does not know the agent (no such user, no `zendesk_id`).
    AgentUnknown,
    /// The agent is not signed in where the pop was sent.
    AgentNotSignedIn,
    Failed,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PopDelivery {
    pub channel: PopChannel,
    pub status: DeliveryStatus,
    /// Why it failed, in words an admin can act on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// One pop shown (or tried) for one agent of the call.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PopRecord {
    /// The agent it was for: their directory email.
    pub agent: String,
    pub at: DateTime<Utc>,
    /// `ringing` or `answered`: the moment that made it.
    pub on: PopOn,
    pub action: PopAction,
    pub contact_id: Option<String>,
    pub ticket_id: Option<String>,
    /// The popped ticket was created for this call (and is the ticket its
    /// comment lands on).
    pub new_ticket: bool,
    #[serde(default)]
    pub deliveries: Vec<PopDelivery>,
}

/// What a pop opens on the agent's screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PopTarget {
    Ticket(String),
    Contact(String),
}
