//! What the pages for people share: the error type of a page and where it becomes a response
//! (an HTML page, or a redirect to sign in), rendering a template, cookies, and the
//! workspace's stylesheet served from the binary.

use std::sync::Arc;

use askama::Template;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use super::AppState;

/// A page could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// Nobody is signed in: to the sign-in page, then back to `next`.
    SignIn {
        next: String,
    },
    /// Signed in, but the role does not allow it.
    Forbidden,
    /// A form came without its CSRF token, or with another session's.
    BadForm,
    NotFound,
    /// A form's value cannot be used; the message says which and how to fix it.
    Invalid(String),
    /// The store failed.
    Unavailable(String),
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    heading: &'a str,
    message: &'a str,
}

pub fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => PageError::Unavailable(format!("template: {e}")).into_response(),
    }
}

/// A page with a form on it, answered 422 when it comes back with the form's problem.
pub fn render_form(template: &impl Template, failed: bool) -> Response {
    let mut response = render(template);
    if failed {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, heading, message) = match &self {
            PageError::SignIn { next } => {
                let target = format!("/login?next={}", percent_encode(next));
                return Redirect::to(&target).into_response();
            }
            PageError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Not allowed",
                "Your role does not allow this page. An admin can change your role.",
            ),
            PageError::BadForm => (
                StatusCode::FORBIDDEN,
                "This form has expired",
                "The form was not sent from this session (or it was open too long). Go back, \
                 reload the page and send it again.",
            ),
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing at this address.",
            ),
            PageError::Invalid(message) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "That cannot be used",
                message.as_str(),
            ),
            PageError::Unavailable(detail) => {
                tracing::error!(%detail, "a page could not be made");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Try again shortly",
                    "The workspace cannot read its data just now.",
                )
            }
        };
        let html = ErrorPage { heading, message }
            .render()
            .unwrap_or_else(|_| message.to_string());
        (status, Html(html)).into_response()
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(e: crate::store::StoreError) -> PageError {
        PageError::Unavailable(e.to_string())
    }
}

/// Runs store work off the async threads, for pages.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PageError> + Send + 'static,
) -> Result<T, PageError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(PageError::Unavailable(format!("worker failed: {e}"))))
}

/// Percent-encodes everything but unreserved characters, for a query value.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The value of cookie `name` in the request, if sent.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// A `Set-Cookie` value: HttpOnly and SameSite=Strict always, Secure when the workspace is
/// served over HTTPS. `max_age_s` 0 removes the cookie.
pub fn set_cookie(name: &str, value: &str, max_age_s: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

const STYLESHEET: &str = include_str!("../../assets/workspace.css");

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route(
        "/static/workspace.css",
        get(|| async {
            (
                [
                    (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                    (header::CACHE_CONTROL, "max-age=3600"),
                ],
                STYLESHEET,
            )
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name_among_several() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; earshot_session=abc; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&headers, "earshot_session").as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }

    #[test]
    fn a_next_address_is_encoded() {
        assert_eq!(
            percent_encode("/results?site=a b&x"),
            "/results%3Fsite%3Da%20b%26x"
        );
    }
}
