//! `deskbridge demo`: deskbridge with a Zendesk account of its own (the emulator,
//! in this process), a few minutes of calls played into it over HTTP, and the
//! agent page ready to sign in to, so a newcomer sees screen pops, tickets and the
//! caller log within a minute without a helpdesk account or a phone system.
//!
//! Nothing here is special-cased in the server: the demo writes an ordinary
//! config file, starts the server as `serve` does, and sends the native events a
//! phone system would, with the group's token.

mod pbx;
mod script;

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::RngCore;
use zendesk_emulator::{Emulator, EmulatorConfig, RunningEmulator, SeedTicket, SeedUser};

use crate::config::{Config, Overrides};
pub use script::{AGENTS, SCENES, Scene};

/// The password of the demo's agents, printed at start.
pub const PASSWORD: &str = "demo";

/// `deskbridge demo`'s options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the agent page and the API listen (`127.0.0.1:0` picks a port).
    pub listen: String,
    /// How much faster than real time the calls play (1: as a phone line would).
    pub speed: f64,
    /// Where the demo keeps its database; a fresh temporary directory when
    /// `None`, removed at the end.
    pub data_dir: Option<PathBuf>,
}

/// Runs the demo until Ctrl-C (or SIGTERM), then stops the server cleanly.
pub async fn run(options: Options) -> anyhow::Result<()> {
    anyhow::ensure!(
        options.speed.is_finite() && options.speed > 0.0,
        "--speed must be a number above 0 (1 plays the calls in real time)"
    );
    let (data_dir, temporary) = match &options.data_dir {
        Some(dir) => (dir.clone(), false),
        None => (fresh_dir()?, true),
    };
    let emulator = zendesk().await?;
    let token = random_token();
    let reports = pbx::Reports::default();
    let dial_url = pbx::start(reports.clone(), options.speed).await?;
    let config_text = config(&emulator, &token, &dial_url)?;
    let running = start(&data_dir, &config_text, &options.listen).await?;
    let base = format!("http://{}", running.addr);
    reports.to(&base, &token);
    let in_zendesk = install_app(&emulator, &base)?;
    print_welcome(&base, &emulator, &token, options.speed, &in_zendesk);

    let played = tokio::select! {
        played = play(&base, &token, options.speed) => played,
        () = crate::app::shutdown_signal() => Ok(false),
    };
    let stopped_early = match played {
        Ok(done) => !done,
        Err(e) => {
            eprintln!("the demo's calls stopped: {e:#}");
            false
        }
    };
    if !stopped_early {
        println!(
            "\nThe demo's calls have all been sent. deskbridge keeps running: look around, \
             send your own events with the token above, and press Ctrl-C to stop."
        );
        crate::app::shutdown_signal().await;
    }
    println!("Stopping the demo.");
    running.stop().await?;
    if temporary {
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    Ok(())
}

/// The emulated Zendesk account: the agents (signed in to Zendesk, so the screen
/// pops go there too) and the known callers with an open ticket each.
async fn zendesk() -> anyhow::Result<RunningEmulator> {
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

/// Installs deskbridge's Zendesk app into the emulated account (the manifest
/// `deskbridge zendesk app-package` would write for `base`): the address of
/// the emulated agent interface with the app in it, for the first agent.
fn install_app(emulator: &RunningEmulator, base: &str) -> anyhow::Result<String> {
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

/// The demo's config file: one group on the emulated Zendesk, pops as the phone
/// rings, the agents with the demo password.
fn config(emulator: &RunningEmulator, token: &str, dial_url: &str) -> anyhow::Result<String> {
    let hash = crate::agent_auth::hash_password(PASSWORD)
        .map_err(|e| anyhow::anyhow!("hashing the demo password: {e}"))?;
    let agents: String = AGENTS
        .iter()
        .map(|a| {
            format!(
                "[[agents]]\nemail = \"{}\"\nname = \"{}\"\nextension = \"{}\"\n\
                 password_hash = \"{hash}\"\nadmin = {}\n\n",
                a.email, a.name, a.extension, a.admin
            )
        })
        .collect();
    Ok(format!(
        r#"[backends.zendesk]
kind = "zendesk"
base_url = "{base}"
subdomain = "{subdomain}"
email = "admin@demo.example"
api_token = "demo-api-token"

{agents}[[groups]]
name = "support"
backend = "zendesk"
tokens = ["{token}"]
numbers = ["{line}"]
pop_on = "ringing"
pop_action = "ticket_by_ani"
wait_for_recording_seconds = 10
agent_timeout_seconds = 120
default_caller_id = "{line}"

# Click-to-call: the demo's phone system puts every dial through.
[groups.dial_webhook]
url = "{dial_url}"
body = {{ call_id = "{{{{ call_id }}}}", to = "{{{{ to }}}}", agent = "{{{{ agent.email }}}}" }}
"#,
        base = emulator.base_url,
        subdomain = zendesk_emulator::apps::ACCOUNT_SUBDOMAIN,
        line = script::SUPPORT_LINE,
    ))
}

async fn start(
    data_dir: &Path,
    config_text: &str,
    listen: &str,
) -> anyhow::Result<crate::app::Running> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating the demo's data directory {}", data_dir.display()))?;
    let path = data_dir.join("demo.toml");
    std::fs::write(&path, config_text).with_context(|| format!("writing {}", path.display()))?;
    let overrides = Overrides {
        listen: Some(listen.to_string()),
        data_dir: Some(data_dir.to_path_buf()),
        database_url: None,
    };
    let config = Config::load(Some(&path), overrides)
        .map_err(|e| anyhow::anyhow!("the demo's config is not valid (a bug): {e}"))?;
    crate::app::start(config).await.with_context(|| {
        format!("starting deskbridge on {listen}; if the port is taken, pass --listen 127.0.0.1:0")
    })
}

fn print_welcome(
    base: &str,
    emulator: &RunningEmulator,
    token: &str,
    speed: f64,
    in_zendesk: &str,
) {
    let agents: Vec<String> = AGENTS
        .iter()
        .map(|a| {
            let role = if a.admin { ", admin" } else { "" };
            format!("{} ({}{role})", a.email, a.name)
        })
        .collect();
    println!(
        "deskbridge demo is running.\n\n  \
         Agent page:   {base}/agent\n  \
         Sign in as:   {} with password {PASSWORD}\n  \
         In Zendesk:   {in_zendesk}\n                \
         (the agent's Zendesk with deskbridge's app in its top bar: Zendesk signs them in)\n  \
         Agents:       {}\n  \
         Ingest token: {token}\n  \
         Zendesk:      {} (an emulator in this process; admin@demo.example, token demo-api-token)\n\n\
         Missed callers appear under Callbacks: claim one and press Call (the demo's phone\n\
         system puts it through). The first call rings {} in a few seconds; the calls take {} seconds:",
        AGENTS[0].email,
        agents.join(", "),
        emulator.base_url,
        AGENTS[0].name,
        (script::length() / speed).ceil(),
    );
}

/// Sends every scene's events at their time. `Ok(true)` once all were sent.
async fn play(base: &str, token: &str, speed: f64) -> anyhow::Result<bool> {
    let http = reqwest::Client::new();
    let url = format!("{base}/api/v1/events");
    let run = random_suffix();
    let mut events: Vec<(f64, Option<&Scene>, serde_json::Value)> = Vec::new();
    for (i, scene) in SCENES.iter().enumerate() {
        let call_id = format!("demo-{run}-{}", i + 1);
        for (n, (at, event)) in scene.events(&call_id).into_iter().enumerate() {
            events.push((at, (n == 0).then_some(scene), event));
        }
    }
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    let started = Instant::now();
    for (at, scene, event) in events {
        tokio::time::sleep_until((started + Duration::from_secs_f64(at / speed)).into()).await;
        if let Some(scene) = scene {
            let secs = started.elapsed().as_secs();
            println!("  {}:{:02}  {}", secs / 60, secs % 60, scene.describe());
        }
        let resp = http
            .post(&url)
            .bearer_auth(token)
            .json(&event)
            .send()
            .await
            .context("sending a demo event")?;
        anyhow::ensure!(
            resp.status().is_success(),
            "deskbridge refused a demo event ({}): {}",
            resp.status(),
            resp.text().await.unwrap_or_default()
        );
    }
    Ok(true)
}

fn random_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    format!("demo_{}", hex::encode(bytes))
}

/// Call ids differ between runs on one data directory.
fn random_suffix() -> String {
    let mut bytes = [0u8; 3];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn fresh_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "deskbridge-demo-{}-{}",
        std::process::id(),
        random_suffix()
    ));
    // Owner-only, as `serve` wants its data directory.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("creating a temporary directory {}", dir.display()))?;
    Ok(dir)
}
