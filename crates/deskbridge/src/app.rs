//! Wiring: open the store, build the state, start the workers and the HTTP server,
//! and shut both down cleanly.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use deskbridge_core::ports::Helpdesk;
use deskbridge_core::{Policy, Region};
use deskbridge_crm::BuiltinCrm;
use deskbridge_store::{SqliteStore, Store};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::config::Config;
use crate::worker::{self, RetryPolicy};

/// A connector group: who may send events for it and how its calls are handled.
#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub tokens: Vec<String>,
    pub policy: Policy,
    pub region: Region,
}

/// Shared by every request handler and worker.
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub crm: BuiltinCrm,
    pub helpdesk: Arc<dyn Helpdesk>,
    pub groups: Vec<Group>,
    /// Rung when steps were queued, so idle workers look at once.
    pub work: Arc<Notify>,
    pub max_body_bytes: usize,
}

impl AppState {
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
    }
}

/// Runs the server until SIGINT or SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let data_dir = &config.server.data_dir;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    let store = match config.database_url() {
        Some(url) => SqliteStore::open_url(url).await,
        None => SqliteStore::open(&data_dir.join("deskbridge.db")).await,
    }
    .context("opening the database")?;
    let store = Arc::new(store);

    let (token, fresh) = crate::token::load_or_create(data_dir)?;
    let region = config.region();
    let crm = BuiltinCrm::new(store.clone(), region);
    let groups = vec![Group {
        name: "default".into(),
        tokens: vec![token.clone()],
        policy: config.policy.clone(),
        region,
    }];
    let state = Arc::new(AppState {
        store: store.clone(),
        helpdesk: Arc::new(crm.clone()),
        crm,
        groups,
        work: Arc::new(Notify::new()),
        max_body_bytes: config.server.max_body_bytes,
    });

    let listener = TcpListener::bind(&config.server.listen)
        .await
        .with_context(|| format!("listening on {}", config.server.listen))?;
    let addr: SocketAddr = listener.local_addr()?;
    println!("deskbridge listening on http://{addr}");
    if fresh {
        println!(
            "ingest token (also in {}): {token}",
            data_dir.join("ingest-token").display()
        );
    } else {
        println!(
            "ingest token: in {}",
            data_dir.join("ingest-token").display()
        );
    }
    tracing::info!(%addr, data_dir = %data_dir.display(), "deskbridge started");

    let (stop_tx, stop_rx) = watch::channel(false);
    let retry = RetryPolicy::from(&config.jobs);
    let workers = worker::spawn(state.clone(), config.jobs.workers, retry, stop_rx.clone());

    let router = crate::http::router(state.clone());
    let mut http_stop = stop_rx.clone();
    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        let _ = http_stop.wait_for(|stop| *stop).await;
    });
    let server = tokio::spawn(async move { server.await });

    shutdown_signal().await;
    tracing::info!("shutting down: no new requests; finishing the steps in flight");
    let _ = stop_tx.send(true);
    state.work.notify_waiters();
    match tokio::time::timeout(Duration::from_secs(10), server).await {
        Ok(result) => result??,
        Err(_) => tracing::warn!("requests still open after 10 s; closing them"),
    }
    workers.finish(Duration::from_secs(15)).await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the server");
            let _ = ctrl_c.await;
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
}
