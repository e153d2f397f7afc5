//! `deskbridge demo`: deskbridge with a helpdesk account of its own (the
//! Zendesk emulator, or with `--helpdesk freshdesk` the Freshdesk emulator, in
//! this process), a few minutes of calls played into it over HTTP, and the
//! agent page ready to sign in to, so a newcomer sees screen pops, tickets and
//! the caller log within a minute without a helpdesk account or a phone system.
//!
//! Nothing here is special-cased in the server: the demo writes an ordinary
//! config file, starts the server as `serve` does, and sends the native events a
//! phone system would, with the group's token.

mod freshdesk;
mod pbx;
mod script;
mod zendesk;

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::RngCore;

use crate::config::{Config, Overrides};
pub use script::{AGENTS, SCENES, Scene};

/// The password of the demo's agents, printed at start.
pub const PASSWORD: &str = "demo";

/// The helpdesk the demo's calls go to: an emulator in the process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Helpdesk {
    /// Zendesk, with deskbridge's Zendesk app installed in it.
    #[default]
    Zendesk,
    /// Freshdesk (Growth plan).
    Freshdesk,
}

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
    /// The helpdesk the calls go to.
    pub helpdesk: Helpdesk,
}

/// The demo's helpdesk account.
pub enum Account {
    Zendesk(zendesk_emulator::RunningEmulator),
    Freshdesk(freshdesk_emulator::RunningEmulator),
}

/// A demo that has started: deskbridge listening on its helpdesk account,
/// the phone system ready; the calls not yet played ([`play`]).
pub struct Demo {
    /// deskbridge's address, `http://127.0.0.1:PORT`.
    pub base: String,
    /// The group's ingest token.
    pub token: String,
    pub account: Account,
    /// Zendesk: the emulated agent interface with deskbridge's app in it.
    in_zendesk: Option<String>,
    running: crate::app::Running,
    data_dir: PathBuf,
    temporary: bool,
}

/// Runs the demo until Ctrl-C (or SIGTERM), then stops the server cleanly.
pub async fn run(options: Options) -> anyhow::Result<()> {
    let demo = Demo::start(&options).await?;
    demo.print_welcome(options.speed);

    let played = tokio::select! {
        played = play(&demo.base, &demo.token, options.speed) => played,
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
    demo.stop().await
}

impl Demo {
    /// Starts the helpdesk's emulator, the demo's phone system and deskbridge
    /// on a config written for them.
    pub async fn start(options: &Options) -> anyhow::Result<Demo> {
        anyhow::ensure!(
            options.speed.is_finite() && options.speed > 0.0,
            "--speed must be a number above 0 (1 plays the calls in real time)"
        );
        let (data_dir, temporary) = match &options.data_dir {
            Some(dir) => (dir.clone(), false),
            None => (fresh_dir()?, true),
        };
        let (account, backend) = match options.helpdesk {
            Helpdesk::Zendesk => {
                let emulator = zendesk::account().await?;
                let backend = zendesk::backend(&emulator);
                (Account::Zendesk(emulator), backend)
            }
            Helpdesk::Freshdesk => {
                let emulator = freshdesk::account().await?;
                let backend = freshdesk::backend(&emulator);
                (Account::Freshdesk(emulator), backend)
            }
        };
        let token = random_token();
        let reports = pbx::Reports::default();
        let dial_url = pbx::start(reports.clone(), options.speed).await?;
        let config_text = config(&backend, &token, &dial_url)?;
        let running = start(&data_dir, &config_text, &options.listen).await?;
        let base = format!("http://{}", running.addr);
        reports.to(&base, &token);
        let in_zendesk = match &account {
            Account::Zendesk(emulator) => Some(zendesk::install_app(emulator, &base)?),
            Account::Freshdesk(_) => None,
        };
        Ok(Demo {
            base,
            token,
            account,
            in_zendesk,
            running,
            data_dir,
            temporary,
        })
    }

    /// Stops deskbridge cleanly, and removes a temporary data directory.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.running.stop().await?;
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
        Ok(())
    }

    fn print_welcome(&self, speed: f64) {
        let agents: Vec<String> = AGENTS
            .iter()
            .map(|a| {
                let role = if a.admin { ", admin" } else { "" };
                format!("{} ({}{role})", a.email, a.name)
            })
            .collect();
        let (base, token) = (&self.base, &self.token);
        let mut lines = vec![
            "deskbridge demo is running.\n".to_string(),
            format!("  Agent page:   {base}/agent"),
            format!(
                "  Sign in as:   {} with password {PASSWORD}",
                AGENTS[0].email
            ),
        ];
        if let Some(in_zendesk) = &self.in_zendesk {
            lines.push(format!("  In Zendesk:   {in_zendesk}"));
            lines.push(
                "                (the agent's Zendesk with deskbridge's app in its top bar: Zendesk signs them in)"
                    .into(),
            );
        }
        lines.push(format!("  Agents:       {}", agents.join(", ")));
        lines.push(format!("  Ingest token: {token}"));
        match &self.account {
            Account::Zendesk(emulator) => lines.push(format!(
                "  Zendesk:      {} (an emulator in this process; admin@demo.example, token demo-api-token)",
                emulator.base_url
            )),
            Account::Freshdesk(emulator) => {
                lines.push(format!(
                    "  Freshdesk:    {} (an emulator in this process; API key {})",
                    emulator.base_url,
                    freshdesk::API_KEY
                ));
                lines.push(format!(
                    "                (its records: {}/emulator/state; Freshdesk opens no screen pops itself: the agent page pops)",
                    emulator.base_url
                ));
            }
        }
        println!(
            "{}\n\n\
             Missed callers appear under Callbacks: claim one and press Call (the demo's phone\n\
             system puts it through). The first call rings {} in a few seconds; the calls take {} seconds:",
            lines.join("\n"),
            AGENTS[0].name,
            (script::length() / speed).ceil(),
        );
    }
}

/// The demo's config file: one group on the emulated helpdesk (`backend`,
/// named as the helpdesk's kind), pops as the phone rings, the agents with
/// the demo password.
fn config(backend: &str, token: &str, dial_url: &str) -> anyhow::Result<String> {
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
    let name = backend
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("[backends."))
        .and_then(|l| l.strip_suffix(']'))
        .context("the demo's backend names itself")?;
    Ok(format!(
        r#"{backend}
{agents}[[groups]]
name = "support"
backend = "{name}"
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

/// Sends every scene's events at their time. `Ok(true)` once all were sent.
pub async fn play(base: &str, token: &str, speed: f64) -> anyhow::Result<bool> {
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
