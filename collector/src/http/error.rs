//! The one error type of the HTTP room, and the one place it becomes a response: a status,
//! the protocol's machine-readable reason, and a Retry-After when waiting will help.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use earshot_protocol::{codes, ErrorReply, Reason};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub reason: Reason,
    pub retry_after_s: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            reason: Reason::new(code, message),
            retry_after_s: None,
        }
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after_s = Some(seconds.max(1));
        self
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            codes::UNAUTHORIZED,
            "no valid device token; provision the device again",
        )
    }

    /// The store failed: the request is refused whole and the kiosk will resend it.
    pub fn unavailable(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(%detail, "storage problem; the request was refused and will be resent");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            codes::UNAVAILABLE,
            "the collector cannot store data just now; try again later",
        )
        .retry_after(5)
    }

    pub fn busy(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            codes::TOO_MANY_REQUESTS,
            message,
        )
        .retry_after(5)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        tracing::info!(status = %self.status, code = %self.reason.code, "request refused");
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

/// Runs store or parsing work off the async threads. A panic inside becomes a 503, never a
/// dropped connection or a 500.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(ApiError::unavailable(format!("worker failed: {e}"))))
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, "no such endpoint")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        codes::METHOD_NOT_ALLOWED,
        "this endpoint does not take that method",
    )
}
