//! Lookup and routing latency (BENCHMARKS.md, "Caller lookup"): `GET
//! /api/v1/lookup` and `GET /api/v1/route` over HTTP against the built-in CRM
//! with many contacts, and lookups against the Zendesk emulator with the caller
//! cached. Ignored by default (it seeds many
//! contacts); run with
//! `cargo test -p deskbridge --test it -- --ignored --nocapture lookup_latency`.

use std::time::{Duration, Instant};

use deskbridge_store::crm::ContactFields;
use zendesk_emulator::SeedUser;

use crate::common::TestApp;
use crate::zendesk::{TOKEN, Zd};

const CONTACTS: usize = 20_000;
const LOOKUPS: usize = 2_000;

fn percentiles(mut took: Vec<Duration>) -> (Duration, Duration) {
    took.sort();
    let at = |p: f64| took[((took.len() as f64 * p) as usize).min(took.len() - 1)];
    (at(0.50), at(0.99))
}

/// Times `LOOKUPS` lookups of numbers from `numbers`, on one kept-alive client.
fn time_lookups(app: &TestApp, token: &str, numbers: &[String]) -> Vec<Duration> {
    time_requests(app, token, numbers, "/api/v1/lookup?phone=")
}

/// Times `LOOKUPS` GETs of `path` + a number from `numbers` (without its `+`).
fn time_requests(app: &TestApp, token: &str, numbers: &[String], path: &str) -> Vec<Duration> {
    let client = reqwest::blocking::Client::new();
    let mut took = Vec::with_capacity(LOOKUPS);
    for i in 0..LOOKUPS {
        let phone = &numbers[i % numbers.len()];
        let url = app.url(&format!("{path}{}", &phone[1..]));
        let started = Instant::now();
        let resp = client.get(url).bearer_auth(token).send().expect("lookup");
        assert_eq!(resp.status().as_u16(), 200);
        let _ = resp.bytes().expect("body");
        took.push(started.elapsed());
    }
    took
}

#[test]
#[ignore]
fn lookup_latency() {
    // Built-in CRM: CONTACTS contacts, each with one open ticket for a tenth.
    let app = TestApp::start();
    let crm = app.state().groups[0].crm.clone().expect("the built-in CRM");
    let numbers: Vec<String> = (0..CONTACTS)
        .map(|i| format!("+1415{:07}", 1_000_000 + i))
        .collect();
    app.block_on(async {
        for (i, phone) in numbers.iter().enumerate() {
            let fields = ContactFields {
                name: format!("Caller {i}"),
                phones: vec![phone.clone()],
                ..ContactFields::default()
            };
            crm.store()
                .insert_contact(&fields, None)
                .await
                .expect("insert");
        }
    });
    // Warm up the connection and the database's pages.
    time_lookups(&app, &app.token, &numbers[..100]);
    let (p50, p99) = percentiles(time_lookups(&app, &app.token, &numbers));
    println!(
        "built-in CRM, {CONTACTS} contacts, {LOOKUPS} lookups over HTTP: p50 {p50:?}, p99 {p99:?}"
    );
    let (p50, p99) = percentiles(time_requests(
        &app,
        &app.token,
        &numbers,
        "/api/v1/route?format=text&from=",
    ));
    println!(
        "built-in CRM, {CONTACTS} contacts, {LOOKUPS} routing answers over HTTP: p50 {p50:?}, p99 {p99:?}"
    );

    // Zendesk: the callers looked up once (cold), then from the cache.
    let (zd, ann) = Zd::with_ann();
    let zd_numbers: Vec<String> = (0..200)
        .map(|i| format!("+1415{:07}", 2_000_000 + i))
        .collect();
    for (i, phone) in zd_numbers.iter().enumerate() {
        zd.emu.seed_user(SeedUser::end_user(
            format!("Zendesk caller {i}"),
            phone.clone(),
        ));
    }
    let zapp = zd.app(ann, "");
    let (cold50, cold99) = percentiles(time_lookups_n(&zapp, &zd_numbers));
    let before = zd.emu.stats();
    let (p50, p99) = percentiles(time_lookups(&zapp, TOKEN, &zd_numbers));
    let requests: u64 = zd.since(&before).values().sum();
    println!(
        "Zendesk, 200 callers: first lookup each p50 {cold50:?}, p99 {cold99:?}; \
         then {LOOKUPS} cached lookups p50 {p50:?}, p99 {p99:?}, {requests} requests to Zendesk"
    );
    assert_eq!(requests, 0, "cached lookups make no request");
}

/// Each number once (the cold lookups).
fn time_lookups_n(app: &TestApp, numbers: &[String]) -> Vec<Duration> {
    let client = reqwest::blocking::Client::new();
    numbers
        .iter()
        .map(|phone| {
            let url = app.url(&format!("/api/v1/lookup?phone={}", &phone[1..]));
            let started = Instant::now();
            let resp = client.get(url).bearer_auth(TOKEN).send().expect("lookup");
            assert_eq!(resp.status().as_u16(), 200);
            let _ = resp.bytes();
            started.elapsed()
        })
        .collect()
}
