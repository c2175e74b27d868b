//! Extractors: each states one precondition of a handler and refuses the request when it does
//! not hold. Their order in a handler's arguments is the order of the checks, and it matters:
//!
//! 1. `AuthenticatedDevice` (headers only): the token names an enrolled, unrevoked device,
//!    and that device has fewer than `Limits::requests_per_device` requests open. A request
//!    without a valid token is answered 401 before one byte of its body is read.
//! 2. `IdempotencyKey` (headers only).
//! 3. `RequestBody` last: the media type and encoding are ones the collector reads; the
//!    declared length is within the limit; then the body is read while holding one of the
//!    collector's `max_concurrent_bodies` permits, capped in size and within the body
//!    deadline. Decoding caps the expanded size too (`RequestBody::parse`).

use std::io::{BufReader, Read};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use earshot_protocol::{codes, IDEMPOTENCY_KEY};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::error::{blocking, ApiError};
use super::AppState;
use crate::store::Device;

/// The device whose token came with the request. Holding it holds one of the device's
/// request slots.
pub struct AuthenticatedDevice {
    pub device: Device,
    _slot: DeviceSlot,
}

/// One open request of a device; dropping it frees the slot.
struct DeviceSlot {
    state: Arc<AppState>,
    device_id: String,
}

impl Drop for DeviceSlot {
    fn drop(&mut self) {
        let mut open = self
            .state
            .open_per_device
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.device_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.device_id);
            }
        }
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ")?.trim();
    // A token longer than any the collector makes is not looked up at all.
    (!token.is_empty() && token.len() <= 256).then(|| token.to_string())
}

impl FromRequestParts<Arc<AppState>> for AuthenticatedDevice {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let token = bearer_token(&parts.headers).ok_or_else(ApiError::unauthorized)?;
        let store = state.store.clone();
        let device = blocking(move || store.authenticate(&token).map_err(ApiError::unavailable))
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        if device.revoked {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                codes::REVOKED,
                format!("device {} has been revoked; provision it again", device.id),
            ));
        }
        {
            let mut open = state
                .open_per_device
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let n = open.entry(device.id.clone()).or_insert(0);
            if *n >= state.limits.requests_per_device {
                return Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    codes::TOO_MANY_REQUESTS,
                    format!(
                        "device {} already has {} requests open; send one at a time",
                        device.id, n
                    ),
                )
                .retry_after(2));
            }
            *n += 1;
        }
        let slot = DeviceSlot {
            state: state.clone(),
            device_id: device.id.clone(),
        };
        Ok(AuthenticatedDevice {
            device,
            _slot: slot,
        })
    }
}

/// The batch id, from the `Idempotency-Key` header.
pub struct IdempotencyKey(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let value = parts.headers.get(IDEMPOTENCY_KEY).ok_or_else(|| {
            ApiError::bad_request(
                codes::MISSING_IDEMPOTENCY_KEY,
                "send the batch id as the Idempotency-Key header",
            )
        })?;
        value
            .to_str()
            .ok()
            .and_then(|k| Uuid::parse_str(k.trim()).ok())
            .map(IdempotencyKey)
            .ok_or_else(|| {
                ApiError::bad_request(
                    codes::MISSING_IDEMPOTENCY_KEY,
                    "the Idempotency-Key header must be the batch id (a UUID)",
                )
            })
    }
}

/// The address the connection comes from, as the server loop recorded it. Behind a reverse
/// proxy this is the proxy's.
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let addr = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        Ok(ClientAddr(addr))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Identity,
    Gzip,
}

/// A request body as received: at most `max_body_bytes`, read within the body deadline, of
/// type `application/json`, plain or gzip.
pub struct RequestBody {
    bytes: Bytes,
    encoding: Encoding,
    max_decompressed_bytes: usize,
}

/// A route's own, smaller body limit (as sent and as expanded), set on the route as an
/// `Extension`: an enrolment or a heartbeat has no business being megabytes.
#[derive(Debug, Clone, Copy)]
pub struct BodyCap(pub usize);

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        codes::BODY_TOO_LARGE,
        format!("the body is over {limit} bytes; send fewer responses"),
    )
}

impl FromRequest<Arc<AppState>> for RequestBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let limits = &state.limits;
        let cap = req.extensions().get::<BodyCap>().map(|c| c.0);
        let max_body = cap.map_or(limits.max_body_bytes, |c| c.min(limits.max_body_bytes));
        let max_expanded = cap.map_or(limits.max_decompressed_bytes, |c| {
            c.min(limits.max_decompressed_bytes)
        });
        let headers = req.headers();
        let media = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = media.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/json") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                codes::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "Content-Type must be application/json, not {:?}",
                    earshot_protocol::text::visible(media)
                ),
            ));
        }
        let encoding = match headers
            .get(header::CONTENT_ENCODING)
            .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("identity") | Some("") => Encoding::Identity,
            Some("gzip") | Some("x-gzip") => Encoding::Gzip,
            Some(other) => {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    codes::UNSUPPORTED_ENCODING,
                    format!(
                        "Content-Encoding {:?} is not supported; use gzip or none",
                        earshot_protocol::text::visible(other)
                    ),
                ))
            }
        };
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > max_body as u64) {
            return Err(too_large(max_body));
        }
        let deadline = tokio::time::Instant::now() + limits.body_timeout;
        let timed_out = || {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                codes::BODY_TIMEOUT,
                format!(
                    "the body did not arrive within {} s",
                    limits.body_timeout.as_secs()
                ),
            )
        };
        let _permit =
            match tokio::time::timeout_at(deadline, state.body_permits.clone().acquire_owned())
                .await
            {
                Ok(Ok(p)) => p,
                Ok(Err(_)) | Err(_) => {
                    return Err(ApiError::busy(
                        "the collector is reading as many bodies as it can; try again shortly",
                    ))
                }
            };
        let body = http_body_util::Limited::new(req.into_body(), max_body);
        let bytes = match tokio::time::timeout_at(deadline, body.collect()).await {
            Err(_) => return Err(timed_out()),
            Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
                return Err(too_large(max_body))
            }
            Ok(Err(e)) => {
                return Err(ApiError::bad_request(
                    codes::MALFORMED_JSON,
                    format!("the body could not be read: {e}"),
                ))
            }
            Ok(Ok(collected)) => collected.to_bytes(),
        };
        Ok(RequestBody {
            bytes,
            encoding,
            max_decompressed_bytes: max_expanded,
        })
    }
}

/// A reader that stops with an error once more than `left` bytes have come through, and
/// remembers that it did.
struct Capped<R> {
    inner: R,
    left: u64,
    exceeded: bool,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // One byte more tells a body of exactly the limit from a longer one.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => {
                    self.exceeded = true;
                    Err(std::io::Error::other("body over its expanded size limit"))
                }
            };
        }
        let want = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Set in a `Deserialize` impl to stop parsing as soon as a count limit is passed; the
/// error is then answered 413 with `code`.
pub const OVER_LIMIT: &str = "[over the limit]";

impl RequestBody {
    /// Decodes and parses the body as `T`, streaming: the expanded text is never held whole
    /// and is capped at `max_decompressed_bytes`. CPU work: call it from `blocking`.
    pub fn parse<T: DeserializeOwned>(
        &self,
        what: &str,
        over_limit: (&str, &str),
    ) -> Result<T, ApiError> {
        let cap = self.max_decompressed_bytes as u64;
        let source: Box<dyn Read + '_> = match self.encoding {
            Encoding::Identity => Box::new(&self.bytes[..]),
            Encoding::Gzip => Box::new(flate2::read::GzDecoder::new(&self.bytes[..])),
        };
        let mut reader = Capped {
            inner: source,
            left: cap,
            exceeded: false,
        };
        let parsed = serde_json::from_reader(BufReader::new(&mut reader));
        if reader.exceeded {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                codes::BODY_TOO_LARGE,
                format!("the body expands to over {cap} bytes; send fewer responses"),
            ));
        }
        parsed.map_err(|e| {
            use serde_json::error::Category;
            if e.to_string().contains(OVER_LIMIT) {
                let (code, message) = over_limit;
                return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, code, message);
            }
            match e.classify() {
                Category::Io => ApiError::bad_request(
                    codes::BAD_GZIP,
                    format!("the body is not valid gzip: {e}"),
                ),
                Category::Data => {
                    ApiError::bad_request(codes::INVALID_BATCH, format!("{what}: {e}"))
                }
                Category::Syntax | Category::Eof => {
                    ApiError::bad_request(codes::MALFORMED_JSON, format!("{what}: {e}"))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn body(bytes: Vec<u8>, encoding: Encoding, cap: usize) -> RequestBody {
        RequestBody {
            bytes: Bytes::from(bytes),
            encoding,
            max_decompressed_bytes: cap,
        }
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn a_body_of_exactly_the_cap_reads_and_one_byte_more_is_too_large() {
        let text = format!("\"{}\"", "a".repeat(98));
        assert_eq!(text.len(), 100);
        let ok: String = body(text.clone().into_bytes(), Encoding::Identity, 100)
            .parse("x", ("", ""))
            .unwrap();
        assert_eq!(ok.len(), 98);
        let e = body(gzip(format!("{text} ").as_bytes()), Encoding::Gzip, 100)
            .parse::<String>("x", ("", ""))
            .unwrap_err();
        assert_eq!(e.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(e.reason.code, codes::BODY_TOO_LARGE);
    }

    #[test]
    fn broken_gzip_and_broken_json_are_told_apart() {
        let e = body(b"\x1f\x8bnot gzip".to_vec(), Encoding::Gzip, 1000)
            .parse::<serde_json::Value>("x", ("", ""))
            .unwrap_err();
        assert_eq!(e.reason.code, codes::BAD_GZIP);
        let e = body(b"{\"a\":".to_vec(), Encoding::Identity, 1000)
            .parse::<serde_json::Value>("x", ("", ""))
            .unwrap_err();
        assert_eq!(e.reason.code, codes::MALFORMED_JSON);
    }
}
