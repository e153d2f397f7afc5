//! `zendesk-emulator`: serves the emulated Zendesk API until interrupted.
//!
//! The first line on stdout is `zendesk-emulator listening on http://ADDR`, so a
//! script that started it with `--listen 127.0.0.1:0` can read the port it got.

use std::io::Write;
use std::time::Duration;

use clap::Parser;
use zendesk_emulator::{Emulator, EmulatorConfig};

/// A stateful, in-memory emulator of the Zendesk Support API subset deskbridge
/// uses. Control endpoints live under /__emulator/ (stats, reset, faults, seed).
#[derive(Debug, Parser)]
#[command(name = "zendesk-emulator", version)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// The admin's email (HTTP Basic user `{email}/token`).
    #[arg(long, default_value = "admin@example.com")]
    email: String,
    /// The API token (Basic password or Bearer token).
    #[arg(long, env = "ZENDESK_EMULATOR_TOKEN")]
    token: String,
    /// Requests per minute for the account; unlimited when absent.
    #[arg(long)]
    rpm: Option<u32>,
    /// Milliseconds before an API-created user or ticket appears in search.
    #[arg(long, default_value_t = 0)]
    search_lag_ms: u64,
    /// Probability (0.0-1.0) that a request fails with 500.
    #[arg(long, default_value_t = 0.0)]
    fail_rate: f64,
    /// Milliseconds added before every API response.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Seed of the fault injector.
    #[arg(long, default_value_t = 0)]
    seed: u64,
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
        email: args.email,
        token: args.token,
        requests_per_minute: args.rpm,
        rate_limit_window: Duration::from_secs(60),
        search_lag: Duration::from_millis(args.search_lag_ms),
        fail_rate: args.fail_rate,
        latency: Duration::from_millis(args.latency_ms),
        seed: args.seed,
    };
    let running = Emulator::new(config).start(&args.listen).await?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "zendesk-emulator listening on {}", running.base_url)?;
        stdout.flush()?;
    }
    tokio::signal::ctrl_c().await?;
    drop(running);
    Ok(())
}
