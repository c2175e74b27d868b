//! `/t/<reference>`: the visitor's tracking page. Public, no sign-in: it shows when the
//! feedback was received, the case's state in plain words, the public notes and when a reply
//! is due, in the visitor's language with the others to switch to. Nothing else: no visitor
//! text, no contact details, no staff names.
//!
//! Invariants: lookups are limited per address (`LOOKUPS_PER_MINUTE`) before anything is
//! read, so references cannot be enumerated; a mistyped reference is told by its check
//! symbol and never looked up.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use earshot_protocol::reference::{classify, Typed};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Deserialize;

use super::enroll::attempt_key;
use super::extract::ClientAddr;
use super::page::{blocking, render, PageError};
use super::AppState;
use crate::cases::language_index;

pub const LOOKUPS_PER_MINUTE: u32 = 20;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/t/{reference}", get(track))
}

/// The per-address budget of lookups, kept in the app's state beside the enrolment one.
pub fn lookup_limiter() -> DefaultKeyedRateLimiter<IpAddr> {
    RateLimiter::keyed(Quota::per_minute(
        NonZeroU32::new(LOOKUPS_PER_MINUTE).unwrap_or(NonZeroU32::MIN),
    ))
}

/// The page's words: English, Welsh, Polish, Chinese.
struct Words {
    title: &'static str,
    received: &'static str,
    state: &'static str,
    reply_due: &'static str,
    updates: &'static str,
    typo: &'static str,
    unknown: &'static str,
    slow_down: &'static str,
    languages: &'static str,
}

const WORDS: [Words; 4] = [
    Words {
        title: "Your feedback",
        received: "Received",
        state: "Where it is",
        reply_due: "We will reply by",
        updates: "Updates",
        typo: "This reference has a typo. Check each letter and number against the one you were given.",
        unknown: "We cannot find feedback with this reference. If you gave it just now, it may take a few minutes to arrive; please try again later.",
        slow_down: "Too many lookups from here. Please wait a minute and try again.",
        languages: "Other languages",
    },
    Words {
        title: "Eich adborth",
        received: "Derbyniwyd",
        state: "Ble mae arni",
        reply_due: "Byddwn yn ateb erbyn",
        updates: "Diweddariadau",
        typo: "Mae gwall teipio yn y cyfeirnod hwn. Gwiriwch bob llythyren a rhif yn erbyn yr un a gawsoch.",
        unknown: "Ni allwn ddod o hyd i adborth gyda'r cyfeirnod hwn. Os gwnaethoch ei roi newydd nawr, gall gymryd ychydig funudau i gyrraedd; rhowch gynnig arall arni nes ymlaen.",
        slow_down: "Gormod o chwiliadau o'r fan hon. Arhoswch funud a rhowch gynnig arall arni.",
        languages: "Ieithoedd eraill",
    },
    Words {
        title: "Twoja opinia",
        received: "Otrzymano",
        state: "Na jakim etapie",
        reply_due: "Odpowiemy do",
        updates: "Aktualizacje",
        typo: "W tym numerze jest literówka. Sprawdź każdą literę i cyfrę z numerem, który otrzymałeś.",
        unknown: "Nie możemy znaleźć opinii o tym numerze. Jeśli została dodana przed chwilą, może dotrzeć za kilka minut; spróbuj ponownie później.",
        slow_down: "Zbyt wiele wyszukiwań z tego miejsca. Odczekaj minutę i spróbuj ponownie.",
        languages: "Inne języki",
    },
    Words {
        title: "您的反馈",
        received: "收到日期",
        state: "处理进度",
        reply_due: "我们将在此日期前回复",
        updates: "最新进展",
        typo: "此编号有误。请逐一核对您收到的字母和数字。",
        unknown: "找不到此编号的反馈。如果您刚刚提交，可能需要几分钟才能送达，请稍后再试。",
        slow_down: "查询次数过多。请稍等一分钟再试。",
        languages: "其他语言",
    },
];

#[derive(Template)]
#[template(path = "tracking.html")]
struct TrackingPage {
    lang: &'static str,
    words: &'static Words,
    reference: String,
    found: Option<Found>,
    message: &'static str,
    others: Vec<(&'static str, &'static str)>,
}

struct Found {
    received: String,
    state: &'static str,
    reply_due: Option<String>,
    notes: Vec<(String, String)>,
}

#[derive(Deserialize, Default)]
struct LangQuery {
    #[serde(default)]
    lang: String,
}

fn page(
    status: StatusCode,
    lang: &'static str,
    reference: String,
    found: Option<Found>,
    message: fn(&Words) -> &'static str,
) -> Response {
    let words = &WORDS[language_index(lang)];
    let others = crate::labels::languages()
        .into_iter()
        .filter(|(code, _)| *code != lang)
        .collect();
    let mut response = render(&TrackingPage {
        lang,
        words,
        reference,
        found,
        message: message(words),
        others,
    });
    *response.status_mut() = status;
    response
}

async fn track(
    State(state): State<Arc<AppState>>,
    ClientAddr(addr): ClientAddr,
    Path(typed): Path<String>,
    Query(q): Query<LangQuery>,
) -> Result<Response, PageError> {
    let asked = crate::labels::chosen_language(&q.lang);
    let asked = (!q.lang.trim().is_empty()).then_some(asked);
    let shown =
        |lang: Option<&str>| asked.unwrap_or(crate::labels::chosen_language(lang.unwrap_or("en")));
    let limiter = &state.tracking_lookups;
    if limiter.len() > 10_000 {
        limiter.retain_recent();
    }
    if limiter.check_key(&attempt_key(addr)).is_err() {
        tracing::warn!(%addr, "tracking lookups refused: over the limit");
        return Ok(page(
            StatusCode::TOO_MANY_REQUESTS,
            shown(None),
            String::new(),
            None,
            |w| w.slow_down,
        ));
    }
    let shown_typed =
        earshot_protocol::text::visible(typed.chars().take(20).collect::<String>().as_str());
    let reference = match classify(&typed) {
        Typed::Reference(code) => code,
        Typed::Typo => {
            return Ok(page(
                StatusCode::BAD_REQUEST,
                shown(None),
                shown_typed,
                None,
                |w| w.typo,
            ))
        }
        Typed::NotAReference => {
            return Ok(page(
                StatusCode::NOT_FOUND,
                shown(None),
                shown_typed,
                None,
                |w| w.unknown,
            ))
        }
    };
    let store = state.store.clone();
    let lookup = reference.clone();
    let tracking = blocking(move || Ok(store.tracking(&lookup)?)).await?;
    let Some(t) = tracking else {
        return Ok(page(
            StatusCode::NOT_FOUND,
            shown(None),
            reference,
            None,
            |w| w.unknown,
        ));
    };
    let lang = shown(Some(&t.language));
    let found = Found {
        received: t.received.chars().take(10).collect(),
        state: t.state.for_visitor(lang),
        reply_due: t.state.is_open().then_some(t.reply_due),
        notes: t
            .public_notes
            .into_iter()
            .map(|(at, text)| (at.chars().take(10).collect(), text))
            .collect(),
    };
    Ok(page(StatusCode::OK, lang, reference, Some(found), |_| "").into_response())
}
