//! The HTTP face of the collector. Every refusal is a 4xx with a machine-readable reason; a
//! store that cannot be reached is a 503 the kiosk will retry; nothing is half-stored.

use std::collections::HashSet;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use earshot_protocol::{
    codes, BatchRequest, EnrollReply, EnrollRequest, ErrorReply, Reason, StatusReply,
    StatusRequest, BATCHES_PATH, ENROLL_PATH, IDEMPOTENCY_KEY, MAX_BATCH_RESPONSES, STATUS_PATH,
};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::ingest::{judge, KnownSurveys};
use crate::store::{rfc3339, sha256_hex, Device, EnrollError, IngestOutcome, Store};

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body as sent.
    pub max_body_bytes: usize,
    /// Largest request body once decompressed.
    pub max_decompressed_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: earshot_protocol::DEFAULT_MAX_BODY_BYTES,
            max_decompressed_bytes: earshot_protocol::DEFAULT_MAX_DECOMPRESSED_BYTES,
        }
    }
}

pub struct AppState {
    pub store: Arc<dyn Store>,
    pub surveys: KnownSurveys,
    pub limits: Limits,
    /// Batches being ingested now, per device: a second request with the same key meanwhile
    /// gets 409 instead of racing the first.
    in_flight: Mutex<HashSet<(String, Uuid)>>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, surveys: KnownSurveys, limits: Limits) -> Arc<AppState> {
        Arc::new(AppState {
            store,
            surveys,
            limits,
            in_flight: Mutex::new(HashSet::new()),
        })
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.limits.max_body_bytes;
    Router::new()
        .route(BATCHES_PATH, post(batches))
        .route(STATUS_PATH, post(status))
        .route(ENROLL_PATH, post(enroll))
        .route("/v1/health", get(health))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// A refusal with its machine-readable reason.
#[derive(Debug)]
pub struct Refusal {
    status: StatusCode,
    reason: Reason,
    retry_after_s: Option<u64>,
}

impl Refusal {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            reason: Reason::new(code, message),
            retry_after_s: None,
        }
    }

    fn unavailable(detail: impl std::fmt::Display) -> Refusal {
        tracing::error!(%detail, "storage problem; the batch was refused and will be resent");
        Refusal {
            status: StatusCode::SERVICE_UNAVAILABLE,
            reason: Reason::new(
                codes::UNAVAILABLE,
                "the collector cannot store data just now; try again later",
            ),
            retry_after_s: Some(5),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response =
            (self.status, axum::Json(ErrorReply { error: self.reason })).into_response();
        if let Some(s) = self.retry_after_s {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        response
    }
}

async fn not_found() -> Refusal {
    Refusal::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, "no such endpoint")
}

async fn method_not_allowed() -> Refusal {
    Refusal::new(
        StatusCode::METHOD_NOT_ALLOWED,
        codes::METHOD_NOT_ALLOWED,
        "this endpoint does not take that method",
    )
}

async fn health() -> axum::Json<StatusReply> {
    axum::Json(StatusReply {
        server_time: rfc3339(SystemTime::now()),
    })
}

/// Runs store work off the async threads. A panic inside becomes a 503, never a dropped
/// connection or a 500.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Refusal> + Send + 'static,
) -> Result<T, Refusal> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(Refusal::unavailable(format!("worker failed: {e}"))))
}

/// The JSON text of a request: checks the media type, undoes gzip, caps the size.
fn request_json(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    limits: &Limits,
) -> Result<Vec<u8>, Refusal> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Refusal::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                codes::BODY_TOO_LARGE,
                format!(
                    "the body is over {} bytes; send fewer responses",
                    limits.max_body_bytes
                ),
            )
        } else {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                codes::MALFORMED_JSON,
                format!("the body could not be read: {e}"),
            )
        }
    })?;
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = media.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            codes::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Type must be application/json, not {media:?}"),
        ));
    }
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("identity") => {
            if body.len() > limits.max_decompressed_bytes {
                return Err(Refusal::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    codes::BODY_TOO_LARGE,
                    "the body is too large",
                ));
            }
            Ok(body.to_vec())
        }
        Some("gzip") => {
            let mut out = Vec::new();
            let cap = limits.max_decompressed_bytes as u64;
            flate2::read::GzDecoder::new(&body[..])
                .take(cap + 1)
                .read_to_end(&mut out)
                .map_err(|e| {
                    Refusal::new(
                        StatusCode::BAD_REQUEST,
                        codes::BAD_GZIP,
                        format!("the body is not valid gzip: {e}"),
                    )
                })?;
            if out.len() as u64 > cap {
                return Err(Refusal::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    codes::BODY_TOO_LARGE,
                    format!("the body expands to over {cap} bytes; send fewer responses"),
                ));
            }
            Ok(out)
        }
        Some(other) => Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            codes::UNSUPPORTED_ENCODING,
            format!("Content-Encoding {other:?} is not supported; use gzip or none"),
        )),
    }
}

fn parse<T: DeserializeOwned>(json: &[u8], what: &str) -> Result<T, Refusal> {
    serde_json::from_slice(json).map_err(|e| {
        let code = match e.classify() {
            serde_json::error::Category::Data => codes::INVALID_BATCH,
            _ => codes::MALFORMED_JSON,
        };
        Refusal::new(StatusCode::BAD_REQUEST, code, format!("{what}: {e}"))
    })
}

async fn authenticate(state: &Arc<AppState>, headers: &HeaderMap) -> Result<Device, Refusal> {
    let unauthorized = || {
        Refusal::new(
            StatusCode::UNAUTHORIZED,
            codes::UNAUTHORIZED,
            "no valid device token; provision the device again",
        )
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .ok_or_else(unauthorized)?;
    let store = state.store.clone();
    let device = blocking(move || store.authenticate(&token).map_err(Refusal::unavailable))
        .await?
        .ok_or_else(unauthorized)?;
    if device.revoked {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            codes::REVOKED,
            format!("device {} has been revoked; provision it again", device.id),
        ));
    }
    Ok(device)
}

/// Removes a batch from the in-flight set however its request ends.
struct InFlight {
    state: Arc<AppState>,
    key: (String, Uuid),
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut set) = self.state.in_flight.lock() {
            set.remove(&self.key);
        }
    }
}

async fn batches(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match ingest_batch(state, headers, body).await {
        Ok(r) => r,
        Err(refusal) => {
            tracing::info!(status = %refusal.status, code = %refusal.reason.code, "batch refused");
            refusal.into_response()
        }
    }
}

async fn ingest_batch(
    state: Arc<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Refusal> {
    let device = authenticate(&state, &headers).await?;
    let key = headers
        .get(IDEMPOTENCY_KEY)
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                codes::MISSING_IDEMPOTENCY_KEY,
                "send the batch id as the Idempotency-Key header",
            )
        })?
        .to_str()
        .ok()
        .and_then(|k| Uuid::parse_str(k.trim()).ok())
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                codes::MISSING_IDEMPOTENCY_KEY,
                "the Idempotency-Key header must be the batch id (a UUID)",
            )
        })?;
    let json = request_json(&headers, body, &state.limits)?;
    let batch: BatchRequest<serde_json::Value> = parse(&json, "the batch")?;
    if batch.batch_id != key {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            codes::IDEMPOTENCY_KEY_MISMATCH,
            format!(
                "Idempotency-Key {key} is not the batch id {}",
                batch.batch_id
            ),
        ));
    }
    if batch.responses.len() > MAX_BATCH_RESPONSES {
        return Err(Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::TOO_MANY_RESPONSES,
            format!("a batch may hold at most {MAX_BATCH_RESPONSES} responses"),
        ));
    }
    let in_flight_key = (device.id.clone(), key);
    let inserted = state
        .in_flight
        .lock()
        .map(|mut set| set.insert(in_flight_key.clone()))
        .unwrap_or(false);
    if !inserted {
        return Err(Refusal::new(
            StatusCode::CONFLICT,
            codes::IN_PROGRESS,
            "this batch is still being stored; send it again shortly",
        ));
    }
    let _guard = InFlight {
        state: state.clone(),
        key: in_flight_key,
    };
    // serde_json keeps object keys sorted, so the same responses always hash the same
    // however the sender ordered their fields.
    let canonical = serde_json::to_vec(&batch.responses).unwrap_or_default();
    let body_hash = sha256_hex(&canonical);
    let worker_state = state.clone();
    let outcome = blocking(move || {
        let now = SystemTime::now();
        let judged = judge(&batch.responses, &batch.status, now, &worker_state.surveys);
        worker_state
            .store
            .ingest(&device, key, &body_hash, &judged, &batch.status, now)
            .map_err(Refusal::unavailable)
    })
    .await?;
    match outcome {
        IngestOutcome::Stored(reply) => {
            let accepted = reply
                .results
                .iter()
                .filter(|r| r.status == earshot_protocol::ItemStatus::Accepted)
                .count();
            let rejected = reply
                .results
                .iter()
                .filter(|r| r.status == earshot_protocol::ItemStatus::Rejected)
                .count();
            tracing::info!(batch = %key, total = reply.results.len(), accepted, rejected, "batch stored");
            Ok(axum::Json(reply).into_response())
        }
        IngestOutcome::Replayed(reply) => {
            tracing::info!(batch = %key, "batch replayed; same reply as before");
            Ok(axum::Json(reply).into_response())
        }
        IngestOutcome::KeyReused => Err(Refusal::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::IDEMPOTENCY_KEY_REUSED,
            format!("batch id {key} was used before for different responses"),
        )),
    }
}

async fn status(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<axum::Json<StatusReply>, Refusal> {
    let device = authenticate(&state, &headers).await?;
    let json = request_json(&headers, body, &state.limits)?;
    let request: StatusRequest = parse(&json, "the status")?;
    let store = state.store.clone();
    blocking(move || {
        store
            .record_status(&device, &request.status, SystemTime::now())
            .map_err(Refusal::unavailable)
    })
    .await?;
    Ok(axum::Json(StatusReply {
        server_time: rfc3339(SystemTime::now()),
    }))
}

async fn enroll(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<axum::Json<EnrollReply>, Refusal> {
    let json = request_json(&headers, body, &state.limits)?;
    let request: EnrollRequest = parse(&json, "the enrolment request")?;
    let device_id = request.device_id.trim().to_string();
    if device_id.is_empty() || device_id.len() > 128 || device_id.chars().any(char::is_control) {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            codes::INVALID_BATCH,
            "device_id must be 1 to 128 printable characters",
        ));
    }
    let store = state.store.clone();
    let (result, receipt_secret) = blocking(move || {
        let result = store
            .enroll(
                &request.code,
                &device_id,
                request.site.as_deref(),
                SystemTime::now(),
            )
            .map_err(Refusal::unavailable)?;
        let secret = match &result {
            Ok(_) => Some(store.receipt_secret().map_err(Refusal::unavailable)?),
            Err(_) => None,
        };
        Ok((result, secret))
    })
    .await?;
    match result {
        Ok(enrolled) => {
            tracing::info!(device = %enrolled.device_id, site = %enrolled.site, "device enrolled");
            Ok(axum::Json(EnrollReply {
                device_id: enrolled.device_id,
                site: enrolled.site,
                token: enrolled.token,
                server_time: rfc3339(SystemTime::now()),
                receipt_secret,
            }))
        }
        Err(EnrollError::InvalidCode(message)) => Err(Refusal::new(
            StatusCode::FORBIDDEN,
            codes::INVALID_CODE,
            message,
        )),
        Err(EnrollError::SiteMismatch { code_site, asked }) => Err(Refusal::new(
            StatusCode::FORBIDDEN,
            codes::SITE_MISMATCH,
            format!("this code is for site {code_site:?}, not {asked:?}"),
        )),
    }
}
