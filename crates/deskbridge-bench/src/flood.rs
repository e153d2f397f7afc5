//! Under attack (issue 25, point 1): deskbridge in this process (the build's
//! profile: a release build for BENCHMARKS.md), `max_connections = 64`, and
//! `connections` clients that pipeline requests for the OpenAPI description and
//! never read (`deskbridge_testkit::flood`). Meanwhile, four times a second, a
//! `/healthz` and an authenticated ingest, each on a connection of its own as
//! a probe and a PBX's webhook open them; their times and statuses are the
//! result.

use std::time::{Duration, Instant};

use deskbridge_testkit::flood::SlowReaders;
use serde_json::json;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

pub async fn run(connections: usize, seconds: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = "[server]\nmax_connections = 64\n";
    let running = super::start_deskbridge(&dir, config).await?;
    let token = std::fs::read_to_string(dir.path().join("data/ingest-token"))?;
    let token = token.trim().to_string();
    let base = format!("http://{}", running.addr);
    let flood = SlowReaders::start(running.addr, connections);
    // A client per request: no connection kept between them.
    let client = || {
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(5))
            .build()
    };
    let (mut health, mut ingest) = (Vec::new(), Vec::new());
    let (mut health_failed, mut ingest_failed, mut anonymous_refused) = (0, 0, 0);
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut n = 0;
    while Instant::now() < until {
        let started = Instant::now();
        match client()?.get(format!("{base}/healthz")).send().await {
            Ok(r) if r.status() == 200 => health.push(started.elapsed()),
            _ => health_failed += 1,
        }
        let started = Instant::now();
        let event = json!({"id": format!("flood-{n}"), "call_id": format!("flood-{n}"),
                           "type": "ringing", "direction": "inbound", "from": "+14155550100"});
        match client()?
            .post(format!("{base}/api/v1/events"))
            .bearer_auth(&token)
            .json(&event)
            .send()
            .await
        {
            Ok(r) if r.status() == 202 => ingest.push(started.elapsed()),
            _ => ingest_failed += 1,
        }
        if let Ok(r) = client()?
            .get(format!("{base}/api/v1/openapi.json"))
            .send()
            .await
            && r.status() == 503
        {
            anonymous_refused += 1;
        }
        n += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let opened = tokio::task::spawn_blocking(move || flood.stop()).await?;
    health.sort();
    ingest.sort();
    let show = |name: &str, took: &[Duration], failed: usize| {
        if took.is_empty() {
            println!("{name}: none answered, {failed} failed");
        } else {
            println!(
                "{name}: {} answered, {failed} failed; p50 {:?}, p99 {:?}, max {:?}",
                took.len(),
                percentile(took, 0.5),
                percentile(took, 0.99),
                took[took.len() - 1]
            );
        }
    };
    println!(
        "{connections} clients that never read, {seconds} s, max_connections 64 \
         (8 reserved), write timeout 10 s: {opened} flood connections opened"
    );
    show("/healthz", &health, health_failed);
    show("ingest (group token)", &ingest, ingest_failed);
    println!("anonymous requests refused (503) meanwhile: {anonymous_refused} of {n}");
    running.stop().await?;
    Ok(())
}
