//! `--ingest`: durable ingest on the embedded default (SQLite, the built-in
//! CRM), events acknowledged a second.

use std::time::Instant;

use deskbridge_bench::trace;
use serde_json::{Value, json};

use crate::start_default;

/// Durable ingest: how many events a second are acknowledged (each 202 comes
/// after the commit, `synchronous = FULL`).
pub async fn run(events: usize, batch: usize, clients: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (running, token) = start_default(&dir).await?;
    let url = format!("http://{}/api/v1/events", running.addr);
    let http = reqwest::Client::new();
    // Each call: ringing, answered, ended (so ingest also queues real steps).
    let bodies: Vec<Value> = (0..events.div_ceil(batch))
        .map(|b| {
            let evs: Vec<Value> = (0..batch)
                .map(|i| {
                    let n = b * batch + i;
                    let call = n / 3;
                    let kind = ["ringing", "answered", "ended"][n % 3];
                    json!({"id": format!("e{n}"), "call_id": format!("c{call}"), "type": kind,
                           "direction": "inbound", "from": trace::e164(call % 400)})
                })
                .collect();
            Value::Array(evs)
        })
        .collect();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in bodies
        .chunks(bodies.len().div_ceil(clients))
        .map(|c| c.to_vec())
    {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        tasks.spawn(async move {
            for body in chunk {
                crate::post_accepted(&http, &url, &token, &body).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let took = started.elapsed();
    println!(
        "durable ingest (SQLite, synchronous=FULL): {events} events in batches of {batch} from {clients} clients in {:.2} s = {:.0} events/s ({:.0} requests/s)",
        took.as_secs_f64(),
        events as f64 / took.as_secs_f64(),
        bodies.len() as f64 / took.as_secs_f64()
    );
    running.stop().await?;
    Ok(())
}
