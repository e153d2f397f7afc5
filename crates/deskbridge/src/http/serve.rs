//! The HTTP server loop: hyper's HTTP/1 connection driver under our own accept
//! loop, instead of `axum::serve`, for what a hostile or broken client must not be
//! able to do (issue 10):
//!
//! - hold a connection by sending half its headers: hyper's `header_read_timeout`
//!   closes it (axum::serve has no header timeout);
//! - stay idle between requests: the same timeout runs while a kept-alive
//!   connection waits for its next request (hyper starts it whenever it reads a
//!   request head), so an idle connection closes after `header_timeout`;
//! - stop reading its answers (a client that pipelines requests and never reads
//!   fills the socket's buffers): a write that makes no progress for
//!   `write_timeout` ends the connection;
//! - open connections without end: semaphores cap the connections served at
//!   once; one beyond the cap gets a short `503` with the JSON error shape and
//!   `Connection: close`, written without reading its request, and is closed;
//! - fill every slot: a share of them is kept for known clients (`lanes.rs`), so
//!   a flood of anonymous connections leaves the PBX's webhooks, the agents'
//!   pages and the health probes answered. A reserved slot serves one request,
//!   and an unknown client in one is refused as soon as its request is read,
//!   so when a flood's burst of reconnections holds every reserved slot, one
//!   frees within milliseconds: a connection finding no slot waits for a
//!   reserved one, briefly (`RESERVED_WAIT`, at most `WAITING` of them at
//!   once), before it is refused;
//! - send a body slowly: the request body timeout is a layer in the router
//!   (`http::router`), so it answers 408 with the JSON shape.
//!
//! Graceful shutdown: on stop the loop stops accepting and every open connection
//! finishes its request in flight and closes (hyper-util's `GracefulShutdown`).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio_io_timeout::TimeoutStream;
use tower::ServiceExt;

use super::lanes::Lane;

/// What the server allows one connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// To send a request's headers (and, between requests on a kept-alive
    /// connection, to start the next one).
    pub header_timeout: Duration,
    /// How long a write to the client may make no progress before the
    /// connection is closed (a client that stopped reading).
    pub write_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Of `max_connections`, the slots kept for known clients (`lanes.rs`).
    pub reserved_connections: usize,
}

/// The refusal a connection beyond the cap gets, whole: it is written before any
/// of the request is read, so it cannot depend on the request.
const BUSY: &str = concat!(
    "HTTP/1.1 503 Service Unavailable\r\n",
    "Content-Type: application/json\r\n",
    "Retry-After: 1\r\n",
    "Connection: close\r\n",
    "Content-Length: 95\r\n",
    "\r\n",
    r#"{"error":"too_many_connections","message":"the server is at its connection limit; retry later"}"#,
);

/// How long a connection that found every slot taken waits for a reserved one
/// before it is refused: longer than a burst of unknown clients takes to be
/// turned away from the reserved share, shorter than a probe's patience.
const RESERVED_WAIT: Duration = Duration::from_millis(300);

/// Connections waiting for a reserved slot at once; beyond, a connection is
/// refused at once (a flood must not park sockets without end).
const WAITING: usize = 64;

/// Serves `router` on `listener` until `stop` turns true, then lets the open
/// connections finish their requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let reserved = limits.reserved_connections.min(limits.max_connections);
    let open_slots = Arc::new(Semaphore::new(limits.max_connections - reserved));
    let reserved_slots = Arc::new(Semaphore::new(reserved));
    let graceful = GracefulShutdown::new();
    let waiting = Arc::new(Semaphore::new(WAITING));
    // Connections that found every slot taken and then got a reserved one.
    let (granted_tx, mut granted) = mpsc::unbounded_channel();
    loop {
        let (stream, peer, slot, lane) = tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: pass, after a
                        // pause that keeps the loop from spinning.
                        tracing::warn!(error = %e, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                match open_slots.clone().try_acquire_owned() {
                    Ok(slot) => (stream, peer, slot, Lane::Open),
                    Err(_) => match reserved_slots.clone().try_acquire_owned() {
                        Ok(slot) => (stream, peer, slot, Lane::Reserved),
                        Err(_) => {
                            wait_for_reserved(
                                stream,
                                peer,
                                &reserved_slots,
                                &waiting,
                                &granted_tx,
                            );
                            continue;
                        }
                    },
                }
            }
            Some((stream, peer, slot)) = granted.recv() => (stream, peer, slot, Lane::Reserved),
            // The guard `wait_for` returns is not `Send`: dropped at once.
            _ = async { stop.wait_for(|stop| *stop).await.is_ok() } => break,
        };
        let _ = stream.set_nodelay(true);
        // The client's address, for what is counted per address (the sign-in
        // throttle), as axum's `ConnectInfo`.
        let service = TowerToHyperService::new(router.clone().map_request(
            move |mut request: axum::http::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request.extensions_mut().insert(lane);
                request
            },
        ));
        let mut stream = TimeoutStream::new(stream);
        stream.set_write_timeout(Some(limits.write_timeout));
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            // A reserved slot serves one request (`lanes.rs`).
            .keep_alive(lane == Lane::Open)
            .serve_connection(TokioIo::new(Box::pin(stream)), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// A connection that found every slot taken: it waits for a reserved slot for
/// at most [`RESERVED_WAIT`], and is served if it gets one (through `granted`,
/// to the accept loop), else refused. Beyond [`WAITING`] waiting, refused at
/// once.
fn wait_for_reserved(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    reserved: &Arc<Semaphore>,
    waiting: &Arc<Semaphore>,
    granted: &mpsc::UnboundedSender<(TcpStream, std::net::SocketAddr, OwnedSemaphorePermit)>,
) {
    let Ok(waiter) = waiting.clone().try_acquire_owned() else {
        metrics::counter!("deskbridge_connections_refused_total").increment(1);
        tokio::spawn(refuse(stream));
        return;
    };
    let reserved = reserved.clone();
    let granted = granted.clone();
    tokio::spawn(async move {
        let slot = tokio::time::timeout(RESERVED_WAIT, reserved.acquire_owned()).await;
        drop(waiter);
        match slot {
            // The loop serves it; if the loop has stopped, the connection
            // is dropped with the server.
            Ok(Ok(slot)) => {
                let _ = granted.send((stream, peer, slot));
            }
            _ => {
                metrics::counter!("deskbridge_connections_refused_total").increment(1);
                refuse(stream).await;
            }
        }
    });
}

/// Answers a connection beyond the cap and closes it, spending at most a second
/// on a client that does not read.
async fn refuse(mut stream: TcpStream) {
    let write = async {
        stream.write_all(BUSY.as_bytes()).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_is_a_whole_response_with_the_json_error_shape() {
        let (head, body) = BUSY.split_once("\r\n\r\n").expect("head and body");
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{head}"
        );
        let json: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(json["error"], "too_many_connections");
    }
}
