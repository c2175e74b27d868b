//! The server loop: accepts connections and serves the app on each over HTTP/1.1.
//!
//! Invariants:
//! - At most `max_connections` connections are open; past that, new ones wait in the
//!   kernel's accept queue until one closes, and the limit is kept below the open-files
//!   limit (`connection_limit`) so that accepting can never starve the database of files.
//! - A connection that has not sent a complete request head within `header_timeout` is
//!   closed. hyper starts that clock whenever it waits for a head, so it also closes a
//!   keep-alive connection left idle for that long, and one that trickles a byte at a time.
//! - Bodies have their own deadline in the app (`Limits::body_timeout`).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

#[derive(Debug, Clone, Copy)]
pub struct ServeSettings {
    pub header_timeout: Duration,
    pub max_connections: usize,
}

impl Default for ServeSettings {
    fn default() -> Self {
        ServeSettings {
            header_timeout: Duration::from_secs(10),
            max_connections: 4096,
        }
    }
}

/// Files kept back from connections: the database and its -wal and -shm, logs, the
/// runtime's own descriptors, with room to spare.
pub const FILES_HELD_BACK: u64 = 64;

/// Raises this process's open-files limit as far as the system allows, and returns the
/// connection limit that leaves `FILES_HELD_BACK` free: `wanted`, or less when the system
/// allows fewer files.
pub fn connection_limit(wanted: usize) -> usize {
    let files = rlimit::increase_nofile_limit(u64::MAX)
        .or_else(|_| rlimit::getrlimit(rlimit::Resource::NOFILE).map(|(soft, _)| soft))
        .unwrap_or(1024);
    let room = files.saturating_sub(FILES_HELD_BACK).max(1);
    let limit = (wanted as u64).min(room) as usize;
    if limit < wanted {
        tracing::warn!(
            files,
            limit,
            wanted,
            "the open-files limit allows fewer connections than asked; raise LimitNOFILE"
        );
    }
    limit
}

/// Serves `app` on `listener` until `shutdown` completes; then stops accepting and gives
/// open requests up to 10 s to finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    settings: ServeSettings,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(settings.max_connections.max(1)));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(settings.header_timeout)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let mut last_full_warning: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        if slots.available_permits() == 0
            && last_full_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(60))
        {
            tracing::warn!(
                max = settings.max_connections,
                "connection limit reached; new connections wait until one closes"
            );
            last_full_warning = Some(Instant::now());
        }
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of files, or a connection reset before it was accepted: wait a
                    // moment rather than spin, and go on.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request
                .extensions_mut()
                .insert(ConnectInfo::<SocketAddr>(addr));
            app.clone().oneshot(request.map(axum::body::Body::new))
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%addr, error = %e, "connection ended");
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still open after 10 s were cut off");
    }
}
