//! The service team's results at the size of a large deployment: a year of 1,000,000
//! responses from 50 sites in 5 areas and 3 time zones, stored straight into the collector's
//! database (`SqliteStore::load`, the code ingest stores with, in transactions of about ten
//! days each), then
//! - the results page as a signed-in viewer sees it, served by the real app on 127.0.0.1:
//!   one site for one month, and every site for the whole year, p50 and p95 of `RUNS`
//!   requests after `WARM_UPS`, and the whole year's CSV once;
//! - the streaming export of all 1,000,000 as CSV by the real `earshot-collector export`
//!   binary, in rows per second and in how much more memory it peaks at than exporting the
//!   last few days.
//!
//! Prints figures beside their targets; asserts only that what it measured is what it stored.
//!
//!   cargo bench -p earshot-collector --bench results
//!
//! The database is made on the disk holding the target folder and removed afterwards. With
//! `EARSHOT_RESULTS_BENCH_DB=FILE` it is made there and kept, and an existing FILE is measured
//! again without being made anew.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use earshot_collector::accounts::{Email, NewPassword, Role};
use earshot_collector::http::{app, AppState, Limits};
use earshot_collector::ingest::{Accepted, KnownSurveys, TimeBasis};
use earshot_collector::serve::{serve, ServeSettings};
use earshot_collector::store::{Accounts, Loaded, Results, Site, SqliteStore, Store};
use earshot_protocol::{
    Answer, AnswerValue, ClockInfo, DeviceId, Flags, Outcome, ResponseRecord, SiteId,
};
use jiff::civil::Date;
use jiff::tz::TimeZone;

const COMMAND: &str = "cargo bench -p earshot-collector --bench results";
const RESPONSES: u64 = 1_000_000;
const DAYS: i64 = 365;
/// Days of responses stored per transaction.
const DAYS_PER_LOAD: i64 = 10;
const SITES_PER_AREA: usize = 10;
const DEVICES_PER_SITE: usize = 2;
const WARM_UPS: usize = 2;
const RUNS: usize = 30;
const TARGET_P95_MS: f64 = 300.0;
const TARGET_ROWS_PER_S: f64 = 100_000.0;
const TARGET_EXPORT_GROWTH_MB: f64 = 50.0;
/// Days exported for the memory the export needs whatever the number of rows.
const BASE_DAYS: i64 = 3;
const VIEWER: &str = "viewer@example.org";
const VIEWER_PASSWORD: &str = "a long bench passphrase";

/// (area, time zone, what its sites run).
const AREAS: [(&str, &str, Kind); 5] = [
    ("London", "Europe/London", Kind::Shop),
    ("North West", "Europe/London", Kind::Shop),
    ("Wales", "Europe/London", Kind::ShopAndCouncil),
    ("Poland", "Europe/Warsaw", Kind::Shop),
    ("New York", "America/New_York", Kind::ShopAndNps),
];

#[derive(Clone, Copy)]
enum Kind {
    Shop,
    ShopAndCouncil,
    ShopAndNps,
}

#[derive(Clone, Copy, PartialEq)]
enum Survey {
    /// shop-feedback: touchpoint, smiley5, reasons, now and then "would you recommend".
    Shop,
    /// council-services: service, smiley4, reasons, channel, two statements.
    Council,
    /// store-nps: touchpoint, NPS 0–10 as the main rating, reasons.
    Nps,
}

#[derive(Clone)]
struct BenchSite {
    id: String,
    zone: TimeZone,
    survey: Survey,
    /// How busy it is, relative to the others.
    weight: f64,
    /// Moves its ratings up or down a little.
    quality: f64,
    languages: &'static [(&'static str, u32)],
}

/// A small, fast, reproducible generator (SplitMix64): the figures do not depend on chance.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.below(total as u64) as u32;
        for (item, w) in items {
            if x < *w {
                return *item;
            }
            x -= w;
        }
        items[items.len() - 1].0
    }
}

fn sites() -> Vec<BenchSite> {
    let mut rng = Rng(7);
    let mut sites = Vec::new();
    for (area, zone, kind) in AREAS {
        let languages: &'static [(&'static str, u32)] = match area {
            "Wales" => &[("en", 70), ("cy", 28), ("pl", 2)],
            "Poland" => &[("pl", 85), ("en", 15)],
            "New York" => &[("en", 85), ("zh_CN", 15)],
            _ => &[("en", 90), ("zh_CN", 6), ("pl", 4)],
        };
        for i in 0..SITES_PER_AREA {
            let survey = match (kind, i >= SITES_PER_AREA / 2) {
                (Kind::ShopAndCouncil, true) => Survey::Council,
                (Kind::ShopAndNps, true) => Survey::Nps,
                _ => Survey::Shop,
            };
            sites.push(BenchSite {
                id: format!("{}-{:02}", area.to_lowercase().replace(' ', "-"), i + 1),
                zone: TimeZone::get(zone).expect("the time zone database"),
                survey,
                weight: 0.4 + 1.4 * rng.unit(),
                quality: rng.unit() * 2.0 - 1.0,
                languages,
            });
        }
    }
    sites
}

/// Visitors per hour of the local day, opening at 8 and closing at 21, busiest at lunch and
/// after work.
const HOURS: [(u32, u32); 13] = [
    (8, 3),
    (9, 6),
    (10, 8),
    (11, 10),
    (12, 14),
    (13, 13),
    (14, 9),
    (15, 8),
    (16, 10),
    (17, 12),
    (18, 9),
    (19, 5),
    (20, 3),
];

/// Monday first: Fridays and Saturdays are busiest, Sundays quiet.
const WEEKDAY_WEIGHT: [f64; 7] = [0.85, 0.85, 0.9, 1.0, 1.15, 1.4, 0.75];

fn day_weight(date: Date) -> f64 {
    let weekday = date.weekday().to_monday_zero_offset() as usize;
    // Busiest in mid-December, quietest in mid-June.
    let season = 1.0
        + 0.25 * ((date.day_of_year() as f64 - 350.0) / 365.0 * 2.0 * std::f64::consts::PI).cos();
    WEEKDAY_WEIGHT[weekday] * season
}

const REFERENCE_ALPHABET: &[u8] = b"ACDEFGHJKMNPQRTWXY34679";

const COMMENTS: &[&str] = &[
    "Only one till open and a long queue",
    "Staff were lovely, thank you",
    "Couldn't find the gluten-free aisle",
    "Clean and tidy, quick in and out",
    "The self checkout kept calling for help",
    "Price on the shelf was not the price at the till",
    "Bardzo miła obsługa, dziękuję",
    "Długa kolejka do kasy",
    "Diolch, gwasanaeth da",
    "Roedd y staff yn help mawr",
    "排队时间太长了",
    "店员很热情，谢谢",
    "Waited 40 minutes, then was sent to another desk",
    "Sorted my council tax in five minutes, brilliant",
    "Nobody answered the phone so I came in",
    "The form is far too long, and the website kept timing out",
    "\"Best service I've had\", says my mum",
    "=HYPERLINK(\"http://example.com\",\"click\")",
    "Fitting rooms were closed again",
    "Good offers this week, but out of stock of milk",
];

struct Generator {
    rng: Rng,
    visit_numbers: HashMap<String, u64>,
}

fn reasons(survey: Survey, low: bool) -> &'static [&'static str] {
    match (survey, low) {
        (Survey::Council, true) => &[
            "waited-too-long",
            "passed-around",
            "no-answer",
            "staff-attitude",
            "forms-too-hard",
        ],
        (Survey::Council, false) => &[
            "sorted-first-time",
            "short-wait",
            "helpful-staff",
            "clear-information",
            "treated-with-respect",
        ],
        (_, true) => &[
            "long-queue",
            "out-of-stock",
            "could-not-find",
            "unhelpful-staff",
            "price-wrong",
            "untidy",
        ],
        (_, false) => &[
            "quick-checkout",
            "friendly-staff",
            "easy-to-find",
            "clean-tidy",
            "good-offers",
        ],
    }
}

impl Generator {
    fn rating(&mut self, points: i32, quality: f64) -> i32 {
        // Mostly content visitors; a better site has more top marks.
        let shift = (quality * 8.0) as i32;
        let weights: Vec<(i32, u32)> = match points {
            4 => vec![
                (1, 9),
                (2, 14),
                (3, (38 - shift) as u32),
                (4, (39 + shift) as u32),
            ],
            _ => vec![
                (1, 7),
                (2, 8),
                (3, 15),
                (4, (30 - shift) as u32),
                (5, (40 + shift) as u32),
            ],
        };
        self.rng.weighted(&weights)
    }

    fn nps(&mut self, quality: f64) -> i32 {
        let shift = (quality * 6.0) as i32;
        self.rng.weighted(&[
            (0, 2),
            (2, 2),
            (4, 3),
            (5, 4),
            (6, 6),
            (7, 12),
            (8, (20 - shift) as u32),
            (9, 25),
            (10, (26 + shift) as u32),
        ])
    }

    fn reference(&mut self) -> String {
        let mut code = String::with_capacity(6);
        for i in 0..5 {
            if i == 4 {
                code.push('-');
            }
            code.push(*self.rng.pick(REFERENCE_ALPHABET) as char);
        }
        code
    }

    /// One visit at `site`, started at `started_ms` (Unix milliseconds, UTC).
    fn response(&mut self, site: &BenchSite, started_ms: i64) -> Loaded {
        let rng = &mut self.rng;
        let device_id = format!("{}-k{}", site.id, 1 + rng.below(DEVICES_PER_SITE as u64));
        let outcome = rng.weighted(&[
            (Outcome::Completed, 88),
            (Outcome::Timeout, 8),
            (Outcome::Abandoned, 4),
        ]);
        let language = rng.weighted(site.languages).to_string();
        let (survey_id, service_step, services): (&str, &str, &[&str]) = match site.survey {
            Survey::Council => (
                "council-services",
                "service",
                &[
                    "council-tax",
                    "housing",
                    "parking",
                    "waste-recycling",
                    "benefits",
                    "other",
                ],
            ),
            Survey::Shop => (
                "shop-feedback",
                "touchpoint",
                &[
                    "entrance",
                    "finding-items",
                    "checkout-queue",
                    "staff-help",
                    "fitting-rooms",
                ],
            ),
            Survey::Nps => (
                "store-nps",
                "touchpoint",
                &["entrance", "checkout-queue", "staff-help", "collection"],
            ),
        };
        let mut answers = Vec::new();
        let mut at_ms = 0;
        let mut answer = |answers: &mut Vec<Answer>, rng: &mut Rng, step: &str, value| {
            at_ms += 2000 + rng.below(6000);
            answers.push(Answer {
                step_id: step.to_string(),
                at_ms,
                value,
            });
        };
        let service = if rng.chance(0.8) {
            let chosen = rng.pick(services).to_string();
            answer(
                &mut answers,
                rng,
                service_step,
                AnswerValue::Choice {
                    options: vec![chosen.clone()],
                },
            );
            Some(chosen)
        } else {
            None
        };
        // An abandoned visit sometimes ends before the rating.
        let rated = outcome == Outcome::Completed || rng.chance(0.6);
        if rated {
            let (scale, value, low, high) = match site.survey {
                Survey::Shop => {
                    let v = self.rating(5, site.quality);
                    ("smiley5", v, v <= 2, v >= 4)
                }
                Survey::Council => {
                    let v = self.rating(4, site.quality);
                    ("smiley4", v, v <= 2, v >= 3)
                }
                Survey::Nps => {
                    let v = self.nps(site.quality);
                    ("nps", v, v <= 6, v >= 9)
                }
            };
            let rng = &mut self.rng;
            answer(
                &mut answers,
                rng,
                "overall",
                AnswerValue::Rating {
                    scale: scale.into(),
                    value,
                },
            );
            if (low || high) && (outcome == Outcome::Completed || rng.chance(0.5)) {
                let set = reasons(site.survey, low);
                let mut options = vec![rng.pick(set).to_string()];
                if rng.chance(0.35) {
                    options.push(rng.pick(set).to_string());
                }
                options.dedup();
                answer(&mut answers, rng, "why", AnswerValue::Choice { options });
            }
        }
        let rng = &mut self.rng;
        if outcome == Outcome::Completed {
            match site.survey {
                Survey::Shop if rng.chance(0.25) => {
                    let value = self.nps(site.quality);
                    let rng = &mut self.rng;
                    answer(
                        &mut answers,
                        rng,
                        "recommend",
                        AnswerValue::Rating {
                            scale: "nps".into(),
                            value,
                        },
                    );
                }
                Survey::Council => {
                    let channel = rng
                        .pick(&["website", "phone", "email", "first-contact"])
                        .to_string();
                    answer(
                        &mut answers,
                        rng,
                        "channel",
                        AnswerValue::Choice {
                            options: vec![channel],
                        },
                    );
                    for statement in ["fair", "easy"] {
                        if rng.chance(0.7) {
                            let value = 1 + rng.below(5) as i32;
                            answer(&mut answers, rng, statement, AnswerValue::Agree { value });
                        }
                    }
                }
                _ => {}
            }
            let rng = &mut self.rng;
            if rng.chance(0.12) {
                let text = rng.pick(COMMENTS).to_string();
                answer(&mut answers, rng, "comment", AnswerValue::Text { text });
            } else {
                answer(&mut answers, rng, "comment", AnswerValue::Skipped);
            }
            if rng.chance(0.008) {
                answer(
                    &mut answers,
                    rng,
                    "contact",
                    AnswerValue::Contact {
                        name: "Alex Morgan".into(),
                        reach: "07700 900123".into(),
                        consent_text: "You may contact me about this feedback.".into(),
                    },
                );
            } else {
                answer(&mut answers, rng, "contact", AnswerValue::Skipped);
            }
            if site.survey != Survey::Council && rng.chance(0.05) {
                let mac: String = (0..4).map(|_| format!("{:016x}", rng.next())).collect();
                answer(
                    &mut answers,
                    rng,
                    "receipt",
                    AnswerValue::Receipt {
                        transaction: Some(format!("hmac-sha256:{mac}")),
                        pattern: Some("till-receipt".into()),
                        store: None,
                        till: None,
                        txn: None,
                        date: None,
                        time: None,
                        code: None,
                    },
                );
            }
        }
        let rng = &mut self.rng;
        let idle = match outcome {
            Outcome::Timeout => 45_000,
            _ => 0,
        };
        let duration_ms = at_ms + 1500 + idle;
        let started = UNIX_EPOCH + Duration::from_millis(started_ms as u64);
        let finished = started + Duration::from_millis(duration_ms);
        let visit_number = {
            let n = self.visit_numbers.entry(device_id.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let mono_start = visit_number * 120_000;
        let mut random = [0u8; 10];
        random.iter_mut().for_each(|b| *b = rng.next() as u8);
        let id =
            uuid::Builder::from_unix_timestamp_millis(started_ms as u64 + duration_ms, &random)
                .into_uuid();
        let record = ResponseRecord {
            id,
            reference: self.reference(),
            survey_id: survey_id.into(),
            survey_version: "2026-11-23".into(),
            language,
            site_id: site.id.clone(),
            device_id: device_id.clone(),
            started_at: earshot_protocol::time::rfc3339(started),
            finished_at: earshot_protocol::time::rfc3339(finished),
            clock: ClockInfo {
                synchronized: true,
                started_mono_ms: mono_start,
                finished_mono_ms: mono_start + duration_ms,
                visit_number,
                run_id: None,
                boot_id: None,
                started_boot_ms: None,
                finished_boot_ms: None,
            },
            outcome,
            service,
            answers,
            flags: Flags {
                suspected_misuse: self.rng.chance(0.015),
            },
        };
        let rng = &mut self.rng;
        // Uploaded within seconds, or hours later after an outage.
        let delay_s = if rng.chance(0.97) {
            5 + rng.below(30)
        } else {
            600 + rng.below(6 * 3600)
        };
        // Its batch's id, made of the device and the day.
        let day = started_ms / 86_400_000;
        let device_hash = device_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
        let mut batch_random = [0u8; 10];
        batch_random[..8].copy_from_slice(&device_hash.to_le_bytes());
        let batch_id =
            uuid::Builder::from_unix_timestamp_millis(day as u64 * 86_400_000, &batch_random)
                .into_uuid();
        Loaded {
            accepted: Accepted {
                index: 0,
                record_json: serde_json::to_string(&record).expect("a record encodes"),
                record,
                started_at: started,
                finished_at: finished,
                basis: TimeBasis::Device,
            },
            device_id,
            batch_id,
            received_at: finished + Duration::from_secs(delay_s),
        }
    }
}

/// Makes the year: per local day and site, a count in proportion to the site's and the
/// day's weight (rounded so that the whole comes to exactly `RESPONSES`), at local hours of
/// the daily shape. Sends the responses of each `DAYS_PER_LOAD` days, in time order.
fn generate(
    sites: Vec<BenchSite>,
    first_day: Date,
    send: std::sync::mpsc::SyncSender<Vec<Loaded>>,
) {
    let mut g = Generator {
        rng: Rng(2026),
        visit_numbers: HashMap::new(),
    };
    let dates: Vec<Date> = (0..DAYS)
        .map(|d| first_day.checked_add(jiff::Span::new().days(d)).unwrap())
        .collect();
    let total: f64 = dates.iter().map(|d| day_weight(*d)).sum::<f64>()
        * sites.iter().map(|s| s.weight).sum::<f64>();
    let mut owed = 0.0;
    let mut made = 0u64;
    let mut chunk = Vec::new();
    for (d, date) in dates.iter().enumerate() {
        let mut day = Vec::new();
        for (s, site) in sites.iter().enumerate() {
            owed += RESPONSES as f64 * day_weight(*date) * site.weight / total;
            let last = d + 1 == dates.len() && s + 1 == sites.len();
            let n = if last {
                RESPONSES - made
            } else {
                let n = owed.floor() as u64;
                owed -= n as f64;
                n
            };
            made += n;
            for _ in 0..n {
                let hour = g.rng.weighted(&HOURS);
                let minute = g.rng.below(60) as i8;
                let second = g.rng.below(60) as i8;
                let ms = g.rng.below(1000) as i32 * 1_000_000;
                let Ok(zoned) = date
                    .at(hour as i8, minute, second, ms)
                    .to_zoned(site.zone.clone())
                else {
                    continue;
                };
                day.push((zoned.timestamp().as_millisecond(), s));
            }
        }
        day.sort_unstable();
        for (started_ms, s) in day {
            chunk.push(g.response(&sites[s], started_ms));
        }
        let last_of_load = (d as i64 + 1) % DAYS_PER_LOAD == 0 || d + 1 == dates.len();
        if last_of_load && send.send(std::mem::take(&mut chunk)).is_err() {
            return;
        }
    }
}

/// A reply read whole from a `Connection: close` request.
struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> impl Iterator<Item = &str> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.head
            .lines()
            .filter(move |l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[l.find(':').unwrap() + 1..].trim())
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.header("set-cookie").find_map(|c| {
            let pair = c.split(';').next()?;
            let (n, v) = pair.split_once('=')?;
            (n == name).then(|| v.to_string())
        })
    }
}

fn request(addr: SocketAddr, method: &str, path: &str, cookie: &str, form: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connect to the collector");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if !cookie.is_empty() {
        head.push_str(&format!("Cookie: {cookie}\r\n"));
    }
    if method == "POST" {
        head.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            form.len()
        ));
    }
    head.push_str("\r\n");
    head.push_str(form);
    stream.write_all(head.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a reply head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut reply = Reply {
        status,
        head,
        body: Vec::new(),
    };
    if reply
        .header("transfer-encoding")
        .any(|v| v.eq_ignore_ascii_case("chunked"))
    {
        body = dechunk(&body);
    }
    reply.body = body;
    reply
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&data[..end])
                .split(';')
                .next()
                .unwrap()
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 2 + size + 2..];
    }
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Signs in as the viewer the way a browser does: the sign-in form's CSRF cookie and field,
/// then the form. Returns the session cookie.
fn sign_in(addr: SocketAddr) -> String {
    let page = request(addr, "GET", "/login", "", "");
    assert_eq!(page.status, 200, "GET /login: {}", page.head);
    let csrf = page.cookie("earshot_sign_in").expect("the sign-in cookie");
    let html = String::from_utf8_lossy(&page.body);
    assert!(
        html.contains(&format!("value=\"{csrf}\"")),
        "the form carries the same token"
    );
    let form = format!(
        "csrf={csrf}&next=%2Fresults&email={}&password={}",
        percent(VIEWER),
        percent(VIEWER_PASSWORD)
    );
    let reply = request(
        addr,
        "POST",
        "/login",
        &format!("earshot_sign_in={csrf}"),
        &form,
    );
    assert_eq!(reply.status, 303, "sign-in: {}", reply.head);
    let session = reply.cookie("earshot_session").expect("a session cookie");
    format!("earshot_session={session}")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Times `RUNS` requests of `path` after `WARM_UPS`, each checked to be a whole page.
fn time_page(addr: SocketAddr, session: &str, path: &str) -> (Duration, Duration, usize) {
    let mut times = Vec::with_capacity(RUNS);
    let mut size = 0;
    for i in 0..WARM_UPS + RUNS {
        let t = Instant::now();
        let reply = request(addr, "GET", path, session, "");
        let took = t.elapsed();
        assert_eq!(reply.status, 200, "GET {path}: {}", reply.head);
        size = reply.body.len();
        if i >= WARM_UPS {
            times.push(took);
        }
    }
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.95), size)
}

/// The "summary,responses,N" row of a results CSV.
fn csv_responses(csv: &str) -> u64 {
    csv.lines()
        .find_map(|l| l.strip_prefix("summary,responses,"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Runs a command to completion; returns its standard output, its peak resident memory in
/// KiB (VmHWM from /proc while it runs: the last reading before it exits) and how long it
/// took.
fn run_measured(mut command: Command) -> (String, u64, Duration) {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start earshot-collector");
    let status_path = format!("/proc/{}/status", child.id());
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        for line in BufReader::new(stdout).lines() {
            out.push_str(&line.unwrap());
            out.push('\n');
        }
        out
    });
    let mut peak_kib = 0;
    let status = loop {
        if let Ok(status) = std::fs::read_to_string(&status_path) {
            if let Some(kib) = status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
            {
                peak_kib = peak_kib.max(kib);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let took = started.elapsed();
    assert!(status.success(), "earshot-collector failed: {status}");
    (reader.join().unwrap(), peak_kib, took)
}

fn file_system_of(dir: &Path) -> String {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            (f.len() >= 3 && dir.starts_with(f[1]))
                .then(|| (f[1].len(), format!("{} ({} on {})", f[2], f[0], f[1])))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, fs)| fs)
        .unwrap_or_else(|| "unknown".into())
}

fn database_bytes(db: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .map(|suffix| {
            let mut p = db.as_os_str().to_owned();
            p.push(suffix);
            std::fs::metadata(PathBuf::from(p))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .sum()
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "OVER"
    }
}

fn main() {
    // `cargo bench` passes `--bench`; any filter argument is ignored, the bench is one piece.
    let temp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let db = std::env::var_os("EARSHOT_RESULTS_BENCH_DB")
        .map(PathBuf::from)
        .unwrap_or_else(|| temp.path().join("collector.db"));
    let reused = db.exists();
    let store = Arc::new(SqliteStore::open(&db).expect("open the collector database"));
    let sites = sites();
    let today = jiff::Timestamp::now().to_zoned(TimeZone::UTC).date();
    let first_day = today.checked_sub(jiff::Span::new().days(DAYS)).unwrap();

    // ---- The year, stored ----------------------------------------------------------------
    let mut generation = None;
    if !reused {
        let now = SystemTime::now();
        let organisation = "Bench Retail and Council";
        for (i, site) in sites.iter().enumerate() {
            let (area, zone, _) = AREAS[i / SITES_PER_AREA];
            store
                .set_site(&Site {
                    id: site.id.clone(),
                    name: format!("{area} {}", i % SITES_PER_AREA + 1),
                    time_zone: zone.into(),
                    area: area.into(),
                    organisation: organisation.into(),
                })
                .unwrap();
            for k in 1..=DEVICES_PER_SITE {
                let code = store
                    .create_enrollment_code(
                        &SiteId::parse(&site.id).unwrap(),
                        now + Duration::from_secs(60),
                    )
                    .unwrap();
                store
                    .enroll(
                        &code,
                        &DeviceId::parse(&format!("{}-k{k}", site.id)).unwrap(),
                        None,
                        false,
                        now,
                    )
                    .unwrap()
                    .expect("enrolled");
            }
        }
        let hash = NewPassword::parse(VIEWER_PASSWORD).unwrap().hash().unwrap();
        store
            .add_user(&Email::parse(VIEWER).unwrap(), Role::Viewer, &hash, now)
            .unwrap();
        let started = Instant::now();
        let (send, receive) = sync_channel(2);
        let for_generator = sites.clone();
        let generator = std::thread::spawn(move || generate(for_generator, first_day, send));
        let mut stored = 0;
        for chunk in receive {
            stored += store.load(&chunk).expect("load");
        }
        generator.join().unwrap();
        assert_eq!(stored, RESPONSES, "every generated response stored");
        generation = Some(started.elapsed());
    }
    let db_bytes = database_bytes(&db);

    // ---- The results page ----------------------------------------------------------------
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let state = AppState::new(store.clone(), KnownSurveys::default(), Limits::default());
    runtime.spawn(serve(
        listener,
        app(state),
        ServeSettings::default(),
        std::future::pending(),
    ));
    let session = sign_in(addr);
    // (a) one site, the last whole calendar month; (b) every site, the whole year.
    let this_month = today.first_of_month();
    let month_from = this_month.checked_sub(jiff::Span::new().months(1)).unwrap();
    let month_to = this_month.yesterday().unwrap();
    let one_site = &sites[3].id;
    let site_month = format!("/results?from={month_from}&to={month_to}&place={one_site}");
    let year_to = today.yesterday().unwrap();
    let year = format!("/results?from={first_day}&to={year_to}");
    let (a50, a95, a_bytes) = time_page(addr, &session, &site_month);
    let (b50, b95, b_bytes) = time_page(addr, &session, &year);
    let year_csv = year.replacen("/results?", "/results.csv?", 1);
    let t = Instant::now();
    let csv = request(addr, "GET", &year_csv, &session, "");
    let csv_took = t.elapsed();
    assert_eq!(csv.status, 200, "GET {year_csv}: {}", csv.head);
    let csv_text = String::from_utf8_lossy(&csv.body).into_owned();
    let counted_year = csv_responses(&csv_text);
    let month_csv = request(
        addr,
        "GET",
        &site_month.replacen("/results?", "/results.csv?", 1),
        &session,
        "",
    );
    let counted_month = csv_responses(&String::from_utf8_lossy(&month_csv.body));
    assert!(
        counted_year > RESPONSES * 95 / 100,
        "the year's page counts {counted_year} of {RESPONSES}"
    );
    assert!(counted_month > 0, "the site's month counts nothing");
    runtime.shutdown_background();

    // ---- The streaming export --------------------------------------------------------------
    // The real binary, in a process of its own, so that its peak memory is its own. Growth is
    // its peak exporting every response less its peak exporting the last `BASE_DAYS` days: the
    // memory that comes with the number of rows. (A shorter export than that can end between
    // two readings of /proc, before its peak is seen.)
    let binary = env!("CARGO_BIN_EXE_earshot-collector");
    let export = |since: Option<String>, out: &Path| {
        let mut command = Command::new(binary);
        command
            .env("EARSHOT_LOG", "warn")
            .arg("--db")
            .arg(&db)
            .args(["export", "--format", "csv", "--out"])
            .arg(out);
        if let Some(since) = since {
            command.args(["--since", &since]);
        }
        run_measured(command)
    };
    let out_dir = tempfile::tempdir_in(db.parent().unwrap_or(Path::new("."))).unwrap();
    let few = out_dir.path().join("few.csv");
    let base_since = today
        .checked_sub(jiff::Span::new().days(BASE_DAYS))
        .unwrap();
    let (said_few, base_kib, _) = export(Some(base_since.to_string()), &few);
    let base_rows = said_few
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    let all = out_dir.path().join("all.csv");
    let (said, peak_kib, export_took) = export(None, &all);
    let export_bytes = std::fs::metadata(&all).map(|m| m.len()).unwrap_or(0);
    assert!(
        said.contains(&format!("wrote {RESPONSES} responses")),
        "the export said: {said}"
    );
    drop(out_dir);
    let rows_per_s = RESPONSES as f64 / export_took.as_secs_f64();
    let growth_mb = peak_kib.saturating_sub(base_kib) as f64 / 1024.0;

    // ---- The table --------------------------------------------------------------------------
    let row = |what: &str, measured: String, target: &str, verdict: &str| {
        println!("{what:<60} {measured:<16} {target:<12} {verdict}")
    };
    println!();
    println!("earshot-collector results benchmark: `{COMMAND}`");
    println!(
        "file system: {}; {} CPU(s); {}",
        file_system_of(db.parent().unwrap_or(Path::new("."))),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        std::env::consts::ARCH
    );
    println!(
        "data: {RESPONSES} responses, {} sites in {} areas (Europe/London, Europe/Warsaw, \
         America/New_York), {DAYS} days to {year_to}; {:.0} MiB on disk",
        sites.len(),
        AREAS.len(),
        db_bytes as f64 / 1048576.0
    );
    row("figure", "measured".into(), "target", "verdict");
    row(&"-".repeat(60), "-".repeat(16), &"-".repeat(12), "-------");
    match generation {
        Some(took) => row(
            "generate and store 1,000,000 responses (10 days per commit)",
            format!("{:.1} s", took.as_secs_f64()),
            "-",
            "-",
        ),
        None => row(
            "generate and store (reused EARSHOT_RESULTS_BENCH_DB)",
            "-".into(),
            "-",
            "-",
        ),
    }
    if let Some(took) = generation {
        row(
            "  responses stored per second",
            format!("{:.0} /s", RESPONSES as f64 / took.as_secs_f64()),
            "-",
            "-",
        );
    }
    let target = format!("< {TARGET_P95_MS:.0} ms");
    row(
        &format!("(a) /results, one site, {month_from}..{month_to}, p50"),
        format!("{:.1} ms", ms(a50)),
        "-",
        "-",
    );
    row(
        &format!(
            "(a) p95 of {RUNS} ({counted_month} responses, {} KiB page)",
            a_bytes / 1024
        ),
        format!("{:.1} ms", ms(a95)),
        &target,
        verdict(ms(a95) < TARGET_P95_MS),
    );
    row(
        &format!("(b) /results, all sites, {first_day}..{year_to}, p50"),
        format!("{:.1} ms", ms(b50)),
        "-",
        "-",
    );
    row(
        &format!(
            "(b) p95 of {RUNS} ({counted_year} responses, {} KiB page)",
            b_bytes / 1024
        ),
        format!("{:.1} ms", ms(b95)),
        &target,
        verdict(ms(b95) < TARGET_P95_MS),
    );
    row(
        &format!("(b) /results.csv once ({} KiB)", csv.body.len() / 1024),
        format!("{:.1} ms", ms(csv_took)),
        "-",
        "-",
    );
    row(
        &format!(
            "export --format csv, all {RESPONSES} ({:.0} MiB), rows per second",
            export_bytes as f64 / 1048576.0
        ),
        format!("{rows_per_s:.0} /s"),
        &format!("> {TARGET_ROWS_PER_S:.0}"),
        verdict(rows_per_s > TARGET_ROWS_PER_S),
    );
    row(
        &format!(
            "  peak memory growth (peak {:.1} MiB; {base_rows} rows: {:.1} MiB)",
            peak_kib as f64 / 1024.0,
            base_kib as f64 / 1024.0
        ),
        format!("{growth_mb:.1} MiB"),
        &format!("< {TARGET_EXPORT_GROWTH_MB:.0} MiB"),
        verdict(growth_mb < TARGET_EXPORT_GROWTH_MB),
    );
    println!();
    println!("How these were measured:");
    println!(
        "- pages: the real app (`http::app` through `serve::serve`) in this process on 127.0.0.1,"
    );
    println!(
        "  signed in as a viewer; each time is one request from connecting to the last byte of the"
    );
    println!(
        "  page ({WARM_UPS} warm-ups first); the database was just written, so its file is in the page cache."
    );
    println!(
        "- export: `earshot-collector export --format csv` in its own process, from start to exit"
    );
    println!(
        "  (opening the database, every row, fsync, rename); memory is its VmHWM from /proc, less"
    );
    println!(
        "  the VmHWM of the same command exporting the last {BASE_DAYS} days ({base_rows} rows)."
    );
    drop(store);
    drop(temp);
}
