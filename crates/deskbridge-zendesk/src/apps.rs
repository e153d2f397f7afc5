//! What the Zendesk app needs of the account: its agents (the directory of a
//! Zendesk backend), the app's installations and its public key (what signs
//! an agent in, `crate::zaf`).

use reqwest::Method;

use crate::ZendeskClient;
use crate::error::ZendeskError;
use crate::types::{AppInstallation, AppInstallations, User, UsersPage};
use deskbridge_budget::Lane;

impl ZendeskClient {
    /// Every agent and admin of the account ("List Users", `role[]`), a page
    /// of 100 at a time, in the bulk lane: the agent directory of a Zendesk
    /// backend, refreshed on a schedule.
    pub async fn list_agents(&self) -> Result<Vec<User>, ZendeskError> {
        let mut agents = Vec::new();
        for page in 1u32.. {
            let page_number = page.to_string();
            let found: UsersPage = self
                .get(
                    Lane::Bulk,
                    "/api/v2/users.json",
                    &[
                        ("role[]", "agent"),
                        ("role[]", "admin"),
                        ("per_page", "100"),
                        ("page", &page_number),
                    ],
                )
                .await?;
            let last = found.next_page.is_none() || found.users.is_empty();
            agents.extend(found.users);
            if last {
                break;
            }
        }
        Ok(agents)
    }

    /// The account's app installations ("List App Installations"): which
    /// installation of which app a ZAF token may name (see [`crate::zaf`]).
    pub async fn app_installations(&self) -> Result<Vec<AppInstallation>, ZendeskError> {
        let page: AppInstallations = self
            .get(Lane::Interactive, "/api/v2/apps/installations.json", &[])
            .await?;
        Ok(page.installations)
    }

    /// The app's public key, PEM ("Get App Public Key"): what verifies the
    /// tokens Zendesk signs for the app's signed URLs.
    pub async fn app_public_key(&self, app_id: u64) -> Result<Vec<u8>, ZendeskError> {
        self.send(
            Lane::Interactive,
            Method::GET,
            &format!("/api/v2/apps/{app_id}/public_key.pem"),
            &[],
            None,
            None,
        )
        .await
    }
}
