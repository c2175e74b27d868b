//! One upload request and what its reply means. Knows HTTP and the protocol; knows nothing of
//! the queue, so each reply can be classified (and tested) on its own.
//!
//! Every reply is read chunk by chunk against a limit for its kind ([`MAX_BATCH_REPLY_BYTES`],
//! [`MAX_SMALL_REPLY_BYTES`]): a server that answers with an endless or enormous body (not a
//! collector, a captive portal, a misconfigured proxy) gets a transient error naming the
//! limit, and the kiosk's memory never holds more than the limit and one chunk of it.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use earshot_protocol::text::visible;
use earshot_protocol::{
    BatchReply, BatchRequest, DeviceStatus, EnrollReply, EnrollRequest, ErrorReply, ResponseRecord,
    StatusRequest, BATCHES_PATH, ENROLL_PATH, IDEMPOTENCY_KEY, STATUS_PATH,
};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use reqwest::StatusCode;
use uuid::Uuid;

use super::backoff::parse_retry_after;
use crate::core::problem::Problem;
use crate::files::config::{ServerUrl, UploadConfig};

/// The most a batch reply may be: one result per response for the most responses a batch
/// may carry, each with a reason, is well under this.
pub const MAX_BATCH_REPLY_BYTES: usize = 8 * 1024 * 1024;
/// The most a status or enrolment reply (or any error reply) may be: a few hundred bytes
/// from a collector.
pub const MAX_SMALL_REPLY_BYTES: usize = 64 * 1024;

/// Why a send did not deliver, and so what to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// 401/403: the device is not (or no longer) authorised. Stop, keep everything, alarm.
    Unauthorized(String),
    /// 413: the batch is too large; send smaller ones.
    TooLarge(String),
    /// 429/503: wait at least this long, if the receiver said.
    RetryAfter(Option<Duration>, String),
    /// 409: the receiver is still working on this batch; send it again unchanged.
    InProgress(String),
    /// 400/422 explained by the collector: it refuses this request as it is. Resending it
    /// unchanged will not help.
    Refused(String),
    /// 5xx, timeouts, connection errors, an unreadable reply: try again later, unchanged.
    Transient(String),
}

impl SendError {
    pub fn message(&self) -> &str {
        match self {
            SendError::Unauthorized(m)
            | SendError::TooLarge(m)
            | SendError::RetryAfter(_, m)
            | SendError::InProgress(m)
            | SendError::Refused(m)
            | SendError::Transient(m) => m,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub server: reqwest::Url,
    pub ca_file: Option<std::path::PathBuf>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

impl ClientSettings {
    /// How to reach `server` under `[upload]`'s CA file and timeouts.
    pub fn new(server: &ServerUrl, upload: &UploadConfig) -> ClientSettings {
        ClientSettings {
            server: server.url().clone(),
            ca_file: upload.ca_file.clone(),
            connect_timeout: upload.connect_timeout,
            request_timeout: upload.request_timeout,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    server: reqwest::Url,
}

/// gzip at a fast level: the Pi's CPU is better spent on the screen, and survey answers
/// compress well at any level.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::fast(),
    );
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

impl Client {
    pub fn new(settings: &ClientSettings) -> Result<Client, Problem> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .user_agent(concat!("earshot/", env!("CARGO_PKG_VERSION")))
            // The server is fixed by configuration; a redirect elsewhere would carry the token.
            .redirect(reqwest::redirect::Policy::none())
            .use_rustls_tls();
        if let Some(path) = &settings.ca_file {
            for cert in read_ca_file(path)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| format!("cannot set up HTTPS: {e}"))?;
        Ok(Client {
            http,
            server: settings.server.clone(),
        })
    }

    fn url(&self, path: &str) -> reqwest::Url {
        let mut url = self.server.clone();
        let base = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{base}{path}"));
        url
    }

    /// Sends one batch. `Ok` only for a 200 whose reply is a well-formed answer to this batch.
    pub async fn send_batch(
        &self,
        token: &str,
        batch_id: Uuid,
        records: &[ResponseRecord],
        status: DeviceStatus,
    ) -> Result<(BatchReply, usize), SendError> {
        let request = BatchRequest {
            batch_id,
            status,
            responses: records.iter().collect::<Vec<_>>(),
        };
        let json = serde_json::to_vec(&request)
            .map_err(|e| SendError::Refused(format!("the batch could not be encoded: {e}")))?;
        let body = gzip(&json);
        let sent = body.len();
        let response = self
            .http
            .post(self.url(BATCHES_PATH))
            .header(AUTHORIZATION, bearer(token)?)
            .header(IDEMPOTENCY_KEY, batch_id.to_string())
            .header(CONTENT_TYPE, "application/json")
            .header(CONTENT_ENCODING, "gzip")
            .body(body)
            .send()
            .await
            .map_err(|e| SendError::Transient(describe_reqwest(&e)))?;
        let reply: BatchReply = read_reply(response, MAX_BATCH_REPLY_BYTES).await?;
        if reply.batch_id != batch_id {
            return Err(SendError::Transient(format!(
                "the receiver answered for batch {} instead of {batch_id}",
                reply.batch_id
            )));
        }
        Ok((reply, sent))
    }

    pub async fn send_status(&self, token: &str, status: DeviceStatus) -> Result<(), SendError> {
        let json = serde_json::to_vec(&StatusRequest { status })
            .map_err(|e| SendError::Refused(format!("the status could not be encoded: {e}")))?;
        let response = self
            .http
            .post(self.url(STATUS_PATH))
            .header(AUTHORIZATION, bearer(token)?)
            .header(CONTENT_TYPE, "application/json")
            .header(CONTENT_ENCODING, "gzip")
            .body(gzip(&json))
            .send()
            .await
            .map_err(|e| SendError::Transient(describe_reqwest(&e)))?;
        let _: earshot_protocol::StatusReply = read_reply(response, MAX_SMALL_REPLY_BYTES).await?;
        Ok(())
    }

    pub async fn enroll(&self, request: &EnrollRequest) -> Result<EnrollReply, SendError> {
        let json = serde_json::to_vec(request)
            .map_err(|e| SendError::Refused(format!("the request could not be encoded: {e}")))?;
        let response = self
            .http
            .post(self.url(ENROLL_PATH))
            .header(CONTENT_TYPE, "application/json")
            .body(json)
            .send()
            .await
            .map_err(|e| SendError::Transient(describe_reqwest(&e)))?;
        read_reply(response, MAX_SMALL_REPLY_BYTES).await
    }
}

fn bearer(token: &str) -> Result<HeaderValue, SendError> {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| SendError::Unauthorized("the stored device token is not valid text".into()))?;
    value.set_sensitive(true);
    Ok(value)
}

/// reqwest's errors without the URL (it is in the config) but with the cause, which says
/// what actually happened ("connection refused", "operation timed out").
fn describe_reqwest(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "no reply in time"
    } else if e.is_connect() {
        "cannot connect to the receiver"
    } else {
        "the request failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() {
        what.to_string()
    } else {
        format!("{what}: {cause}")
    }
}

/// The body of a 200 as `T`, or the error the status code stands for. The body is read at
/// most `limit` bytes far; a longer one is abandoned (the connection dropped) unread.
async fn read_reply<T: serde::de::DeserializeOwned>(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<T, SendError> {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()));
    let mut body = CappedBody::new(limit, response.content_length())?;
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        SendError::Transient(format!("the reply was cut off: {}", describe_reqwest(&e)))
    })? {
        body.push(&chunk)?;
    }
    classify(status, retry_after, body.bytes())
}

/// A reply body gathered up to a limit. Pure, so the limit is tested without a server.
#[derive(Debug)]
pub struct CappedBody {
    limit: usize,
    bytes: Vec<u8>,
}

impl CappedBody {
    /// Refuses at once a body whose announced length (`Content-Length`) is over the limit;
    /// the announcement is not trusted further than that, so [`CappedBody::push`] counts too.
    pub fn new(limit: usize, announced: Option<u64>) -> Result<CappedBody, SendError> {
        if announced.is_some_and(|n| n > limit as u64) {
            return Err(too_long(limit));
        }
        let expected = announced.map_or(0, |n| n as usize);
        Ok(CappedBody {
            limit,
            bytes: Vec::with_capacity(expected.min(limit)),
        })
    }

    /// Adds the next chunk, or fails when the body would pass the limit (the chunk is not
    /// kept).
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), SendError> {
        if chunk.len() > self.limit - self.bytes.len() {
            self.bytes = Vec::new();
            return Err(too_long(self.limit));
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

fn too_long(limit: usize) -> SendError {
    SendError::Transient(format!(
        "the receiver's reply is over {}, far more than an Earshot collector sends; check [upload] server, it may not point at an Earshot collector",
        size_text(limit)
    ))
}

/// A limit as people read it: "8 MiB", "64 KiB".
fn size_text(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// What a reply means. Pure, so every status code's handling is tested without a server.
pub fn classify<T: serde::de::DeserializeOwned>(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Result<T, SendError> {
    if status == StatusCode::OK {
        return serde_json::from_slice(body).map_err(|e| {
            SendError::Transient(format!("the receiver's reply could not be understood: {e}"))
        });
    }
    let from_collector = serde_json::from_slice::<ErrorReply>(body).ok();
    // The server's words go to terminals, logs and the device's status: shown, never acted on.
    let reason = from_collector
        .as_ref()
        .map(|r| format!("{} ({})", visible(&r.error.message), visible(&r.error.code)))
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            if text.trim().is_empty() {
                "no explanation given".into()
            } else {
                visible(&text)
            }
        });
    let message = format!("the receiver answered {status}: {reason}");
    Err(match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => SendError::Unauthorized(message),
        StatusCode::PAYLOAD_TOO_LARGE => SendError::TooLarge(message),
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
            SendError::RetryAfter(retry_after, message)
        }
        StatusCode::CONFLICT => SendError::InProgress(message),
        // The collector judged this request itself and explained why in the protocol's
        // words: resending it unchanged will not help.
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY if from_collector.is_some() => {
            SendError::Refused(message)
        }
        // Anything else (404, 405, 415, a 400 from something that is not a collector) says
        // the server setting or a proxy in front of it is wrong, not the responses: keep
        // them all and try again, so that fixing the setting delivers everything.
        s if s.is_client_error() => SendError::Transient(format!(
            "{message}; check [upload] server, it may not point at an Earshot collector"
        )),
        _ => SendError::Transient(message),
    })
}

fn read_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, Problem> {
    let pem = std::fs::read(path)
        .map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        format!(
            "the CA file {} is not PEM certificates: {e}",
            path.display()
        )
    })?;
    if certs.is_empty() {
        return Err(Problem::new(format!(
            "the CA file {} holds no certificates (expected -----BEGIN CERTIFICATE-----)",
            path.display()
        )));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(status: u16, body: &str) -> SendError {
        classify::<BatchReply>(StatusCode::from_u16(status).unwrap(), None, body.as_bytes())
            .unwrap_err()
    }

    #[test]
    fn each_status_code_means_what_the_protocol_says() {
        let body = r#"{"error":{"code":"x","message":"because"}}"#;
        assert!(matches!(err(401, body), SendError::Unauthorized(m) if m.contains("because")));
        assert!(matches!(err(403, ""), SendError::Unauthorized(_)));
        assert!(matches!(err(413, ""), SendError::TooLarge(_)));
        assert!(matches!(err(429, ""), SendError::RetryAfter(None, _)));
        assert!(matches!(err(503, ""), SendError::RetryAfter(None, _)));
        assert!(matches!(err(409, ""), SendError::InProgress(_)));
        assert!(matches!(err(400, body), SendError::Refused(_)));
        assert!(matches!(err(422, body), SendError::Refused(_)));
        // Not the collector speaking: a wrong server setting must not set responses aside.
        assert!(
            matches!(err(400, "<html>Bad Request</html>"), SendError::Transient(m) if m.contains("[upload] server"))
        );
        assert!(matches!(err(404, body), SendError::Transient(_)));
        assert!(matches!(err(405, ""), SendError::Transient(_)));
        assert!(matches!(err(415, body), SendError::Transient(_)));
        assert!(
            matches!(err(500, "<html>oops</html>"), SendError::Transient(m) if m.contains("oops"))
        );
        // What the server says is shown, never acted on by a terminal.
        let escape = r#"{"error":{"code":"x","message":"no\u001b[2J"}}"#;
        let shown = err(403, escape);
        assert!(matches!(shown, SendError::Unauthorized(_)));
        assert!(shown.message().contains("no\\u{001b}[2J"), "{shown:?}");
        let shown = err(502, "bad\r\ngateway\u{202e}");
        assert!(
            shown
                .message()
                .contains("bad\\u{000d}\\u{000a}gateway\\u{202e}"),
            "{shown:?}"
        );
        assert!(matches!(err(502, ""), SendError::Transient(_)));
        assert!(matches!(err(408, ""), SendError::Transient(_)));
        let retry = classify::<BatchReply>(
            StatusCode::TOO_MANY_REQUESTS,
            Some(Duration::from_secs(7)),
            b"",
        );
        assert!(
            matches!(retry, Err(SendError::RetryAfter(Some(d), _)) if d == Duration::from_secs(7))
        );
    }

    #[test]
    fn a_malformed_200_is_transient_not_success() {
        assert!(matches!(
            err(200, "{\"batch_id\":"),
            SendError::Transient(_)
        ));
        assert!(matches!(
            err(200, "<html>ok</html>"),
            SendError::Transient(_)
        ));
    }

    #[test]
    fn a_reply_over_its_limit_is_refused_by_length_or_by_count() {
        let over = |e: SendError| matches!(&e, SendError::Transient(m) if m.contains("over 64 KiB") && m.contains("[upload] server"));
        // Announced too long: refused before a byte is read.
        assert!(over(
            CappedBody::new(64 * 1024, Some(64 * 1024 + 1)).unwrap_err()
        ));
        // Announced short, or not announced (chunked): counted as it comes.
        for announced in [None, Some(10)] {
            let mut body = CappedBody::new(64 * 1024, announced).unwrap();
            let chunk = vec![b'x'; 1000];
            for _ in 0..65 {
                body.push(&chunk).unwrap();
            }
            assert_eq!(body.bytes().len(), 65_000);
            body.push(&chunk[..536]).unwrap();
            assert_eq!(body.bytes().len(), 64 * 1024, "exactly the limit is fine");
            assert!(over(body.push(b"x").unwrap_err()));
        }
        // One chunk larger than the whole limit.
        let mut body = CappedBody::new(MAX_BATCH_REPLY_BYTES, None).unwrap();
        let e = body.push(&vec![0; MAX_BATCH_REPLY_BYTES + 1]).unwrap_err();
        assert!(e.message().contains("over 8 MiB"), "{e:?}");
        assert_eq!(size_text(1000), "1000 bytes");
    }

    #[test]
    fn a_batch_reply_for_the_largest_batch_fits_its_limit() {
        let reason = Some(earshot_protocol::Reason::new(
            earshot_protocol::codes::INVALID_RESPONSE,
            "the answer to question \"visit-rating\" is not one of the survey's options; check the survey version on the kiosk",
        ));
        let reply = BatchReply {
            batch_id: Uuid::now_v7(),
            server_time: "2026-01-01T00:00:00Z".into(),
            results: (0..earshot_protocol::MAX_BATCH_RESPONSES)
                .map(|index| earshot_protocol::ItemResult {
                    id: Some(Uuid::now_v7()),
                    index,
                    status: earshot_protocol::ItemStatus::Rejected,
                    reason: reason.clone(),
                })
                .collect(),
        };
        let len = serde_json::to_vec(&reply).unwrap().len();
        assert!(len * 4 < MAX_BATCH_REPLY_BYTES, "{len} bytes");
    }

    #[test]
    fn a_ca_file_that_is_not_pem_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "hello").unwrap();
        let e = read_ca_file(&path).unwrap_err();
        assert!(e.contains("ca.pem"), "{e}");
        let e = read_ca_file(&dir.path().join("missing.pem")).unwrap_err();
        assert!(e.contains("cannot read"), "{e}");
    }

    #[test]
    fn gzip_round_trips() {
        let text = b"{\"a\":1}".repeat(100);
        let mut out = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&gzip(&text)[..]),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, text);
    }
}
