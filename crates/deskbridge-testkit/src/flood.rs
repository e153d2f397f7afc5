//! Clients that never read (issue 25, point 1): each connects with a small
//! receive buffer, pipelines requests for a large answer, and reads nothing, so
//! the server's writes fill the socket's buffers and stop. A connection the
//! server closes is opened again 100 ms later, as a flooding bot would, so the
//! flood holds every connection it can for as long as it runs. (Not at once: a
//! tight loop of connects is a SYN flood, which fills the kernel's accept queue
//! whatever the server does; that is the firewall's to stop.)
//!
//! Used by the in-process test (`tests/it/limits.rs`) and by `deskbridge-bench
//! --flood` against a release build (BENCHMARKS.md, "Under attack").

use std::io::{ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use socket2::{Domain, Socket, Type};

/// The request each flooding connection sends again and again: the largest
/// answer anyone may ask for.
pub const OPENAPI: &[u8] = b"GET /api/v1/openapi.json HTTP/1.1\r\nHost: deskbridge\r\n\r\n";

/// A running flood of `connections` clients that never read.
pub struct SlowReaders {
    stop: Arc<AtomicBool>,
    /// Connections opened, the first ones included.
    opened: Arc<AtomicU64>,
    threads: Vec<JoinHandle<()>>,
}

impl SlowReaders {
    /// Starts `connections` flooding clients against `addr`.
    pub fn start(addr: SocketAddr, connections: usize) -> SlowReaders {
        let stop = Arc::new(AtomicBool::new(false));
        let opened = Arc::new(AtomicU64::new(0));
        let threads = (0..connections)
            .map(|_| {
                let (stop, opened) = (stop.clone(), opened.clone());
                std::thread::spawn(move || flood(addr, &stop, &opened))
            })
            .collect();
        SlowReaders {
            stop,
            opened,
            threads,
        }
    }

    /// Connections opened so far (more than started: the server closed some).
    pub fn opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// Stops the flood and closes its connections.
    pub fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        self.opened()
    }
}

impl Drop for SlowReaders {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// One client: connect, pipeline a request every 100 ms, never read; when the
/// server has closed the connection (a write fails other than by timing out),
/// connect again after 100 ms.
fn flood(addr: SocketAddr, stop: &AtomicBool, opened: &AtomicU64) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = connect(addr) else {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        opened.fetch_add(1, Ordering::Relaxed);
        while !stop.load(Ordering::Relaxed) {
            match stream.write_all(OPENAPI) {
                Ok(()) => {}
                // The server reads no more either: still held, keep it.
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => break,
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A connection with a 4 KiB receive buffer (set before connecting, so the
/// window it offers stays small).
fn connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_recv_buffer_size(4096)?;
    socket.connect_timeout(&addr.into(), Duration::from_secs(2))?;
    let stream: TcpStream = socket.into();
    // A write that cannot go out (the server's window closed) fails rather
    // than blocking the flood's thread for good.
    stream.set_write_timeout(Some(Duration::from_secs(1)))?;
    Ok(stream)
}
