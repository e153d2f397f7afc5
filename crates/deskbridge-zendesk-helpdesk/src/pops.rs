//! Screen pops through Talk Partner Edition's display endpoints.

use deskbridge_core::pop::{DeliveryStatus, PopChannel, PopDelivery, PopTarget};
use deskbridge_core::ports::HelpdeskError;

use crate::ZendeskHelpdesk;
use crate::agents::agent_unknown;
use crate::error::zid;

impl ZendeskHelpdesk {
    /// Talk Partner Edition's display endpoints. Zendesk answers 200 when "the
    /// message is successfully delivered to an agent's browser" and 404 when the
    /// agent or record id is invalid ("Open Ticket in Agent's Browser"); an agent
    /// known to exist whose browser got nothing is not signed in. Any failure is
    /// recorded, never retried: a pop is worth showing only while the phone
    /// rings.
    pub(crate) async fn pop(
        &self,
        agent_email: &str,
        target: &PopTarget,
    ) -> Result<Option<PopDelivery>, HelpdeskError> {
        let delivery = |status, detail: Option<String>| {
            Ok(Some(PopDelivery {
                channel: PopChannel::Zendesk,
                status,
                detail,
            }))
        };
        let agent = match self.agent_id(agent_email).await {
            Ok(Some(id)) => id,
            Ok(None) => return Ok(Some(agent_unknown(agent_email))),
            Err(e) => return delivery(DeliveryStatus::Failed, Some(e.to_string())),
        };
        let sent = match target {
            PopTarget::Ticket(id) => self.client.display_ticket(agent, zid(id, "ticket")?).await,
            PopTarget::Contact(id) => self.client.display_user(agent, zid(id, "user")?).await,
        };
        match sent {
            Ok(true) => delivery(DeliveryStatus::Delivered, None),
            Ok(false) => delivery(
                DeliveryStatus::AgentNotSignedIn,
                Some(format!(
                    "Zendesk answered 404 for agent {agent}: not signed in to Zendesk \
                     (or the record is gone)"
                )),
            ),
            Err(e) => delivery(DeliveryStatus::Failed, Some(e.to_string())),
        }
    }
}
