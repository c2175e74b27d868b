//! `/admin/users`: the people who use the workspace, and adding one. Admins only.

use std::sync::Arc;
use std::time::SystemTime;

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use super::page::{blocking, render_form, PageError};
use super::session::{Admin, Nav, Require, SignedIn};
use super::AppState;
use crate::accounts::{Email, NewPassword, Role, User};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/admin/users", get(users_page).post(add_user))
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    nav: Nav,
    users: Vec<User>,
    roles: Vec<(&'static str, &'static str)>,
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
    let users = blocking(move || Ok(store.users()?)).await?;
    Ok(render_form(
        &UsersPage {
            nav: Nav::of(signed_in, "users"),
            users,
            roles: Role::ALL.iter().map(|r| (r.as_str(), r.label())).collect(),
            message,
            failed,
        },
        failed,
    ))
}

async fn users_page(
    State(state): State<Arc<AppState>>,
    Require(signed_in, _): Require<Admin>,
) -> Result<Response, PageError> {
    page(&state, &signed_in, String::new(), false).await
}

#[derive(Deserialize)]
struct AddForm {
    #[serde(default)]
    csrf: String,
    email: String,
    role: String,
    password: String,
}

async fn add_user(
    State(state): State<Arc<AppState>>,
    Require(signed_in, _): Require<Admin>,
    Form(form): Form<AddForm>,
) -> Result<Response, PageError> {
    signed_in.check_form(&form.csrf)?;
    let parsed = Email::parse(&form.email).and_then(|email| {
        Ok((
            email,
            Role::parse(&form.role)?,
            NewPassword::parse(&form.password)?,
        ))
    });
    let (email, role, password) = match parsed {
        Ok(p) => p,
        Err(problem) => return page(&state, &signed_in, problem, true).await,
    };
    let store = state.store.clone();
    let added_email = email.clone();
    let added = blocking(move || {
        let hash = password.hash().map_err(PageError::Unavailable)?;
        Ok(store.add_user(&added_email, role, &hash, SystemTime::now())?)
    })
    .await?;
    if !added {
        return page(
            &state,
            &signed_in,
            format!("There is already a user {email}."),
            true,
        )
        .await;
    }
    tracing::info!(by = %signed_in.user().email, user = %email, %role, "user added");
    page(
        &state,
        &signed_in,
        format!("Added {email} as {}.", role.label()),
        false,
    )
    .await
    .map(IntoResponse::into_response)
}
