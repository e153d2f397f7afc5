//! The demo on Zendesk: the emulated account with the agents signed in (so
//! the screen pops open there too), the known callers with an open ticket
//! each, and deskbridge's Zendesk app installed in it.

use anyhow::Context;
use zendesk_emulator::{Emulator, EmulatorConfig, RunningEmulator, SeedTicket, SeedUser};

use super::script::{self, AGENTS};

/// The emulated account.
pub(super) async fn account() -> anyhow::Result<RunningEmulator> {
    let emulator = Emulator::new(EmulatorConfig::new("admin@demo.example", "demo-api-token"))
        .start("127.0.0.1:0")
        .await
        .context("starting the demo's Zendesk emulator")?;
    emulator.set_talk_partner_edition(true);
    for agent in AGENTS {
        let id = emulator.seed_agent(agent.email, agent.name);
        emulator.set_signed_in(id, true);
    }
    for caller in script::CALLERS {
        if let Some(known) = caller.known {
            let user = emulator
                .seed_user(SeedUser::end_user(caller.name, caller.number).email(known.email));
            emulator.seed_ticket(SeedTicket {
                status: zendesk_emulator::TicketStatus::Open,
                ..SeedTicket::new(user, known.open_ticket)
            });
        }
    }
    Ok(emulator)
}

/// The config's backend for the emulated account.
pub(super) fn backend(emulator: &RunningEmulator) -> String {
    format!(
        r#"[backends.zendesk]
kind = "zendesk"
base_url = "{base}"
subdomain = "{subdomain}"
email = "admin@demo.example"
api_token = "demo-api-token"
"#,
        base = emulator.base_url,
        subdomain = zendesk_emulator::apps::ACCOUNT_SUBDOMAIN,
    )
}

/// Installs deskbridge's Zendesk app into the emulated account (the manifest
/// `deskbridge zendesk app-package` would write for `base`): the address of
/// the emulated agent interface with the app in it, for the first agent.
pub(super) fn install_app(emulator: &RunningEmulator, base: &str) -> anyhow::Result<String> {
    let manifest = crate::zendesk_app::package::file("manifest.json", base)
        .context("the app's manifest is built in")?;
    let manifest: serde_json::Value =
        serde_json::from_slice(&manifest).context("the app's manifest is JSON")?;
    let (_, installation) = emulator.install_app_with_manifest(
        &manifest,
        serde_json::json!({"name": "deskbridge", "deskbridge_url": base}),
    );
    let first = emulator
        .state()
        .users
        .iter()
        .find(|u| u.email.as_deref() == Some(AGENTS[0].email))
        .map(|u| u.id)
        .context("the demo's first agent is in the emulated account")?;
    Ok(format!(
        "{}/__emulator/agent?user={first}&installation={installation}",
        emulator.base_url
    ))
}
