//! `/results` and `/results.csv`: the figures for a time range, site or area, service and
//! survey. The URL holds the filter, so a view can be bookmarked and shared; the CSV holds
//! exactly what the page shows.

use std::fmt::Write as _;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use jiff::civil::Date;
use jiff::Timestamp;
use serde::Deserialize;

use super::page::{blocking, render, PageError};
use super::session::{Nav, Require, Viewer};
use super::AppState;
use crate::labels::Labels;
use crate::results::{figures, scale_words, Figures};
use crate::store::{Comment, ResultsFilter, Site};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/results", get(results_page))
        .route("/results.csv", get(results_csv))
}

/// The filter as the URL gives it. Every field is optional and checked once, here.
#[derive(Debug, Default, Deserialize)]
pub struct FilterQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// A site id, or `area:NAME`.
    #[serde(default)]
    place: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    survey: String,
    #[serde(default)]
    q: String,
    /// The language labels are shown in.
    #[serde(default)]
    lang: String,
    /// The trend by "day" (the default) or "week".
    #[serde(default)]
    by: String,
}

/// A filter made from the URL, with the words it is shown in.
struct Chosen {
    filter: ResultsFilter,
    from: Date,
    to: Date,
    place: String,
    query_string: String,
}

const DEFAULT_DAYS: i64 = 30;
/// A year and a bit: the longest range one view adds up.
const MAX_DAYS: i64 = 400;

fn weekly(q: &FilterQuery) -> bool {
    q.by.trim() == "week"
}

fn choose(q: &FilterQuery, sites: &[Site]) -> Chosen {
    let today = Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    // (The default range ends today in UTC; a site's "today" differs by at most a day.)
    let parse = |text: &str| text.trim().parse::<Date>().ok();
    let to = parse(&q.to).unwrap_or(today);
    let mut from = parse(&q.from).unwrap_or_else(|| {
        to.checked_sub(jiff::Span::new().days(DEFAULT_DAYS - 1))
            .unwrap_or(to)
    });
    if from > to {
        from = to;
    }
    if let Ok(earliest) = to.checked_sub(jiff::Span::new().days(MAX_DAYS)) {
        from = from.max(earliest);
    }
    let place = q.place.trim().to_string();
    let site_ids = if let Some(area) = place.strip_prefix("area:") {
        Some(
            sites
                .iter()
                .filter(|s| s.area == area)
                .map(|s| s.id.clone())
                .collect(),
        )
    } else if !place.is_empty() {
        Some(vec![place.clone()])
    } else {
        None
    };
    let some = |t: &str| Some(t.trim().to_string()).filter(|t| !t.is_empty());
    // Whole days, each on its site's calendar (`store::results`).
    let filter = ResultsFilter {
        from,
        to,
        sites: site_ids,
        service: some(&q.service),
        survey: some(&q.survey),
        search: some(&q.q),
    };
    let query_string = format!(
        "from={from}&to={to}&place={}&service={}&survey={}&q={}&lang={}&by={}",
        super::page::percent_encode(&place),
        super::page::percent_encode(q.service.trim()),
        super::page::percent_encode(q.survey.trim()),
        super::page::percent_encode(q.q.trim()),
        crate::labels::chosen_language(&q.lang),
        if weekly(q) { "week" } else { "day" }
    );
    Chosen {
        filter,
        from,
        to,
        place,
        query_string,
    }
}

/// One line of every table the page shows, in the order shown; the CSV is these rows.
struct Row {
    section: &'static str,
    label: String,
    value: String,
}

/// A site's name as set with `site set`, else its id.
fn site_name(sites: &[Site], id: &str) -> String {
    sites
        .iter()
        .find(|s| s.id == id)
        .map(|s| s.name.clone())
        .unwrap_or_else(|| id.to_string())
}

fn one_decimal(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into())
}

struct View {
    figures: Figures,
    unhappy: Vec<(String, String, u64)>,
    happy: Vec<(String, String, u64)>,
    comments: Vec<CommentRow>,
    rows: Vec<Row>,
}

struct CommentRow {
    when: String,
    site: String,
    service: String,
    rating: String,
    text: String,
}

fn comment_row(c: &Comment, labels: &Labels, language: &str, sites: &[Site]) -> CommentRow {
    CommentRow {
        when: Timestamp::from_millisecond(c.started_ms)
            .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default(),
        site: site_name(sites, &c.site),
        service: c
            .service
            .as_deref()
            .map(|s| labels.service(s, language))
            .unwrap_or_default(),
        rating: c
            .rating
            .as_ref()
            .map(|(scale, v)| format!("{v} ({scale})"))
            .unwrap_or_default(),
        text: c.text.clone(),
    }
}

/// A reason as shown: the question and the option in the survey's words.
fn reason_labels(
    reasons: &[(String, String, u64)],
    labels: &Labels,
    language: &str,
) -> Vec<(String, String, u64)> {
    reasons
        .iter()
        .map(|(step, option, n)| {
            (
                labels.question_of(step, option, language),
                labels.option(step, option, language),
                *n,
            )
        })
        .collect()
}

fn view(
    figures: Figures,
    comments: &[Comment],
    labels: &Labels,
    language: &str,
    weekly: bool,
    sites: &[Site],
) -> View {
    let unhappy = reason_labels(&figures.unhappy_reasons, labels, language);
    let happy = reason_labels(&figures.happy_reasons, labels, language);
    let mut rows = Vec::new();
    let mut push = |section: &'static str, label: String, value: String| {
        rows.push(Row {
            section,
            label,
            value,
        })
    };
    push("summary", "responses".into(), figures.responses.to_string());
    push("summary", "completed".into(), figures.completed.to_string());
    push(
        "summary",
        "completion rate %".into(),
        one_decimal(figures.completion_rate),
    );
    push(
        "summary",
        "satisfaction index".into(),
        one_decimal(figures.index),
    );
    push("summary", "NPS".into(), one_decimal(figures.nps));
    push(
        "summary",
        "suspected misuse (left out)".into(),
        figures.misuse.to_string(),
    );
    for (scale, values) in &figures.distribution {
        for (value, count) in values {
            push(
                "distribution",
                format!("{scale} {value}"),
                count.to_string(),
            );
        }
    }
    for (step, option, count) in &figures.unhappy_reasons {
        push(
            "unhappy reasons",
            format!("{step}: {option}"),
            count.to_string(),
        );
    }
    for (step, option, count) in &figures.happy_reasons {
        push(
            "happy reasons",
            format!("{step}: {option}"),
            count.to_string(),
        );
    }
    let (trend_name, trend) = if weekly {
        ("by week", &figures.by_week)
    } else {
        ("by day", &figures.by_day)
    };
    for (day, (count, index)) in trend {
        push(
            trend_name,
            day.clone(),
            format!("{count} responses, index {}", one_decimal(*index)),
        );
    }
    for rank in &figures.ranking {
        push(
            "sites ranked",
            site_name(sites, &rank.site),
            format!(
                "{} (own {}, {} responses)",
                one_decimal(Some(rank.ranked_index)),
                one_decimal(Some(rank.index)),
                rank.responses
            ),
        );
    }
    let comments: Vec<CommentRow> = comments
        .iter()
        .map(|c| comment_row(c, labels, language, sites))
        .collect();
    for c in &comments {
        push(
            "comments",
            format!("{} {} {} {}", c.when, c.site, c.service, c.rating),
            c.text.clone(),
        );
    }
    View {
        figures,
        unhappy,
        happy,
        comments,
        rows,
    }
}

async fn load(
    state: &Arc<AppState>,
    q: &FilterQuery,
) -> Result<(Chosen, View, Vec<Site>, Vec<String>, Vec<String>), PageError> {
    let store = state.store.clone();
    let sites = blocking(move || Ok(store.sites()?)).await?;
    let chosen = choose(q, &sites);
    let store = state.store.clone();
    let filter = chosen.filter.clone();
    let aggregates = blocking(move || Ok(store.aggregates(&filter)?)).await?;
    let labels = &state.web.labels;
    let language = crate::labels::chosen_language(&q.lang);
    let figures = figures(&aggregates, labels.reason_steps());
    let view = view(
        figures,
        &aggregates.comments,
        labels,
        language,
        weekly(q),
        &sites,
    );
    Ok((chosen, view, sites, aggregates.services, aggregates.surveys))
}

struct PlaceChoice {
    value: String,
    label: String,
    selected: bool,
}

struct Option2 {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "results.html")]
struct ResultsPage {
    nav: Nav,
    from: String,
    to: String,
    places: Vec<PlaceChoice>,
    services: Vec<Option2>,
    surveys: Vec<Option2>,
    languages: Vec<Option2>,
    search: String,
    csv_link: String,
    responses: u64,
    completion: String,
    index: String,
    index_responses: u64,
    nps: String,
    nps_responses: u64,
    misuse: u64,
    distribution: Vec<(String, Vec<(i64, u64)>)>,
    distribution_chart: String,
    unhappy: Vec<(String, String, u64)>,
    happy: Vec<(String, String, u64)>,
    weekly: bool,
    by_day: Vec<(String, u64, String)>,
    trend_chart: String,
    heat: Vec<(&'static str, Vec<u64>)>,
    ranking: Vec<(usize, String, String, String, u64)>,
    comments: Vec<CommentRow>,
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

async fn results_page(
    State(state): State<Arc<AppState>>,
    Require(signed_in, _): Require<Viewer>,
    Query(q): Query<FilterQuery>,
) -> Result<Response, PageError> {
    let (chosen, view, sites, services, surveys) = load(&state, &q).await?;
    let f = &view.figures;
    let mut places = vec![PlaceChoice {
        value: String::new(),
        label: "All sites".into(),
        selected: chosen.place.is_empty(),
    }];
    let mut areas: Vec<&str> = sites
        .iter()
        .map(|s| s.area.as_str())
        .filter(|a| !a.is_empty())
        .collect();
    areas.dedup();
    for area in areas {
        let value = format!("area:{area}");
        places.push(PlaceChoice {
            selected: chosen.place == value,
            label: format!("Area: {area}"),
            value,
        });
    }
    for site in &sites {
        places.push(PlaceChoice {
            value: site.id.clone(),
            label: site.name.clone(),
            selected: chosen.place == site.id,
        });
    }
    let labels = &state.web.labels;
    let language = crate::labels::chosen_language(&q.lang);
    let options = |list: Vec<String>, chosen: &Option<String>, label: &dyn Fn(&str) -> String| {
        list.into_iter()
            .map(|value| Option2 {
                selected: chosen.as_deref() == Some(value.as_str()),
                label: label(&value),
                value,
            })
            .collect()
    };
    let page = ResultsPage {
        nav: Nav::of(&signed_in, "results"),
        from: chosen.from.to_string(),
        to: chosen.to.to_string(),
        places,
        services: options(services, &chosen.filter.service, &|s| {
            labels.service(s, language)
        }),
        surveys: options(surveys, &chosen.filter.survey, &|s| s.to_string()),
        languages: crate::labels::languages()
            .into_iter()
            .map(|(code, name)| Option2 {
                value: code.into(),
                label: name.into(),
                selected: code == language,
            })
            .collect(),
        search: chosen.filter.search.clone().unwrap_or_default(),
        csv_link: format!("/results.csv?{}", chosen.query_string),
        responses: f.responses,
        completion: one_decimal(f.completion_rate),
        index: one_decimal(f.index),
        index_responses: f.index_responses,
        nps: one_decimal(f.nps),
        nps_responses: f.nps_responses,
        misuse: f.misuse,
        distribution: f
            .distribution
            .iter()
            .map(|(k, v)| (scale_words(k), v.clone()))
            .collect(),
        distribution_chart: super::charts::distribution(&f.distribution),
        unhappy: view.unhappy.clone(),
        happy: view.happy.clone(),
        weekly: weekly(&q),
        by_day: if weekly(&q) { &f.by_week } else { &f.by_day }
            .iter()
            .map(|(d, (n, i))| (d.clone(), *n, one_decimal(*i)))
            .collect(),
        trend_chart: super::charts::trend(if weekly(&q) { &f.by_week } else { &f.by_day }),
        heat: WEEKDAYS
            .iter()
            .zip(f.heat.iter())
            .map(|(d, hours)| (*d, hours.to_vec()))
            .collect(),
        ranking: f
            .ranking
            .iter()
            .enumerate()
            .map(|(i, r)| {
                (
                    i + 1,
                    site_name(&sites, &r.site),
                    one_decimal(Some(r.ranked_index)),
                    one_decimal(Some(r.index)),
                    r.responses,
                )
            })
            .collect(),
        comments: view.comments,
    };
    Ok(render(&page))
}

async fn results_csv(
    State(state): State<Arc<AppState>>,
    Require(_, _): Require<Viewer>,
    Query(q): Query<FilterQuery>,
) -> Result<Response, PageError> {
    let (chosen, view, ..) = load(&state, &q).await?;
    let mut csv = String::from("section,label,value\r\n");
    for row in &view.rows {
        // A figure stays a number (−12.5 is no formula); every text is neutralised.
        let value = if row.value.parse::<f64>().is_ok() {
            row.value.clone()
        } else {
            crate::export::cell(&row.value)
        };
        let _ = write!(
            csv,
            "{},{},{value}\r\n",
            crate::export::cell(row.section),
            crate::export::cell(&row.label),
        );
    }
    let name = format!("earshot-results-{}-{}.csv", chosen.from, chosen.to);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        csv,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn site(id: &str, zone: &str, area: &str) -> Site {
        Site {
            id: id.into(),
            name: id.into(),
            time_zone: zone.into(),
            area: area.into(),
            organisation: String::new(),
        }
    }

    #[test]
    fn a_view_is_a_range_of_whole_days_at_a_site_or_an_area() {
        let sites = [
            site("london", "Europe/London", "uk"),
            site("leeds", "Europe/London", "uk"),
            site("warsaw", "Europe/Warsaw", "pl"),
        ];
        let q = |from: &str, to: &str, place: &str| FilterQuery {
            from: from.into(),
            to: to.into(),
            place: place.into(),
            ..Default::default()
        };
        let one = choose(&q("2026-07-01", "2026-07-31", "london"), &sites).filter;
        assert_eq!((one.from, one.to), (date(2026, 7, 1), date(2026, 7, 31)));
        assert_eq!(one.sites, Some(vec!["london".to_string()]));
        let area = choose(&q("2026-07-01", "2026-07-01", "area:uk"), &sites).filter;
        assert_eq!(
            area.sites,
            Some(vec!["london".to_string(), "leeds".to_string()])
        );
        assert_eq!(
            choose(&q("2026-07-01", "2026-07-01", ""), &sites)
                .filter
                .sites,
            None
        );
        // A start after the end is the end's day; a range longer than MAX_DAYS is cut at
        // its start.
        let reversed = choose(&q("2026-08-01", "2026-07-01", ""), &sites).filter;
        assert_eq!(
            (reversed.from, reversed.to),
            (date(2026, 7, 1), date(2026, 7, 1))
        );
        let long = choose(&q("2020-01-01", "2026-07-01", ""), &sites).filter;
        assert_eq!(long.to, date(2026, 7, 1));
        assert_eq!(
            long.from,
            date(2026, 7, 1)
                .checked_sub(jiff::Span::new().days(MAX_DAYS))
                .unwrap()
        );
        let bad = choose(&q("yesterday", "soon", ""), &sites).filter;
        assert_eq!(
            bad.from,
            bad.to
                .checked_sub(jiff::Span::new().days(DEFAULT_DAYS - 1))
                .unwrap(),
            "unreadable dates are the last {DEFAULT_DAYS} days"
        );
    }
}
