//! `freshdesk-emulator`: serves the emulated Freshdesk API until interrupted.
//!
//! The first line on stdout is `freshdesk-emulator listening on http://ADDR`, so a
//! script that started it with `--listen 127.0.0.1:0` can read the port it got.

use std::io::Write;
use std::time::Duration;

use clap::Parser;
use freshdesk_emulator::{Emulator, EmulatorConfig, Plan};

/// A stateful, in-memory emulator of the Freshdesk API v2 subset a call
/// connector uses. `GET /emulator/stats` and `GET /emulator/state` read it.
#[derive(Debug, Parser)]
#[command(name = "freshdesk-emulator", version)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// The API key (HTTP Basic user name; the password is ignored).
    #[arg(long, env = "FRESHDESK_EMULATOR_API_KEY")]
    api_key: String,
    /// The account's subdomain.
    #[arg(long, default_value = "acme")]
    domain: String,
    /// growth, pro or enterprise: the per-minute limits.
    #[arg(long, default_value = "growth", value_parser = parse_plan)]
    plan: Plan,
    /// Replaces the plan's account-wide per-minute limit.
    #[arg(long)]
    requests_per_minute: Option<u32>,
    /// Probability (0.0-1.0) that a request fails with a 5xx.
    #[arg(long, default_value_t = 0.0)]
    fail_rate: f64,
    /// Milliseconds before a write appears in search.
    #[arg(long, default_value_t = 0)]
    search_lag_ms: u64,
    /// Milliseconds added before every API answer.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Refuse `unique_external_id` (the feature is off).
    #[arg(long)]
    no_unique_external_id: bool,
    /// Seed of the fault injector.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn parse_plan(text: &str) -> Result<Plan, String> {
    Plan::parse(text).ok_or_else(|| format!("unknown plan {text:?}: growth, pro or enterprise"))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let config = EmulatorConfig {
        domain: args.domain,
        plan: args.plan,
        requests_per_minute: args.requests_per_minute,
        search_lag: Duration::from_millis(args.search_lag_ms),
        unique_external_id: !args.no_unique_external_id,
        fail_rate: args.fail_rate,
        latency: Duration::from_millis(args.latency_ms),
        seed: args.seed,
        ..EmulatorConfig::new(args.api_key)
    };
    let running = Emulator::new(config).start(&args.listen).await?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(
            stdout,
            "freshdesk-emulator listening on {}",
            running.base_url
        )?;
        stdout.flush()?;
    }
    tokio::signal::ctrl_c().await?;
    drop(running);
    Ok(())
}
