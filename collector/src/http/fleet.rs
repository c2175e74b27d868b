//! `/fleet`: every device, how it last reported, and what is wrong with it in plain words.
//! Admins also revoke devices and make enrolment codes here.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use askama::Template;
use axum::extract::State;
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::page::{blocking, render, PageError};
use super::session::{Admin, Nav, Require, Viewer};
use super::AppState;
use crate::store::DeviceRow;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/fleet", get(fleet_page))
        .route("/fleet.csv", get(fleet_csv))
        .route("/fleet/revoke", post(revoke))
        .route("/fleet/enrolment-code", post(enrolment_code))
}

struct AlarmLine {
    code: String,
    problem: String,
    fix: String,
}

struct DeviceLine {
    id: String,
    site: String,
    stale: bool,
    last_seen: String,
    last_seen_ago: String,
    app_version: String,
    survey: String,
    queue: String,
    oldest_unsent: String,
    clock: &'static str,
    alarms: Vec<AlarmLine>,
    revoked: bool,
}

/// "3 min ago", "2 h ago", "5 days ago".
fn ago(seconds: u64) -> String {
    match seconds {
        0..=89 => "just now".into(),
        90..=5399 => format!("{} min ago", (seconds + 30) / 60),
        5400..=129_599 => format!("{} h ago", (seconds + 1800) / 3600),
        _ => format!("{} days ago", (seconds + 43_200) / 86_400),
    }
}

fn line(d: &DeviceRow, now: SystemTime, stale_after: Duration) -> DeviceLine {
    let seen = d
        .last_seen_at
        .as_deref()
        .and_then(|t| earshot_protocol::time::parse_rfc3339(t).ok());
    let age = seen.and_then(|s| now.duration_since(s).ok());
    let status = d.last_status.as_ref();
    DeviceLine {
        id: d.id.clone(),
        site: d.site.clone(),
        stale: d.revoked_at.is_none() && age.is_none_or(|a| a > stale_after),
        last_seen: d.last_seen_at.clone().unwrap_or_else(|| "never".into()),
        last_seen_ago: age.map(|a| ago(a.as_secs())).unwrap_or_default(),
        app_version: status.map(|s| s.app_version.clone()).unwrap_or_default(),
        survey: status
            .map(|s| format!("{} {}", s.survey_id, s.survey_version))
            .unwrap_or_default(),
        queue: status
            .map(|s| format!("{} waiting, {} set aside", s.queue_depth, s.dead_letters))
            .unwrap_or_default(),
        oldest_unsent: status
            .and_then(|s| s.oldest_unsent_age_s)
            .map(ago)
            .unwrap_or_default(),
        clock: match status.map(|s| s.clock.synchronized) {
            Some(true) => "synchronised",
            Some(false) => "not synchronised",
            None => "",
        },
        alarms: status
            .map(|s| {
                s.alarms
                    .iter()
                    .map(|code| {
                        let (problem, fix) = earshot_protocol::alarms::describe(code).unwrap_or((
                            "An alarm this collector does not know.",
                            "See the device.",
                        ));
                        AlarmLine {
                            code: code.clone(),
                            problem: problem.into(),
                            fix: fix.into(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default(),
        revoked: d.revoked_at.is_some(),
    }
}

#[derive(Template)]
#[template(path = "fleet.html")]
struct FleetPage {
    nav: Nav,
    devices: Vec<DeviceLine>,
    stale_hours: u64,
    can_manage: bool,
    sites: Vec<String>,
    new_code: Option<NewCode>,
}

struct NewCode {
    code: String,
    site: String,
    qr_svg: String,
}

async fn fleet(
    state: &Arc<AppState>,
    nav: Nav,
    can_manage: bool,
    new_code: Option<NewCode>,
) -> Result<Response, PageError> {
    let store = state.store.clone();
    let (devices, sites) = blocking(move || Ok((store.devices()?, store.sites()?))).await?;
    let now = SystemTime::now();
    let stale_after = state.web.stale_after;
    let name_of = |id: &str| {
        sites
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    Ok(render(&FleetPage {
        nav,
        devices: devices
            .iter()
            .map(|d| DeviceLine {
                site: name_of(&d.site),
                ..line(d, now, stale_after)
            })
            .collect(),
        stale_hours: stale_after.as_secs() / 3600,
        can_manage,
        sites: sites.into_iter().map(|s| s.id).collect(),
        new_code,
    }))
}

/// The fleet page's table as CSV, with every text cell neutralised for spreadsheets.
async fn fleet_csv(
    State(state): State<Arc<AppState>>,
    Require(_, _): Require<Viewer>,
) -> Result<Response, PageError> {
    use axum::response::IntoResponse;
    use std::fmt::Write as _;
    let store = state.store.clone();
    let devices = blocking(move || Ok(store.devices()?)).await?;
    let now = SystemTime::now();
    let cell = crate::export::cell;
    let mut csv = String::from(
        "device,site,last seen,not reporting,app version,survey,queue,oldest unsent,clock,alarms\r\n",
    );
    for d in &devices {
        let l = line(d, now, state.web.stale_after);
        let alarms: Vec<String> = l
            .alarms
            .iter()
            .map(|a| format!("{} {}", a.problem, a.fix))
            .collect();
        let _ = write!(
            csv,
            "{},{},{},{},{},{},{},{},{},{}\r\n",
            cell(&l.id),
            cell(&l.site),
            cell(&l.last_seen),
            if l.stale { "yes" } else { "no" },
            cell(&l.app_version),
            cell(&l.survey),
            cell(&l.queue),
            cell(&l.oldest_unsent),
            cell(l.clock),
            cell(&alarms.join("; "))
        );
    }
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"earshot-fleet.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}

async fn fleet_page(
    State(state): State<Arc<AppState>>,
    Require(signed_in, _): Require<Viewer>,
) -> Result<Response, PageError> {
    let can_manage = signed_in.user().role >= crate::accounts::Role::Admin;
    fleet(&state, Nav::of(&signed_in, "fleet"), can_manage, None).await
}

#[derive(Deserialize)]
struct RevokeForm {
    #[serde(default)]
    csrf: String,
    device_id: String,
}

async fn revoke(
    State(state): State<Arc<AppState>>,
    Require(signed_in, _): Require<Admin>,
    Form(form): Form<RevokeForm>,
) -> Result<Redirect, PageError> {
    signed_in.check_form(&form.csrf)?;
    let store = state.store.clone();
    let id = form.device_id.clone();
    let found = blocking(move || Ok(store.revoke(&id, SystemTime::now())?)).await?;
    if !found {
        return Err(PageError::NotFound);
    }
    tracing::warn!(user = %signed_in.user().email, device = %earshot_protocol::text::visible(&form.device_id),
        "device revoked from the fleet page");
    Ok(Redirect::to("/fleet"))
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    csrf: String,
    site: String,
}

/// A QR code as SVG squares, with the quiet zone the standard asks for.
fn qr_svg(text: &str) -> String {
    use qrcodegen::{QrCode, QrCodeEcc};
    let Ok(qr) = QrCode::encode_text(text, QrCodeEcc::Medium) else {
        return String::new();
    };
    let size = qr.size();
    let border = 4;
    let full = size + 2 * border;
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {full} {full}\" width=\"200\" height=\"200\" role=\"img\" aria-label=\"QR code of the enrolment code\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    )
}

async fn enrolment_code(
    State(state): State<Arc<AppState>>,
    Require(signed_in, _): Require<Admin>,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    signed_in.check_form(&form.csrf)?;
    let site =
        earshot_protocol::SiteId::parse(form.site.trim()).map_err(|_| PageError::NotFound)?;
    let store = state.store.clone();
    let for_site = site.clone();
    let code = blocking(move || {
        Ok(store.create_enrollment_code(
            &for_site,
            SystemTime::now() + Duration::from_secs(24 * 3600),
        )?)
    })
    .await?;
    tracing::info!(user = %signed_in.user().email, site = %site, "enrolment code made from the fleet page");
    let new_code = NewCode {
        qr_svg: qr_svg(&code),
        code,
        site: site.to_string(),
    };
    fleet(&state, Nav::of(&signed_in, "fleet"), true, Some(new_code)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_people_say_them() {
        assert_eq!(ago(10), "just now");
        assert_eq!(ago(600), "10 min ago");
        assert_eq!(ago(3 * 3600), "3 h ago");
        assert_eq!(ago(5 * 86_400), "5 days ago");
    }
}
