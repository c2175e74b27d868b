//! Signing in and out, and the extractors every page starts from: `SignedIn` (a session
//! cookie that names a live session) and `Require<R>` (a signed-in user whose role is at
//! least `R`). Roles are checked here, on the server, for every page and action.
//!
//! Invariants:
//! - The session cookie is a 256-bit random token, HttpOnly, SameSite=Strict, Secure when the
//!   workspace is served over HTTPS; the store keeps only its hash; it expires after
//!   `SESSION_HOURS`, and signing out ends it everywhere.
//! - Every form carries a CSRF token: the session's own, or for the sign-in form (before
//!   there is a session) one also set as a cookie, and a form whose token does not match is
//!   refused without acting.
//! - Failed sign-ins are slowed per account and per address: past `ACCOUNT_FAILURES` for an
//!   account or `ADDRESS_FAILURES` from an address within `FAILURE_WINDOW`, sign-in is
//!   refused until the window has passed, with the same words whether or not the password
//!   was right, and an unknown e-mail costs the same time as a wrong password.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use askama::Template;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use earshot_protocol::random::random_hex;
use serde::Deserialize;

use super::extract::ClientAddr;
use super::page::{blocking, cookie, render, same_secret, set_cookie, PageError};
use super::AppState;
use crate::accounts::{decoy_hash, password_matches, Role, User};
use crate::store::Session;

pub const SESSION_COOKIE: &str = "earshot_session";
const SIGN_IN_COOKIE: &str = "earshot_sign_in";
pub const SESSION_HOURS: u64 = 12;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
pub const ACCOUNT_FAILURES: u64 = 5;
pub const ADDRESS_FAILURES: u64 = 20;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(sign_in_page).post(sign_in))
        .route("/logout", axum::routing::post(sign_out))
}

/// The signed-in user of a request, with the session's token and CSRF token.
pub struct SignedIn {
    pub session: Session,
    token: String,
}

impl SignedIn {
    pub fn user(&self) -> &User {
        &self.session.user
    }

    /// Refuses a form that does not carry this session's CSRF token.
    pub fn check_form(&self, csrf: &str) -> Result<(), PageError> {
        if same_secret(csrf, &self.session.csrf) {
            Ok(())
        } else {
            Err(PageError::BadForm)
        }
    }
}

impl FromRequestParts<Arc<AppState>> for SignedIn {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, PageError> {
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let sign_in = || PageError::SignIn { next: next.clone() };
        let token = cookie(&parts.headers, SESSION_COOKIE)
            .filter(|t| t.len() == 64)
            .ok_or_else(sign_in)?;
        let store = state.store.clone();
        let lookup = token.clone();
        let session = blocking(move || Ok(store.session(&lookup, SystemTime::now())?))
            .await?
            .ok_or_else(sign_in)?;
        Ok(SignedIn { session, token })
    }
}

/// A role a page requires at least.
pub trait RoleFloor {
    const ROLE: Role;
}
pub struct Viewer;
pub struct CaseHandler;
pub struct Admin;
impl RoleFloor for Viewer {
    const ROLE: Role = Role::Viewer;
}
impl RoleFloor for CaseHandler {
    const ROLE: Role = Role::CaseHandler;
}
impl RoleFloor for Admin {
    const ROLE: Role = Role::Admin;
}

/// A signed-in user whose role is at least `R`.
pub struct Require<R: RoleFloor>(pub SignedIn, pub PhantomData<R>);

impl<R: RoleFloor> FromRequestParts<Arc<AppState>> for Require<R> {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, PageError> {
        let signed_in = SignedIn::from_request_parts(parts, state).await?;
        if signed_in.user().role < R::ROLE {
            tracing::warn!(user = %signed_in.user().email, path = %parts.uri.path(),
                "a page was refused to a user whose role does not allow it");
            return Err(PageError::Forbidden);
        }
        Ok(Require(signed_in, PhantomData))
    }
}

/// What the page header needs.
pub struct Nav {
    pub page: &'static str,
    pub email: String,
    pub role: &'static str,
    pub csrf: String,
    pub is_admin: bool,
    pub is_case_handler: bool,
}

impl Nav {
    pub fn of(signed_in: &SignedIn, page: &'static str) -> Nav {
        Nav {
            page,
            email: signed_in.user().email.clone(),
            role: signed_in.user().role.label(),
            csrf: signed_in.session.csrf.clone(),
            is_admin: signed_in.user().role >= Role::Admin,
            is_case_handler: signed_in.user().role >= Role::CaseHandler,
        }
    }
}

async fn home(headers: HeaderMap, State(state): State<Arc<AppState>>) -> Redirect {
    let signed_in = match cookie(&headers, SESSION_COOKIE) {
        Some(token) => {
            let store = state.store.clone();
            blocking(move || Ok(store.session(&token, SystemTime::now())?))
                .await
                .ok()
                .flatten()
                .is_some()
        }
        None => false,
    };
    Redirect::to(if signed_in { "/results" } else { "/login" })
}

#[derive(Template)]
#[template(path = "login.html")]
struct SignInPage<'a> {
    csrf: &'a str,
    next: &'a str,
    email: &'a str,
    message: &'a str,
}

#[derive(Deserialize)]
struct Next {
    #[serde(default)]
    next: String,
}

/// Only an address on this site: never another host (`//evil`, `https://…`).
fn local_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/results"
    }
}

fn sign_in_form(
    state: &AppState,
    status: StatusCode,
    next: &str,
    email: &str,
    message: &str,
) -> Response {
    let csrf = random_hex(32).unwrap_or_default();
    let mut response = render(&SignInPage {
        csrf: &csrf,
        next: local_next(next),
        email,
        message,
    });
    *response.status_mut() = status;
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SIGN_IN_COOKIE, &csrf, 3600, state.web.secure_cookies),
    );
    response
}

async fn sign_in_page(State(state): State<Arc<AppState>>, Query(q): Query<Next>) -> Response {
    sign_in_form(&state, StatusCode::OK, &q.next, "", "")
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
    email: String,
    password: String,
}

enum SignInOutcome {
    SignedIn { token: String },
    Refused,
    Slowed,
}

async fn sign_in(
    State(state): State<Arc<AppState>>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let expected = cookie(&headers, SIGN_IN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same_secret(&form.csrf, &expected) {
        return PageError::BadForm.into_response();
    }
    let store = state.store.clone();
    let email = form.email.trim().to_string();
    let password = form.password;
    let outcome = blocking(move || {
        let now = SystemTime::now();
        let since = now - FAILURE_WINDOW;
        let account_key = format!("account:{}", email.to_lowercase());
        let address_key = format!("address:{addr}");
        if store.sign_in_failures(&account_key, since)? >= ACCOUNT_FAILURES
            || store.sign_in_failures(&address_key, since)? >= ADDRESS_FAILURES
        {
            return Ok(SignInOutcome::Slowed);
        }
        let found = store.user_for_sign_in(&email)?;
        let hash = found.as_ref().map_or(decoy_hash(), |(_, h)| h.as_str());
        let matches = password_matches(hash, &password);
        match found {
            Some((user, _)) if matches => {
                store.clear_sign_in_failures(&account_key)?;
                let token = random_hex(32).map_err(PageError::Unavailable)?;
                let csrf = random_hex(32).map_err(PageError::Unavailable)?;
                store.create_session(
                    &token,
                    &csrf,
                    user.id,
                    now,
                    now + Duration::from_secs(SESSION_HOURS * 3600),
                )?;
                tracing::info!(user = %user.email, %addr, "signed in");
                Ok(SignInOutcome::SignedIn { token })
            }
            _ => {
                store.record_sign_in_failure(&account_key, now)?;
                store.record_sign_in_failure(&address_key, now)?;
                tracing::warn!(%addr, email = %earshot_protocol::text::visible(&email),
                    "sign-in refused");
                Ok(SignInOutcome::Refused)
            }
        }
    })
    .await;
    match outcome {
        Ok(SignInOutcome::SignedIn { token }) => {
            let mut response = Redirect::to(local_next(&form.next)).into_response();
            let secure = state.web.secure_cookies;
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, &token, SESSION_HOURS * 3600, secure),
            );
            headers.append(
                header::SET_COOKIE,
                set_cookie(SIGN_IN_COOKIE, "", 0, secure),
            );
            response
        }
        Ok(SignInOutcome::Refused) => sign_in_form(
            &state,
            StatusCode::UNAUTHORIZED,
            &form.next,
            form.email.trim(),
            "That e-mail and password do not match an account. Check them and try again.",
        ),
        Ok(SignInOutcome::Slowed) => sign_in_form(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            &form.next,
            form.email.trim(),
            "Too many failed sign-ins. Wait 15 minutes and try again, or ask an admin.",
        ),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn sign_out(
    State(state): State<Arc<AppState>>,
    signed_in: SignedIn,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    signed_in.check_form(&form.csrf)?;
    let store = state.store.clone();
    let token = signed_in.token.clone();
    blocking(move || Ok(store.end_session(&token)?)).await?;
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, state.web.secure_cookies),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_addresses_are_followed_after_sign_in() {
        assert_eq!(local_next("/fleet?x=1"), "/fleet?x=1");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "evil",
            "/\\evil",
            "",
        ] {
            assert_eq!(local_next(bad), "/results", "{bad}");
        }
    }
}
