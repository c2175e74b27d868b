//! `/cases` and `/cases/<id>`: the case handlers' work. Case handlers and admins only;
//! contact details are shown on request, and every view of them is audited.

use std::sync::Arc;
use std::time::SystemTime;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::page::{blocking, render, PageError};
use super::session::{CaseHandler, Nav, Require};
use super::AppState;
use crate::accounts::{Role, User};
use crate::cases::{CaseState, Move};
use crate::store::{AuditEntry, CaseFilter, CaseRow, Contact, Note};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/cases", get(list))
        .route("/cases/assign", post(bulk_assign))
        .route("/cases/{id}", get(one))
        .route("/cases/{id}/move", post(move_case))
        .route("/cases/{id}/assign", post(assign))
        .route("/cases/{id}/note", post(note))
        .route("/cases/{id}/contact", post(contact))
        .route("/cases/{id}/erase", post(erase))
        .route("/cases/{id}/subject-access", get(subject_access))
}

fn today() -> String {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_string()
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    team: String,
    #[serde(default)]
    mine: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    all: String,
}

struct Line {
    case: CaseRow,
    overdue: bool,
}

#[derive(Template)]
#[template(path = "cases.html")]
struct ListPage {
    nav: Nav,
    lines: Vec<Line>,
    overdue: usize,
    team: String,
    mine: bool,
    state: String,
    all: bool,
    states: Vec<&'static str>,
    users: Vec<User>,
}

async fn list(
    State(state): State<Arc<AppState>>,
    Require(signed_in, _): Require<CaseHandler>,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let all = q.all == "1";
    let filter = CaseFilter {
        team: Some(q.team.trim().to_string()).filter(|t| !t.is_empty()),
        owner: (q.mine == "1").then_some(signed_in.user().id),
        state: CaseState::parse(q.state.trim()),
        open_only: !all && CaseState::parse(q.state.trim()).is_none(),
    };
    let store = state.store.clone();
    let (cases, users) = blocking(move || Ok((store.cases(&filter)?, store.users()?))).await?;
    let today = today();
    let lines: Vec<Line> = cases
        .into_iter()
        .map(|case| Line {
            overdue: case.overdue(&today),
            case,
        })
        .collect();
    Ok(render(&ListPage {
        nav: Nav::of(&signed_in, "cases"),
        overdue: lines.iter().filter(|l| l.overdue).count(),
        lines,
        team: q.team.trim().to_string(),
        mine: q.mine == "1",
        state: q.state.trim().to_string(),
        all,
        states: CaseState::ALL.iter().map(|s| s.as_str()).collect(),
        users: users
            .into_iter()
            .filter(|u| u.role >= Role::CaseHandler)
            .collect(),
    }))
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    nav: Nav,
    case: CaseRow,
    overdue: bool,
    notes: Vec<Note>,
    audit: Vec<AuditEntry>,
    contacts: Option<Vec<Contact>>,
    users: Vec<User>,
    message: String,
    moves: Vec<(&'static str, &'static str)>,
}

/// The steps a case in `state` can take, as (move, button label).
fn moves_for(state: CaseState) -> Vec<(&'static str, &'static str)> {
    let all = [
        ("acknowledge", "Acknowledge"),
        ("start", "Start work"),
        ("resolve", "Mark resolved"),
        ("close", "Close"),
        ("reopen", "Reopen"),
    ];
    all.into_iter()
        .filter(|(name, _)| {
            let step = match *name {
                "close" => Move::Close {
                    root_cause: "x".into(),
                    resolved: true,
                },
                other => parse_move(other, "", false).unwrap_or(Move::Reopen),
            };
            crate::cases::next_state(state, &step).is_ok()
        })
        .collect()
}

fn parse_move(name: &str, root_cause: &str, resolved: bool) -> Option<Move> {
    Some(match name {
        "acknowledge" => Move::Acknowledge,
        "start" => Move::Start,
        "resolve" => Move::Resolve,
        "close" => Move::Close {
            root_cause: root_cause.to_string(),
            resolved,
        },
        "reopen" => Move::Reopen,
        _ => return None,
    })
}

async fn case_page(
    state: &Arc<AppState>,
    signed_in: &super::session::SignedIn,
    id: i64,
    contacts: Option<Vec<Contact>>,
    message: String,
) -> Result<Response, PageError> {
    let store = state.store.clone();
    let (found, users) = blocking(move || Ok((store.case(id)?, store.users()?))).await?;
    let (case, notes, audit) = found.ok_or(PageError::NotFound)?;
    let mut response = render(&CasePage {
        nav: Nav::of(signed_in, "cases"),
        overdue: case.overdue(&today()),
        moves: moves_for(case.state),
        case,
        notes,
        audit,
        contacts,
        users: users
            .into_iter()
            .filter(|u| u.role >= Role::CaseHandler)
            .collect(),
        message: message.clone(),
    });
    if !message.is_empty() {
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

async fn one(
    State(state): State<Arc<AppState>>,
    Require(signed_in, _): Require<CaseHandler>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    case_page(&state, &signed_in, id, None, String::new()).await
}

#[derive(Deserialize)]
struct MoveForm {
    #[serde(default)]
    csrf: String,
    step: String,
    #[serde(default)]
    root_cause: String,
    #[serde(default)]
    resolved: String,
}

async fn move_case(
    State(state): State<Arc<AppState>>,
    Require(signed_in, _): Require<CaseHandler>,
    Path(id): Path<i64>,
    Form(form): Form<MoveForm>,
) -> Result<Response, PageError> {
    signed_in.check_form(&form.csrf)?;
    let step = parse_move(&form.step, &form.root_cause, form.resolved == "yes")
        .ok_or(PageError::NotFound)?;
    let store = state.store.clone();
    let user = signed_in.user().clone();
    let outcome =
        blocking(move || Ok(store.move_case(id, &user, &step, SystemTime::now())?)).await?;
    match outcome {
        Ok(_) => Ok(axum::response::IntoResponse::into_response(Redirect::to(
            &format!("/cases/{id}"),
        ))),
        Err(why) => case_page(&state, &signed_in, id, None, why).await,
    }
}

#[derive(Deserialize)]
struct AssignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    team: String,
    /// A user id, "" to leave as it is, or "none" for nobody.
    #[serde(default)]
    owner: String,
    #[serde(default)]
    ids: String,
}

/// A team as typed: trimmed, 1 to 64 characters, no control characters; empty leaves the
/// team as it is.
fn team_choice(text: &str) -> Result<Option<String>, PageError> {
    let team = text.trim();
    if team.is_empty() {
        return Ok(None);
    }
    if team.chars().count() > 64
        || team
            .chars()
            .any(earshot_protocol::text::is_invisible_or_active)
    {
        return Err(PageError::Invalid(
            "A team's name is 1 to 64 characters, letters and words only. Go back and change it."
                .into(),
        ));
    }
    Ok(Some(team.to_string()))
}

fn owner_choice(text: &str) -> Option<Option<i64>> {
    match text.trim() {
        "" => None,
        "none" => Some(None),
        id => id.parse().ok().map(Some),
    }
}

async fn assign(
    State(state): State<Arc<AppState>>,
    Require(signed_in, _): Require<CaseHandler>,
    Path(id): Path<i64>,
    Form(form): Form<AssignForm>,
) -> Result<Redirect, PageError> {
    signed_in.check_form(&form.csrf)?;
    let store = state.store.clone();
    let user = signed_in.user().clone();
    let team = team_choice(&form.team)?;
    let owner = owner_choice(&form.owner);
    blocking(move || Ok(store.assign(&[id], &user, team.as_deref(), owner, SystemTime::now())?))
        .await?;
    Ok(Redirect::to(&format!("/cases/{id}")))
}

async fn bulk_assign(
    State(state): State<Arc<AppState>>,
    Require(signed_in, _): Require<CaseHandler>,
    Form(form): Form<AssignForm>,
) -> Result<Redirect, PageError> {
    signed_in.check_form(&form.csrf)?;
    let ids: Vec<i64> = form
        .ids
        .split(',')
        .filter_map(|i| i.trim().parse().ok())
        .take(1000)
        .collect();
    let store = state.store.clone();
    let user = signed_in.user().clone();
    let team = team_choice(&form.team)?;
    let owner = owner_choice(&form.owner);
    blocking(move || Ok(store.assign(&ids, &user, team.as_deref(), owner, SystemTime::now())?))
        .await?;
    Ok(Redirect::to("/cases"))
}

#[derive(Deserialize)]
struct NoteForm {
    #[serde(default)]
    csrf: String,
    text: String,
    #[serde(default)]
    public: String,
}

async fn note(
    State(state): State<Arc<AppState>>,
    Require(signed_in, _): Require<CaseHandler>,
    Path(id): Path<i64>,
    Form(form): Form<NoteForm>,
) -> Result<Response, PageError> {
    signed_in.check_form(&form.csrf)?;
    let text = form.text.trim().to_string();
    if text.is_empty() || text.chars().count() > 4000 {
        return case_page(
            &state,
            &signed_in,
            id,
            None,
            "Write a note of 1 to 4,000 characters.".into(),
        )
        .await;
    }
    let store = state.store.clone();
    let user = signed_in.user().clone();
    let public = form.public == "yes";
    let found =
        blocking(move || Ok(store.add_note(id, &user, public, &text, SystemTime::now())?)).await?;
    if !found {
        return Err(PageError::NotFound);
    }
    Ok(axum::response::IntoResponse::into_response(Redirect::to(
        &format!("/cases/{id}"),
    )))
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// Shows the visitor's contact details, on request (a form, so that a view is a deliberate
/// act and is audited).
async fn contact(
    State(state): State<Arc<AppState>>,
    Require(signed_in, _): Require<CaseHandler>,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    signed_in.check_form(&form.csrf)?;
    let store = state.store.clone();
    let user = signed_in.user().clone();
    let contacts =
        blocking(move || Ok(store.contact_details(id, &user, SystemTime::now())?)).await?;
    tracing::info!(user = %signed_in.user().email, case = id, "contact details viewed");
    case_page(&state, &signed_in, id, Some(contacts), String::new()).await
}

#[derive(Deserialize)]
struct EraseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    why: String,
}

/// Erases the visitor's contact details and free text, on their request: the ratings stay,
/// and the audit log says who did it and why.
async fn erase(
    State(state): State<Arc<AppState>>,
    Require(signed_in, _): Require<CaseHandler>,
    Path(id): Path<i64>,
    Form(form): Form<EraseForm>,
) -> Result<Response, PageError> {
    signed_in.check_form(&form.csrf)?;
    let why = form.why.trim().to_string();
    if why.is_empty() {
        return case_page(
            &state,
            &signed_in,
            id,
            None,
            "Say how the visitor asked (e.g. \"by phone\") before erasing.".into(),
        )
        .await;
    }
    let store = state.store.clone();
    let by = signed_in.user().email.clone();
    blocking(move || {
        let (case, _, _) = store.case(id)?.ok_or(PageError::NotFound)?;
        Ok(store.erase_reference(&case.reference, &by, &why, SystemTime::now())?)
    })
    .await?;
    tracing::warn!(user = %signed_in.user().email, case = id, "personal data erased on request");
    Ok(axum::response::IntoResponse::into_response(Redirect::to(
        &format!("/cases/{id}"),
    )))
}

/// The subject access export of a case's response, as a text file.
async fn subject_access(
    State(state): State<Arc<AppState>>,
    Require(signed_in, _): Require<CaseHandler>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let store = state.store.clone();
    let by = signed_in.user().email.clone();
    let (reference, text) = blocking(move || {
        let (case, _, _) = store.case(id)?.ok_or(PageError::NotFound)?;
        let text = store
            .subject_access(&case.reference, &by, SystemTime::now())?
            .ok_or(PageError::NotFound)?;
        Ok((case.reference, text))
    })
    .await?;
    Ok(axum::response::IntoResponse::into_response((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"earshot-{reference}.txt\""),
            ),
        ],
        text,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_team_is_a_short_visible_name_or_nothing() {
        assert_eq!(
            team_choice("  housing ").unwrap().as_deref(),
            Some("housing")
        );
        assert_eq!(team_choice("   ").unwrap(), None);
        for bad in [
            "x".repeat(65),
            "house\u{1b}[2J".to_string(),
            "a\u{202e}b".to_string(),
        ] {
            assert!(
                matches!(team_choice(&bad), Err(PageError::Invalid(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn only_the_steps_a_state_allows_are_offered() {
        let names = |s| moves_for(s).into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        assert_eq!(names(CaseState::New), ["acknowledge", "start"]);
        assert_eq!(names(CaseState::Resolved), ["close", "reopen"]);
        assert_eq!(names(CaseState::Closed), ["reopen"]);
    }
}
