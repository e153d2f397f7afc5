//! Agents by Zendesk id: from the directory (`[[agents]] zendesk_id`), else
//! looked up by email once per agent, however many calls ask at the same time.

use std::sync::Arc;

use deskbridge_core::pop::{DeliveryStatus, PopChannel, PopDelivery};
use deskbridge_core::ports::HelpdeskError;

use crate::ZendeskHelpdesk;
use crate::error::helpdesk_error;

/// An agent's Zendesk id (`None`: no agent has that email), looked up once: the
/// first step to ask sends the request, steps asking meanwhile wait for its answer
/// instead of sending their own. A failed lookup leaves the cell empty, so the next
/// step to ask tries again.
pub(crate) type AgentLookup = Arc<tokio::sync::OnceCell<Option<u64>>>;

/// A pop for an agent Zendesk does not know.
pub(crate) fn agent_unknown(email: &str) -> PopDelivery {
    PopDelivery {
        channel: PopChannel::Zendesk,
        status: DeliveryStatus::AgentUnknown,
        detail: Some(format!(
            "no Zendesk agent has the email {email}; fix the email or set zendesk_id in [[agents]]"
        )),
    }
}

impl ZendeskHelpdesk {
    pub(crate) fn agent_email(&self, id: u64) -> Option<String> {
        if let Some((email, _)) = self.known_agents.iter().find(|(_, known)| **known == id) {
            return Some(email.clone());
        }
        let agents = self.agents.lock().unwrap_or_else(|p| p.into_inner());
        agents
            .iter()
            .find(|(_, lookup)| lookup.get() == Some(&Some(id)))
            .map(|(email, _)| email.clone())
    }

    /// [`Self::agent_id`] of the agent a call or ticket names, if it names one.
    pub(crate) async fn agent_id_of(
        &self,
        email: Option<&str>,
    ) -> Result<Option<u64>, HelpdeskError> {
        match email {
            Some(email) => self.agent_id(email).await,
            None => Ok(None),
        }
    }

    /// The agent's Zendesk id: from the directory, else looked up by email, once
    /// per agent however many calls ask at the same time (the first calls after a
    /// start all ask for the agents on shift).
    pub(crate) async fn agent_id(&self, email: &str) -> Result<Option<u64>, HelpdeskError> {
        let email = email.to_ascii_lowercase();
        if let Some(id) = self.known_agents.get(&email) {
            return Ok(Some(*id));
        }
        let lookup = self
            .agents
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(email.clone())
            .or_default()
            .clone();
        let id = lookup
            .get_or_try_init(|| async {
                let found = self
                    .client
                    .find_agent_by_email(&email)
                    .await
                    .map_err(helpdesk_error)?
                    .map(|u| u.id);
                if found.is_none() {
                    tracing::warn!(%email, "no Zendesk agent with this email; the ticket stays unassigned");
                }
                Ok::<_, HelpdeskError>(found)
            })
            .await?;
        Ok(*id)
    }
}
