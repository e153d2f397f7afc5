//! The demo on Freshdesk: the emulated account (Growth plan, its limits kept)
//! with the demo's agents, and the known callers with an open ticket each,
//! their numbers typed as people type them.

use anyhow::Context;
use freshdesk_emulator::{Emulator, EmulatorConfig, RunningEmulator, SeedContact, SeedTicket};

use super::script::{self, AGENTS};

/// The emulated account's API key, printed at start.
pub const API_KEY: &str = "demo-api-key";

/// The emulated account.
pub(super) async fn account() -> anyhow::Result<RunningEmulator> {
    let mut config = EmulatorConfig::new(API_KEY);
    config.domain = "demo".into();
    let emulator = Emulator::new(config)
        .start("127.0.0.1:0")
        .await
        .context("starting the demo's Freshdesk emulator")?;
    for agent in AGENTS {
        emulator.seed_agent(agent.email, agent.name);
    }
    for caller in script::CALLERS {
        if let Some(known) = caller.known {
            let contact = emulator.seed_contact(
                SeedContact::with_phone(caller.name, caller.number).email(known.email),
            );
            emulator.seed_ticket(SeedTicket::new(contact, known.open_ticket));
        }
    }
    Ok(emulator)
}

/// The config's backend for the emulated account.
pub(super) fn backend(emulator: &RunningEmulator) -> String {
    format!(
        r#"[backends.freshdesk]
kind = "freshdesk"
base_url = "{base}"
api_key = "{API_KEY}"
plan = "growth"
"#,
        base = emulator.base_url,
    )
}
