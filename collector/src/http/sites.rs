//! `/admin/sites`: each site's name, time zone and place in organisation → area → site.
//! Admins only; a site is known from its first enrolment code on.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use super::page::{blocking, render_form, PageError};
use super::session::{Admin, Nav, Require, SignedIn};
use super::AppState;
use crate::store::Site;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/admin/sites", get(sites_page).post(set_site))
}

#[derive(Template)]
#[template(path = "sites.html")]
struct SitesPage {
    nav: Nav,
    sites: Vec<Site>,
    message: String,
    failed: bool,
}

async fn page(
    state: &Arc<AppState>,
    signed_in: &SignedIn,
    message: String,
    failed: bool,
) -> Result<Response, PageError> {
    let store = state.store.clone();
    let sites = blocking(move || Ok(store.sites()?)).await?;
    Ok(render_form(
        &SitesPage {
            nav: Nav::of(signed_in, "sites"),
            sites,
            message,
            failed,
        },
        failed,
    ))
}

async fn sites_page(
    State(state): State<Arc<AppState>>,
    Require(signed_in, _): Require<Admin>,
) -> Result<Response, PageError> {
    page(&state, &signed_in, String::new(), false).await
}

#[derive(Deserialize)]
struct SiteForm {
    #[serde(default)]
    csrf: String,
    id: String,
    name: String,
    time_zone: String,
    #[serde(default)]
    area: String,
    #[serde(default)]
    organisation: String,
}

/// A site as an admin typed it, checked once: a valid id, a name, a time zone this machine
/// knows.
fn parse(form: &SiteForm) -> Result<Site, String> {
    let id = earshot_protocol::SiteId::parse(form.id.trim()).map_err(|e| e.to_string())?;
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        return Err("Give the site a name of 1 to 120 characters.".into());
    }
    let zone = form.time_zone.trim();
    if jiff::tz::TimeZone::get(zone).is_err() {
        return Err(format!(
            "{:?} is not a time zone; use a name such as Europe/London.",
            earshot_protocol::text::visible(zone)
        ));
    }
    Ok(Site {
        id: id.to_string(),
        name: name.to_string(),
        time_zone: zone.to_string(),
        area: form.area.trim().to_string(),
        organisation: form.organisation.trim().to_string(),
    })
}

async fn set_site(
    State(state): State<Arc<AppState>>,
    Require(signed_in, _): Require<Admin>,
    Form(form): Form<SiteForm>,
) -> Result<Response, PageError> {
    signed_in.check_form(&form.csrf)?;
    let site = match parse(&form) {
        Ok(site) => site,
        Err(problem) => return page(&state, &signed_in, problem, true).await,
    };
    let store = state.store.clone();
    let saved = site.clone();
    blocking(move || Ok(store.set_site(&saved)?)).await?;
    tracing::info!(by = %signed_in.user().email, site = %site.id, "site set");
    page(&state, &signed_in, format!("Saved {}.", site.name), false).await
}
