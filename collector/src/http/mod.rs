//! The HTTP face of the collector: one module per resource, each owning its routes; the
//! extractors that state each handler's preconditions (`extract`); the one error type and
//! where it becomes a response (`error`); and `app`, which builds the whole service, so that
//! `serve` and tests start exactly the same thing.
//!
//! Every refusal is a 4xx with a machine-readable reason; a store that cannot be reached is
//! a 503 the kiosk will retry; nothing is half-stored. Every read is bounded: headers by the
//! server loop's header timeout, bodies by size (as sent and as expanded) and by a deadline,
//! the number of bodies read at once by `max_concurrent_bodies`, and a device's open
//! requests by `requests_per_device`.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::Router;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::Semaphore;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use uuid::Uuid;

use crate::ingest::KnownSurveys;
use crate::store::Store;

mod batches;
mod cases;
mod charts;
pub mod enroll;
pub mod error;
pub mod extract;
mod fleet;
pub mod health;
pub mod page;
mod results;
pub mod session;
mod sites;
mod status;
pub mod tracking;
mod users;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body as sent.
    pub max_body_bytes: usize,
    /// Largest request body once decompressed.
    pub max_decompressed_bytes: usize,
    /// How long a client may take to send its body, from the end of its headers.
    pub body_timeout: Duration,
    /// Bodies read at the same time, all clients together; more wait for a turn.
    pub max_concurrent_bodies: usize,
    /// Requests one device may have open at once (a kiosk sends one at a time).
    pub requests_per_device: usize,
    /// Enrolment attempts per client address and minute (and the burst allowed at once).
    pub enrolments_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: earshot_protocol::DEFAULT_MAX_BODY_BYTES,
            max_decompressed_bytes: earshot_protocol::DEFAULT_MAX_DECOMPRESSED_BYTES,
            body_timeout: Duration::from_secs(60),
            max_concurrent_bodies: 16,
            requests_per_device: 2,
            enrolments_per_minute: 10,
        }
    }
}

/// How the pages for people behave.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Mark cookies Secure: the workspace is reached over HTTPS (through a proxy).
    pub secure_cookies: bool,
    /// The survey files' words for questions and options, and which steps are follow-up
    /// reasons.
    pub labels: Arc<crate::labels::Labels>,
    /// A device not heard from for this long is marked on the fleet page.
    pub stale_after: Duration,
    /// The address visitors reach the collector at (https), for the tracking links kiosks
    /// show; `None`: kiosks show none.
    pub public_url: Option<String>,
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
            secure_cookies: false,
            labels: Arc::default(),
            stale_after: Duration::from_secs(24 * 3600),
            public_url: None,
        }
    }
}

pub struct AppState {
    pub store: Arc<dyn Store>,
    pub surveys: KnownSurveys,
    pub limits: Limits,
    pub web: WebSettings,
    /// Batches being ingested now, per device: a second request with the same key meanwhile
    /// gets 409 instead of racing the first.
    in_flight: Mutex<HashSet<(String, Uuid)>>,
    /// Open requests per device id.
    open_per_device: Mutex<HashMap<String, usize>>,
    body_permits: Arc<Semaphore>,
    enrol_attempts: DefaultKeyedRateLimiter<IpAddr>,
    /// Tracking-page lookups per client address.
    tracking_lookups: DefaultKeyedRateLimiter<IpAddr>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, surveys: KnownSurveys, limits: Limits) -> Arc<AppState> {
        AppState::with_web(store, surveys, limits, WebSettings::default())
    }

    pub fn with_web(
        store: Arc<dyn Store>,
        surveys: KnownSurveys,
        limits: Limits,
        web: WebSettings,
    ) -> Arc<AppState> {
        let per_minute =
            NonZeroU32::new(limits.enrolments_per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        Arc::new(AppState {
            store,
            surveys,
            limits,
            web,
            in_flight: Mutex::new(HashSet::new()),
            open_per_device: Mutex::new(HashMap::new()),
            body_permits: Arc::new(Semaphore::new(limits.max_concurrent_bodies.max(1))),
            enrol_attempts: RateLimiter::keyed(Quota::per_minute(per_minute)),
            tracking_lookups: tracking::lookup_limiter(),
        })
    }
}

/// The whole service: every resource's routes, the fallbacks, and the layers every request
/// passes (tracing, an overall deadline).
pub fn app(state: Arc<AppState>) -> Router {
    // Headers and body have their own deadlines; this one bounds what is left (waiting for
    // the store), so a request can never hang on.
    let overall = state.limits.body_timeout + Duration::from_secs(60);
    // Forms for people are small; the kiosk API reads its bodies itself, within its limits.
    let pages = Router::new()
        .merge(session::routes())
        .merge(results::routes())
        .merge(fleet::routes())
        .merge(users::routes())
        .merge(sites::routes())
        .merge(cases::routes())
        .merge(tracking::routes())
        .merge(page::routes())
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024));
    Router::new()
        .merge(batches::routes())
        .merge(status::routes())
        .merge(enroll::routes())
        .merge(health::routes())
        .merge(pages)
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            overall,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

#[cfg(test)]
mod tests;
