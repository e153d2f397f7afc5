//! Agents by email: a ticket's `responder_id` is the agent's id, which the
//! directory's email is looked up for once (`GET /api/v2/agents?email=`).

use deskbridge_core::ports::HelpdeskError;

use crate::{FreshdeskHelpdesk, helpdesk_error};

impl FreshdeskHelpdesk {
    /// The agent's id, looked up once per email; `None` when Freshdesk has no
    /// such agent (the core's assignee fallback already chose this email, so
    /// the ticket is left unassigned and the logs say why).
    pub(crate) async fn agent_id(&self, email: Option<&str>) -> Result<Option<u64>, HelpdeskError> {
        let Some(email) = email else {
            return Ok(None);
        };
        let email = email.to_ascii_lowercase();
        if let Some(known) = self.known().agent_ids.get(&email) {
            return Ok(*known);
        }
        let agent = self
            .client
            .agent_by_email(&email)
            .await
            .map_err(helpdesk_error)?;
        let id = agent.map(|a| a.id);
        if id.is_none() {
            tracing::warn!(%email, "no Freshdesk agent has this email: the ticket is left unassigned");
        }
        let mut known = self.known();
        known.agent_ids.insert(email.clone(), id);
        if let Some(id) = id {
            known.agent_emails.insert(id, email);
        }
        Ok(id)
    }
}
