//! `POST /v1/enroll`: a new device exchanges a one-time code for its token.
//!
//! Invariants: attempts are limited per client address before the body is read, so codes
//! cannot be guessed at speed; every refusal is logged with the address and the reason,
//! never with the code tried; a device id enrolled at one site moves to another only when
//! the request says `reassign`, and the move is logged.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use earshot_protocol::time::rfc3339;
use earshot_protocol::{codes, DeviceId, EnrollReply, SiteId, ENROLL_PATH};
use governor::clock::{Clock, DefaultClock};
use serde::Deserialize;

use super::error::{blocking, ApiError};
use super::extract::{BodyCap, ClientAddr, RequestBody};
use super::AppState;
use crate::store::EnrollError;

/// An enrolment request is a code and two names: a few hundred bytes.
const MAX_ENROLMENT_BODY: usize = 16 * 1024;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(ENROLL_PATH, post(post_enroll))
        .layer(axum::Extension(BodyCap(MAX_ENROLMENT_BODY)))
}

/// One enrolment attempt from an address still within its budget; counted before the body
/// is read, so that malformed guesses count too.
struct Attempt(IpAddr);

impl FromRequestParts<Arc<AppState>> for Attempt {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let ClientAddr(addr) = ClientAddr::from_request_parts(parts, state).await?;
        let limiter = &state.enrol_attempts;
        if limiter.len() > 10_000 {
            limiter.retain_recent();
        }
        if let Err(not_until) = limiter.check_key(&attempt_key(addr)) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return Err(refused(
                addr,
                "",
                ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    codes::RATE_LIMITED,
                    "too many enrolment attempts from this address; wait and try again",
                )
                .retry_after(wait.as_secs() + 1),
            ));
        }
        Ok(Attempt(addr))
    }
}

/// The enrolment request as sent; parsed into typed ids before anything else happens.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IncomingEnrolment {
    code: String,
    device_id: String,
    #[serde(default)]
    site: Option<String>,
    #[serde(default)]
    reassign: bool,
}

/// The key attempts are counted under: the address, or its /64 for IPv6, since one host
/// there usually holds a whole /64.
pub fn attempt_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
        }
    }
}

fn refused(addr: IpAddr, device: &str, error: ApiError) -> ApiError {
    tracing::warn!(%addr, device = %earshot_protocol::text::visible(device),
        code = %error.reason.code, "enrolment refused");
    error
}

async fn post_enroll(
    State(state): State<Arc<AppState>>,
    Attempt(addr): Attempt,
    body: RequestBody,
) -> Result<Json<EnrollReply>, ApiError> {
    let request: IncomingEnrolment =
        blocking(move || body.parse("the enrolment request", ("", "")))
            .await
            .map_err(|e| refused(addr, "", e))?;
    let device_id = DeviceId::parse(request.device_id.trim()).map_err(|e| {
        refused(
            addr,
            &request.device_id,
            ApiError::bad_request(
                codes::INVALID_DEVICE_ID,
                format!("{e}; change [device] id in the kiosk's earshot.toml"),
            ),
        )
    })?;
    let site = match request.site.as_deref().map(|s| SiteId::parse(s.trim())) {
        None => None,
        Some(Ok(site)) => Some(site),
        Some(Err(e)) => {
            return Err(refused(
                addr,
                device_id.as_str(),
                ApiError::bad_request(codes::INVALID_SITE_ID, format!("{e}")),
            ))
        }
    };
    let store = state.store.clone();
    let code = request.code;
    let reassign = request.reassign;
    let id = device_id.clone();
    let (result, receipt_secret) = blocking(move || {
        let result = store
            .enroll(&code, &id, site.as_ref(), reassign, SystemTime::now())
            .map_err(ApiError::unavailable)?;
        let secret = match &result {
            Ok(_) => Some(store.receipt_secret().map_err(ApiError::unavailable)?),
            Err(_) => None,
        };
        Ok((result, secret))
    })
    .await?;
    let enrolled = result.map_err(|e| {
        let error = match e {
            EnrollError::InvalidCode(message) => {
                ApiError::new(StatusCode::FORBIDDEN, codes::INVALID_CODE, message)
            }
            EnrollError::SiteMismatch { code_site, asked } => ApiError::new(
                StatusCode::FORBIDDEN,
                codes::SITE_MISMATCH,
                format!("this code is for site {code_site:?}, not {asked:?}"),
            ),
            EnrollError::EnrolledElsewhere {
                current_site,
                code_site,
            } => ApiError::new(
                StatusCode::CONFLICT,
                codes::DEVICE_ENROLLED_ELSEWHERE,
                format!(
                    "device {device_id} is enrolled at site {current_site:?}, and this code is for \
                     site {code_site:?}; to move the device, run `earshot provision` again with \
                     --reassign (the code stays valid until then)"
                ),
            ),
        };
        refused(addr, device_id.as_str(), error)
    })?;
    match &enrolled.moved_from {
        Some(from) => tracing::warn!(%addr, device = %enrolled.device_id, from = %from,
            to = %enrolled.site, "device moved to another site by re-enrolment"),
        None => tracing::info!(%addr, device = %enrolled.device_id, site = %enrolled.site,
            "device enrolled"),
    }
    Ok(Json(EnrollReply {
        device_id: enrolled.device_id,
        site: enrolled.site,
        token: enrolled.token,
        server_time: rfc3339(SystemTime::now()),
        receipt_secret,
        tracking_url: state
            .web
            .public_url
            .as_ref()
            .map(|base| format!("{}/t/{{ref}}", base.trim_end_matches('/'))),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_attempts_count_per_64_and_ipv4_per_address() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(attempt_key(a), attempt_key(b));
        assert_ne!(attempt_key(a), attempt_key(c));
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(attempt_key(v4), v4);
    }
}
