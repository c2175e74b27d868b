//! The service team's workspace in a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`, driven through WebDriver), against a real collector process on
//! 127.0.0.1 holding a data set that the test makes through the kiosk API and whose figures
//! it works out on its own.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use uuid::Uuid;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_earshot-collector")
}

struct Collector {
    child: Child,
    addr: String,
    db: PathBuf,
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Collector {
    fn start(dir: &Path) -> Collector {
        let db = dir.join("c.db");
        let mut child = Command::new(bin())
            .arg("--db")
            .arg(&db)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("collector.log")).unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap()
            .to_string();
        Collector { child, addr, db }
    }

    fn cli(&self, args: &[&str], stdin: &str) -> String {
        let mut child = Command::new(bin())
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// One HTTP/1.1 request; returns (status, headers and body as text).
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    let text = String::from_utf8_lossy(&reply).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn body_of(reply: &str) -> &str {
    reply.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("")
}

/// chromedriver on a free port of 127.0.0.1, stopped with the test.
struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromedriver() -> Driver {
    let path = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("chromedriver is not installed: scripts/test installs Debian's chromium-driver");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Driver {
        child,
        port,
        _profile: tempfile::tempdir().unwrap(),
    }
}

async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", "--disable-quic",
                     format!("--user-data-dir={}", driver._profile.path().display())]
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("cannot start a Chromium session through chromedriver")
}

async fn sign_in(client: &Client, collector: &Collector, email: &str, password: &str) {
    client.goto(&collector.url("/login")).await.unwrap();
    type_into(client, "#email", email).await;
    type_into(client, "#password", password).await;
    click(client, "button[type=submit]").await;
}

/// Waits up to 10 s for the page at `path` (a click's navigation ends after the click).
async fn wait_for_path(client: &Client, path: &str) {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let now = client.current_url().await.unwrap();
        if now.path() == path {
            return;
        }
        assert!(Instant::now() < until, "still at {now}, not {path}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn text_of(client: &Client, css: &str) -> String {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

// ---- The data set -------------------------------------------------------------------------

/// A small deterministic generator, so the data set is the same on every run.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

struct Visit {
    rating: i64,
    nps: Option<i64>,
    reasons: Vec<&'static str>,
    comment: Option<String>,
    misuse: bool,
}

const SCRIPT_COMMENT: &str = "<script>document.title='pwned'</script> the queue";

/// (site, device, visits) for three sites; the third has three perfect visits only.
fn data_set() -> Vec<(&'static str, &'static str, Vec<Visit>)> {
    let mut rng = Lcg(7);
    let mut site = |n: usize, skew: u64| -> Vec<Visit> {
        (0..n)
            .map(|i| {
                let rating = (1 + rng.next(5) + skew).min(5) as i64;
                let reasons = match rating {
                    1 | 2 => vec![["queue", "rude", "dirty"][rng.next(3) as usize]],
                    4 | 5 => vec![["friendly", "quick"][rng.next(2) as usize]],
                    _ => vec![],
                };
                Visit {
                    rating,
                    nps: (i % 2 == 0).then(|| rng.next(11) as i64),
                    reasons,
                    comment: (i % 7 == 0).then(|| format!("comment {i}")),
                    misuse: false,
                }
            })
            .collect()
    };
    let mut a = site(40, 0);
    a.push(Visit {
        rating: 1,
        nps: None,
        reasons: vec!["queue"],
        comment: Some(SCRIPT_COMMENT.into()),
        misuse: false,
    });
    // Left out of every figure.
    a.push(Visit {
        rating: 5,
        nps: Some(10),
        reasons: vec!["quick"],
        comment: None,
        misuse: true,
    });
    let b = site(25, 1);
    let c = (0..3)
        .map(|_| Visit {
            rating: 5,
            nps: None,
            reasons: vec!["friendly"],
            comment: None,
            misuse: false,
        })
        .collect();
    vec![
        ("site-a", "kiosk-a", a),
        ("site-b", "kiosk-b", b),
        ("site-c", "kiosk-c", c),
    ]
}

fn record(site: &str, device: &str, visit: &Visit, minutes_ago: u64) -> Value {
    let at = SystemTime::now() - Duration::from_secs(60 * minutes_ago + 60);
    let start = earshot_protocol::time::rfc3339(at);
    let mut answers = vec![json!({"step_id": "rating", "at_ms": 1000,
        "value": {"type": "rating", "scale": "smiley5", "value": visit.rating}})];
    if !visit.reasons.is_empty() {
        answers.push(json!({"step_id": "why", "at_ms": 2000,
            "value": {"type": "choice", "options": visit.reasons}}));
    }
    if let Some(nps) = visit.nps {
        answers.push(json!({"step_id": "recommend", "at_ms": 3000,
            "value": {"type": "rating", "scale": "nps", "value": nps}}));
    }
    if let Some(text) = &visit.comment {
        answers.push(json!({"step_id": "comment", "at_ms": 4000,
            "value": {"type": "text", "text": text}}));
    }
    json!({
        "id": Uuid::now_v7(), "reference": "K7M2-Q", "survey_id": "shop-feedback",
        "survey_version": "1", "language": "en", "site_id": site, "device_id": device,
        "started_at": start, "finished_at": start,
        "clock": {"synchronized": true, "started_mono_ms": 1000, "finished_mono_ms": 9000, "visit_number": 1},
        "outcome": "completed", "service": "checkout", "answers": answers,
        "flags": {"suspected_misuse": visit.misuse}
    })
}

fn load_data_set(collector: &Collector) {
    for (site, device, visits) in data_set() {
        let responses = visits
            .iter()
            .enumerate()
            .map(|(i, v)| record(site, device, v, i as u64))
            .collect();
        // The fleet page names this alarm in words.
        post_records(collector, site, device, responses, &["scanner-unavailable"]);
    }
}

/// The figures, worked out here from the data set alone.
struct Expected {
    responses: usize,
    index: f64,
    nps: f64,
    top_unhappy: (String, usize),
    ranking: Vec<&'static str>,
}

fn expected() -> Expected {
    let sites = data_set();
    let counted: Vec<(&str, &Visit)> = sites
        .iter()
        .flat_map(|(s, _, v)| v.iter().map(move |v| (*s, v)))
        .filter(|(_, v)| !v.misuse)
        .collect();
    let index_of = |r: i64| (r - 1) as f64 * 25.0;
    let index = counted.iter().map(|(_, v)| index_of(v.rating)).sum::<f64>() / counted.len() as f64;
    let nps_answers: Vec<i64> = counted.iter().filter_map(|(_, v)| v.nps).collect();
    let promoters = nps_answers.iter().filter(|n| **n >= 9).count() as f64;
    let detractors = nps_answers.iter().filter(|n| **n <= 6).count() as f64;
    let nps = (promoters - detractors) / nps_answers.len() as f64 * 100.0;
    let mut unhappy = std::collections::BTreeMap::<&str, usize>::new();
    for (_, v) in counted.iter().filter(|(_, v)| v.rating <= 2) {
        for r in &v.reasons {
            *unhappy.entry(r).or_default() += 1;
        }
    }
    let top = unhappy
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
        .unwrap();
    let mut ranked: Vec<(&'static str, f64)> = sites
        .iter()
        .map(|(site, _, visits)| {
            let own: Vec<f64> = visits
                .iter()
                .filter(|v| !v.misuse)
                .map(|v| index_of(v.rating))
                .collect();
            let n = own.len() as f64;
            let mean = own.iter().sum::<f64>() / n;
            (*site, (n * mean + 10.0 * index) / (n + 10.0))
        })
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    Expected {
        responses: counted.len(),
        index,
        nps,
        top_unhappy: (top.0.to_string(), *top.1),
        ranking: ranked.into_iter().map(|(s, _)| s).collect(),
    }
}

const ADMIN: (&str, &str) = ("admin@council.example", "admin pass phrase one");
const VIEWER: (&str, &str) = ("viewer@council.example", "viewer pass phrase two");

fn collector_with_people(dir: &Path) -> Collector {
    let collector = Collector::start(dir);
    collector.cli(
        &["user", "add", "--email", ADMIN.0, "--role", "admin"],
        &format!("{}\n", ADMIN.1),
    );
    collector.cli(
        &["user", "add", "--email", VIEWER.0, "--role", "viewer"],
        &format!("{}\n", VIEWER.1),
    );
    collector
}

async fn session_cookie(client: &Client) -> String {
    let cookie = client
        .get_named_cookie("earshot_session")
        .await
        .expect("signed in, the browser holds a session cookie");
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(
        cookie.same_site().map(|s| s.to_string()).as_deref(),
        Some("Strict")
    );
    format!("earshot_session={}", cookie.value())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn sign_in_roles_and_forms_are_checked_on_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let collector = collector_with_people(dir.path());
    let driver = chromedriver();
    runtime().block_on(async {
        let client = browser(&driver).await;
        // Anyone not signed in is sent to sign in.
        client.goto(&collector.url("/")).await.unwrap();
        assert!(client
            .current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/login"));
        client.goto(&collector.url("/fleet")).await.unwrap();
        wait_for_path(&client, "/login").await;

        sign_in(&client, &collector, VIEWER.0, "not the password").await;
        wait_for_path(&client, "/login").await;
        assert!(
            text_of(&client, "[role=alert]")
                .await
                .contains("do not match"),
            "a refused password says so"
        );

        sign_in(&client, &collector, VIEWER.0, VIEWER.1).await;
        wait_for_path(&client, "/results").await;
        assert!(text_of(&client, "header .who").await.contains(VIEWER.0));
        // A viewer is refused an admin page, by the server.
        client.goto(&collector.url("/admin/users")).await.unwrap();
        assert_eq!(text_of(&client, "h1").await, "Not allowed");
        let viewer_cookie = session_cookie(&client).await;
        let (status, _) = http(
            &collector.addr,
            "GET",
            "/admin/users",
            &[("Cookie", &viewer_cookie)],
            b"",
        );
        assert_eq!(status, 403);
        client.goto(&collector.url("/results")).await.unwrap();
        click(&client, "header form button").await;
        wait_for_path(&client, "/login").await;
        // Signed out everywhere: the old cookie no longer works.
        let (status, reply) = http(
            &collector.addr,
            "GET",
            "/results",
            &[("Cookie", &viewer_cookie)],
            b"",
        );
        assert_eq!(status, 303, "{reply}");

        sign_in(&client, &collector, ADMIN.0, ADMIN.1).await;
        wait_for_path(&client, "/results").await;
        client.goto(&collector.url("/admin/users")).await.unwrap();
        assert_eq!(text_of(&client, "h1").await, "Users");
        let admin_cookie = session_cookie(&client).await;
        // A form without its CSRF token is refused and does nothing ...
        let (status, reply) = http(
            &collector.addr,
            "POST",
            "/fleet/enrolment-code",
            &[
                ("Cookie", &admin_cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            b"site=site-z",
        );
        assert_eq!(status, 403, "{reply}");
        assert!(!reply.contains("enrolment-code\""), "{reply}");
        // ... while the page's own form works.
        client.goto(&collector.url("/fleet")).await.unwrap();
        type_into(&client, "#site", "site-z").await;
        click(&client, "form[action='/fleet/enrolment-code'] button").await;
        let code = text_of(&client, "#enrolment-code").await;
        assert_eq!(code.len(), 14, "{code}");
        assert!(
            client.find(Locator::Css("section svg")).await.is_ok(),
            "the code's QR image"
        );
        client.goto(&collector.url("/admin/sites")).await.unwrap();
        for (field, value) in [
            ("#site-id", "site-z"),
            ("#site-name", "Town Hall"),
            ("#site-area", "north"),
        ] {
            type_into(&client, field, value).await;
        }
        click(&client, "form[action='/admin/sites'] button").await;
        assert!(text_of(&client, "[role=status]")
            .await
            .contains("Saved Town Hall"));
        client.goto(&collector.url("/results")).await.unwrap();
        let places = text_of(&client, "#place").await;
        assert!(
            places.contains("Area: north") && places.contains("Town Hall"),
            "{places}"
        );

        client.close().await.unwrap();
    });
}

#[test]
fn results_show_the_figures_of_a_known_data_set_and_the_csv_says_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let collector = collector_with_people(dir.path());
    load_data_set(&collector);
    let want = expected();
    let driver = chromedriver();
    runtime().block_on(async {
        let client = browser(&driver).await;
        sign_in(&client, &collector, VIEWER.0, VIEWER.1).await;
        wait_for_path(&client, "/results").await;
        let responses = text_of(&client, "#figure-responses").await;
        let index = text_of(&client, "#figure-index").await;
        let nps = text_of(&client, "#figure-nps").await;
        assert_eq!(responses, want.responses.to_string());
        assert_eq!(index, format!("{:.1}", want.index));
        assert_eq!(nps, format!("{:.1}", want.nps));
        assert_eq!(text_of(&client, "#figure-misuse").await, "1");
        let top = text_of(&client, "#unhappy-reasons tbody tr").await;
        assert!(
            top.contains(&want.top_unhappy.0) && top.ends_with(&want.top_unhappy.1.to_string()),
            "top unhappy reason {top:?}, expected {:?}",
            want.top_unhappy
        );
        let mut ranking = Vec::new();
        for row in client
            .find_all(Locator::Css("#ranking tbody tr td:nth-child(2)"))
            .await
            .unwrap()
        {
            ranking.push(row.text().await.unwrap());
        }
        assert_eq!(
            ranking, want.ranking,
            "site-c has three perfect responses only"
        );
        // A chart is drawn, with its table beside it.
        assert!(client.find(Locator::Css("figure svg")).await.is_ok());
        // A comment holding a script is shown as text and never runs.
        let mut comments = Vec::new();
        for cell in client
            .find_all(Locator::Css("#comments td:last-child"))
            .await
            .unwrap()
        {
            comments.push(cell.text().await.unwrap());
        }
        assert!(comments.iter().any(|c| c == SCRIPT_COMMENT), "{comments:?}");
        assert_eq!(client.title().await.unwrap(), "Results · Earshot");
        // The filter is in the URL: the same view comes back from it.
        type_into(&client, "#q", "queue").await;
        click(&client, "form.filters button").await;
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let url = client.current_url().await.unwrap();
            if url.query().unwrap_or("").contains("q=queue") {
                break;
            }
            assert!(
                Instant::now() < until,
                "the filter is not in the URL: {url}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        text_of(&client, "#figure-responses").await;
        assert_eq!(
            client
                .find_all(Locator::Css("#comments tbody tr"))
                .await
                .unwrap()
                .len(),
            1
        );
        // The CSV is the page.
        let csv_link = client
            .find(Locator::Css("a[download]"))
            .await
            .unwrap()
            .attr("href")
            .await
            .unwrap()
            .unwrap();
        let cookie = session_cookie(&client).await;
        let (status, reply) = http(
            &collector.addr,
            "GET",
            &csv_link,
            &[("Cookie", &cookie)],
            b"",
        );
        assert_eq!(status, 200);
        let csv = body_of(&reply);
        assert!(
            csv.contains(&format!("summary,responses,{responses}\r\n")),
            "{csv}"
        );
        assert!(
            csv.contains(&format!("summary,satisfaction index,{index}\r\n")),
            "{csv}"
        );
        assert!(csv.contains(&format!("summary,NPS,{nps}\r\n")), "{csv}");
        assert!(csv.contains("comments,"), "{csv}");
        // The fleet names each device's alarms in plain words with their fix.
        client.goto(&collector.url("/fleet")).await.unwrap();
        let devices = text_of(&client, "#devices tbody").await;
        assert!(
            devices.contains("kiosk-a") && devices.contains("site-c"),
            "{devices}"
        );
        assert!(
            devices.contains("The receipt scanner is missing or cannot be opened."),
            "{devices}"
        );
        let (status, reply) = http(&collector.addr, "GET", "/fleet.csv", &[("Cookie", &cookie)], b"");
        assert_eq!(status, 200);
        assert!(body_of(&reply).lines().count() == 4, "a header and three devices: {reply}");
        // On a phone the pages fit the screen's width, and every field has its label.
        client.set_window_size(375, 800).await.unwrap();
        for path in ["/results", "/fleet"] {
            client.goto(&collector.url(path)).await.unwrap();
            let fits = client
                .execute(
                    "return document.body.scrollWidth <= window.innerWidth + 1",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(fits, json!(true), "{path} is wider than a phone");
            let unlabelled = client
                .execute(
                    "return [...document.querySelectorAll('input:not([type=hidden]), select')]
                        .filter(e => !e.labels || e.labels.length === 0).map(e => e.id || e.name)",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(unlabelled, json!([]), "{path}: fields without a label");
            let untitled = client
                .execute(
                    "return [...document.querySelectorAll('table')].filter(t => !t.querySelector('th')).length",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(untitled, json!(0), "{path}: a table without headers");
        }
        client.close().await.unwrap();
    });
}

const HANDLER: (&str, &str) = ("handler@council.example", "handler pass phrase three");

/// One device at `site` posts `records`.
fn post_records(
    collector: &Collector,
    site: &str,
    device: &str,
    records: Vec<Value>,
    alarms: &[&str],
) {
    let code = collector.cli(&["enroll-code", "--site", site], "");
    let (status, reply) = http(
        &collector.addr,
        "POST",
        "/v1/enroll",
        &[("Content-Type", "application/json")],
        json!({"code": code.lines().next().unwrap(), "device_id": device})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(status, 200, "{reply}");
    let token = serde_json::from_str::<Value>(body_of(&reply)).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let id = Uuid::now_v7();
    let body = json!({"batch_id": id, "responses": records, "status": {
        "app_version": "0.1.0", "survey_id": "shop-feedback", "survey_version": "1",
        "queue_depth": 0, "oldest_unsent_age_s": null, "dead_letters": 0, "scanner": "x",
        "hardware": "x", "uptime_s": 1, "last_error": null, "alarms": alarms,
        "clock": {"sent_at": "2026-11-23T12:00:00Z", "synchronized": true,
                  "run_id": Uuid::now_v7(), "mono_ms": 1}}});
    let (status, reply) = http(
        &collector.addr,
        "POST",
        "/v1/batches",
        &[
            ("Authorization", &format!("Bearer {token}")),
            ("Idempotency-Key", &id.to_string()),
            ("Content-Type", "application/json"),
        ],
        body.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{reply}");
    assert!(!reply.contains("rejected"), "{reply}");
}

async fn click(client: &Client, css: &str) {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

async fn type_into(client: &Client, css: &str, text: &str) {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .unwrap();
}

/// Waits until `css` holds `want` (a click's page load ends after the click).
async fn wait_for_text(client: &Client, css: &str, want: &str) {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(e) = client.find(Locator::Css(css)).await {
            if e.text().await.unwrap_or_default().contains(want) {
                return;
            }
        }
        assert!(Instant::now() < until, "{css} never showed {want:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn a_contact_request_becomes_a_case_worked_to_the_end_and_followed_by_the_visitor() {
    let dir = tempfile::tempdir().unwrap();
    let collector = collector_with_people(dir.path());
    collector.cli(
        &[
            "user",
            "add",
            "--email",
            HANDLER.0,
            "--role",
            "case-handler",
        ],
        &format!("{}\n", HANDLER.1),
    );
    let reference = earshot_protocol::reference::make(424_242);
    let mut asked = record(
        "site-a",
        "kiosk-a",
        &Visit {
            rating: 1,
            nps: None,
            reasons: vec!["queue"],
            comment: Some("Aros am awr".into()),
            misuse: false,
        },
        1,
    );
    asked["reference"] = json!(reference);
    asked["language"] = json!("cy");
    asked["answers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"step_id": "contact", "at_ms": 5000,
        "value": {"type": "contact", "name": "Ann Jones", "reach": "07700 900123",
                  "consent_text": "Cewch gysylltu â mi"}}));
    post_records(&collector, "site-a", "kiosk-a", vec![asked], &[]);
    let tracking = collector.url(&format!("/t/{reference}"));
    let driver = chromedriver();
    runtime().block_on(async {
        let client = browser(&driver).await;
        // The visitor, before anyone has worked the case: in Welsh, the language they used.
        client.goto(&tracking).await.unwrap();
        assert_eq!(
            text_of(&client, "#state").await,
            "Rydym wedi derbyn eich adborth a byddwn yn edrych arno cyn bo hir."
        );
        let page = client.source().await.unwrap();
        for private in ["Ann Jones", "07700", "Aros am awr"] {
            assert!(!page.contains(private), "the tracking page shows {private}");
        }
        // A viewer has no way to the cases or to contact details.
        sign_in(&client, &collector, VIEWER.0, VIEWER.1).await;
        wait_for_path(&client, "/results").await;
        client.goto(&collector.url("/cases")).await.unwrap();
        assert_eq!(text_of(&client, "h1").await, "Not allowed");
        let viewer = session_cookie(&client).await;
        let (status, _) = http(
            &collector.addr,
            "GET",
            "/cases/1",
            &[("Cookie", &viewer)],
            b"",
        );
        assert_eq!(status, 403);
        client.delete_all_cookies().await.unwrap();

        sign_in(&client, &collector, HANDLER.0, HANDLER.1).await;
        wait_for_path(&client, "/results").await;
        client.goto(&collector.url("/cases")).await.unwrap();
        assert!(text_of(&client, "#cases tbody").await.contains(&reference));
        click(&client, "#cases tbody a").await;
        wait_for_text(&client, "#case-state", "new").await;
        click(&client, "#show-contact").await;
        wait_for_text(&client, "#contact-details", "07700 900123").await;
        click(&client, "#move-acknowledge").await;
        wait_for_text(&client, "#case-state", "acknowledged").await;
        client
            .find(Locator::Css("#assign-team"))
            .await
            .unwrap()
            .clear()
            .await
            .unwrap();
        type_into(&client, "#assign-team", "housing").await;
        click(&client, "#assign").await;
        wait_for_text(&client, "#case-team", "housing").await;
        type_into(&client, "#note-text", "Byddwn yn eich ffonio ddydd Llun.").await;
        click(&client, "#note-public option[value=yes]").await;
        click(&client, "#add-note").await;
        wait_for_text(&client, "#audit", "public note").await;
        type_into(&client, "#note-text", "Rheolwr i ffwrdd.").await;
        click(&client, "#add-note").await;
        wait_for_text(&client, "#audit", "internal note").await;

        // The visitor sees the new state and the public note, in Welsh and in English.
        client.goto(&tracking).await.unwrap();
        assert_eq!(
            text_of(&client, "#state").await,
            "Mae rhywun wedi darllen eich adborth a bydd yn delio ag ef."
        );
        let updates = text_of(&client, "#updates").await;
        assert!(
            updates.contains("Byddwn yn eich ffonio ddydd Llun."),
            "{updates}"
        );
        assert!(
            !updates.contains("Rheolwr"),
            "an internal note reached the visitor"
        );
        click(&client, "a[lang=en]").await;
        wait_for_text(&client, "#state", "Someone has read your feedback").await;

        client.goto(&collector.url("/cases/1")).await.unwrap();
        click(&client, "#move-resolve").await;
        wait_for_text(&client, "#case-state", "resolved").await;
        type_into(&client, "#root-cause", "Short of staff").await;
        click(&client, "#move-close").await;
        wait_for_text(&client, "#case-state", "closed").await;
        let audit = text_of(&client, "#audit").await;
        for step in [
            "opened",
            "viewed contact details",
            "acknowledge",
            "assign team",
            "public note",
            "internal note",
            "resolve",
            "close",
        ] {
            assert!(audit.contains(step), "the history lacks {step}: {audit}");
        }
        assert!(audit.contains(HANDLER.0), "{audit}");
        // A subject access request gets everything held; then the visitor asks to be
        // forgotten: their details go, their rating stays, and the history says so.
        let handler = session_cookie(&client).await;
        let (status, sar) = http(
            &collector.addr,
            "GET",
            "/cases/1/subject-access",
            &[("Cookie", &handler)],
            b"",
        );
        assert_eq!(status, 200);
        assert!(
            sar.contains("Ann Jones, 07700 900123") && sar.contains("Aros am awr"),
            "{sar}"
        );
        type_into(&client, "#erase-why", "by phone").await;
        click(&client, "#erase").await;
        wait_for_text(&client, "#audit", "erased personal data").await;
        click(&client, "#show-contact").await;
        wait_for_text(&client, "main", "None were given.").await;
        let (_, sar) = http(
            &collector.addr,
            "GET",
            "/cases/1/subject-access",
            &[("Cookie", &handler)],
            b"",
        );
        assert!(
            !sar.contains("Ann Jones") && !sar.contains("Aros am awr"),
            "{sar}"
        );
        assert!(
            sar.contains("1 (smiley5)"),
            "the anonymous rating stays: {sar}"
        );

        client.goto(&format!("{tracking}?lang=cy")).await.unwrap();
        assert_eq!(text_of(&client, "#state").await, "Mae hyn wedi'i gwblhau.");
        assert!(client.find(Locator::Css("#reply-due")).await.is_err());

        // A mistyped reference is caught by its check symbol.
        let mut typo = reference.clone().into_bytes();
        typo[0] = if typo[0] == b'A' { b'B' } else { b'A' };
        client
            .goto(&collector.url(&format!("/t/{}", String::from_utf8(typo).unwrap())))
            .await
            .unwrap();
        assert!(text_of(&client, "#message").await.contains("typo"));
        client.close().await.unwrap();
    });
}
