//! Caller lookup and routing answers over HTTP (`GET /api/v1/lookup`, `GET
//! /api/v1/route`), against the built-in CRM on SQLite with many contacts: the
//! same measurement as `tests/it/lookup_bench.rs`, in a binary, so that it runs
//! in whatever profile the binary was built with (BENCHMARKS.md compares the
//! release profiles with it).
//!
//! Three figures: one kept-alive client's latency (p50, p99) for lookups and for
//! routing answers, then lookups a second from `clients` concurrent clients
//! (the server's throughput on this machine's cores, client included).

use std::time::{Duration, Instant};

use deskbridge_store::crm::ContactFields;

/// Contacts in the CRM: one number each, as in the test.
const CONTACTS: usize = 20_000;

fn number(i: usize) -> String {
    format!("+1415{:07}", 1_000_000 + i)
}

fn percentiles(mut took: Vec<Duration>) -> (Duration, Duration) {
    took.sort();
    let at = |p: f64| took[((took.len() as f64 * p) as usize).min(took.len() - 1)];
    (at(0.50), at(0.99))
}

/// `n` GETs of `path` + a number (without its `+`), one after another on one
/// kept-alive client; each one's time from request sent to body read.
async fn time_one_by_one(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    path: &str,
    n: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut took = Vec::with_capacity(n);
    for i in 0..n {
        let url = format!("{base}{path}{}", &number(i * 7 % CONTACTS)[1..]);
        let started = Instant::now();
        let resp = http.get(url).bearer_auth(token).send().await?;
        anyhow::ensure!(
            resp.status().as_u16() == 200,
            "{path} answered {}",
            resp.status()
        );
        resp.bytes().await?;
        took.push(started.elapsed());
    }
    Ok(took)
}

/// One client's p99s, for `--smoke` to judge.
#[derive(Debug, Clone, Copy)]
pub struct LookupFigures {
    pub lookup_p99: Duration,
    pub route_p99: Duration,
}

pub async fn run(lookups: usize, clients: usize) -> anyhow::Result<LookupFigures> {
    let dir = tempfile::tempdir()?;
    let (running, token) = super::start_default(&dir).await?;
    let crm = running.state.groups[0]
        .crm
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the default group has no built-in CRM"))?;
    let contacts: Vec<ContactFields> = (0..CONTACTS)
        .map(|i| ContactFields {
            name: format!("Caller {i}"),
            phones: vec![number(i)],
            ..ContactFields::default()
        })
        .collect();
    for chunk in contacts.chunks(1_000) {
        crm.store().import_contacts(chunk).await?;
    }
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::new();
    // Warm up the connection and the database's pages.
    time_one_by_one(&http, &base, &token, "/api/v1/lookup?phone=", 200).await?;

    let (p50, lookup_p99) =
        percentiles(time_one_by_one(&http, &base, &token, "/api/v1/lookup?phone=", lookups).await?);
    println!(
        "lookups, one client, {CONTACTS} contacts: {lookups} in turn, p50 {p50:?}, p99 {lookup_p99:?}"
    );
    let (p50, p99) = percentiles(
        time_one_by_one(
            &http,
            &base,
            &token,
            "/api/v1/route?format=text&from=",
            lookups,
        )
        .await?,
    );
    let route_p99 = p99;
    println!("routing answers, one client: {lookups} in turn, p50 {p50:?}, p99 {p99:?}");

    let total = lookups * 5;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..clients {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        let share = total / clients;
        tasks.spawn(async move {
            for i in 0..share {
                let url = format!(
                    "{base}/api/v1/lookup?phone={}",
                    &number((c * share + i) * 7 % CONTACTS)[1..]
                );
                let resp = http.get(url).bearer_auth(&token).send().await?;
                anyhow::ensure!(
                    resp.status().as_u16() == 200,
                    "lookup answered {}",
                    resp.status()
                );
                resp.bytes().await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let took = started.elapsed();
    println!(
        "lookups, {clients} clients: {total} in {:.2} s = {:.0} lookups/s",
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64()
    );
    running.stop().await?;
    Ok(LookupFigures {
        lookup_p99,
        route_p99,
    })
}
