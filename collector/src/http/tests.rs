//! The app started in-process, on 127.0.0.1, through the same server loop as `serve`.

use std::time::SystemTime;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::serve::{serve, ServeSettings};
use crate::store::SqliteStore;

struct TestApp {
    addr: std::net::SocketAddr,
    store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
}

async fn start() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("c.db")).unwrap());
    let state = AppState::new(store.clone(), KnownSurveys::default(), Limits::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(
        listener,
        app(state),
        ServeSettings::default(),
        std::future::pending(),
    ));
    TestApp {
        addr,
        store,
        _dir: dir,
    }
}

/// Sends `head` (and `body`, if the server still reads) and returns the status code.
async fn status_of(app: &TestApp, head: &str, body: &[u8]) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let _ = stream.write_all(body).await;
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply).await;
    let text = String::from_utf8_lossy(&reply).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn the_token_is_checked_before_the_body_is_even_measured() {
    let app = start().await;
    // A body declared far over the limit, without a token: the answer is about the token.
    let (status, text) = status_of(
        &app,
        "POST /v1/batches HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Idempotency-Key: 0192f0c4-7d2a-7b3e-8f00-000000000001\r\n\
         Content-Length: 999999999\r\n\r\n",
        b"",
    )
    .await;
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("\"unauthorized\""), "{text}");
}

#[tokio::test]
async fn an_uncompressed_status_is_accepted_and_a_huge_one_refused_by_its_length() {
    let app = start().await;
    let code = app
        .store
        .create_enrollment_code(
            &earshot_protocol::SiteId::parse("s").unwrap(),
            SystemTime::now() + Duration::from_secs(60),
        )
        .unwrap();
    let enrolled = app
        .store
        .enroll(
            &code,
            &earshot_protocol::DeviceId::parse("k").unwrap(),
            None,
            false,
            SystemTime::now(),
        )
        .unwrap()
        .unwrap();
    let body = serde_json::json!({"status": {
        "app_version": "0.1.0", "survey_id": "s", "survey_version": "1", "queue_depth": 0,
        "oldest_unsent_age_s": null, "dead_letters": 0, "scanner": "x", "hardware": "x",
        "uptime_s": 1, "last_error": null, "alarms": [],
        "clock": {"sent_at": "2026-11-23T12:00:00Z", "synchronized": true,
                  "run_id": uuid::Uuid::nil(), "mono_ms": 1}}})
    .to_string();
    let head = |length: usize| {
        format!(
            "POST /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
             Authorization: Bearer {}\r\nContent-Type: application/json\r\n\
             Content-Length: {length}\r\n\r\n",
            enrolled.token
        )
    };
    let (status, text) = status_of(&app, &head(body.len()), body.as_bytes()).await;
    assert_eq!(status, 200, "{text}");
    // A heartbeat has its own small limit, checked from the declared length alone.
    let (status, text) = status_of(&app, &head(1024 * 1024), b"").await;
    assert_eq!(status, 413, "{text}");
}

/// Signs in through the real form; returns the status and the reply.
async fn try_sign_in(app: &TestApp, email: &str, password: &str) -> (u16, String) {
    let (_, form) = status_of(
        app,
        "GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"",
    )
    .await;
    let csrf = form
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: earshot_sign_in="))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_string();
    let body = format!(
        "csrf={csrf}&next=%2Fresults&email={}&password={}",
        email.replace('@', "%40"),
        password.replace(' ', "+")
    );
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: earshot_sign_in={csrf}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    status_of(app, &head, body.as_bytes()).await
}

#[tokio::test]
async fn failed_sign_ins_are_slowed_per_account_even_with_the_right_password_after() {
    use crate::accounts::{Email, NewPassword, Role};
    use crate::store::Accounts;
    let app = start().await;
    let hash = NewPassword::parse("the right pass phrase")
        .unwrap()
        .hash()
        .unwrap();
    app.store
        .add_user(
            &Email::parse("a@b.example").unwrap(),
            Role::Viewer,
            &hash,
            SystemTime::now(),
        )
        .unwrap();
    assert_eq!(
        try_sign_in(&app, "a@b.example", "the right pass phrase")
            .await
            .0,
        303
    );
    for _ in 0..crate::http::session::ACCOUNT_FAILURES {
        let (status, page) = try_sign_in(&app, "a@b.example", "a wrong pass phrase").await;
        assert_eq!(status, 401, "{page}");
        assert!(page.contains("do not match"));
    }
    let (status, page) = try_sign_in(&app, "a@b.example", "the right pass phrase").await;
    assert_eq!(status, 429, "{page}");
    assert!(page.contains("Wait 15 minutes"), "{page}");
    assert!(!page.contains("earshot_session="), "no session is given");
    // An unknown account is refused in the same words as a wrong password.
    let (status, page) = try_sign_in(&app, "nobody@b.example", "whatever it is").await;
    assert_eq!(status, 401);
    assert!(page.contains("do not match"));
}

#[tokio::test]
async fn a_sign_in_form_without_its_token_is_refused() {
    let app = start().await;
    let body = "csrf=forged&email=a%40b.example&password=x";
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: earshot_sign_in=real\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    assert_eq!(status_of(&app, &head, body.as_bytes()).await.0, 403);
}

#[tokio::test]
async fn tracking_lookups_are_limited_per_address_so_references_cannot_be_enumerated() {
    let app = start().await;
    let mut statuses = Vec::new();
    for i in 0..(crate::http::tracking::LOOKUPS_PER_MINUTE + 5) {
        let reference = earshot_protocol::reference::make(u64::from(i) * 7919);
        let (status, _) = status_of(
            &app,
            &format!("GET /t/{reference} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            b"",
        )
        .await;
        statuses.push(status);
    }
    let limit = crate::http::tracking::LOOKUPS_PER_MINUTE as usize;
    assert!(statuses[..limit].iter().all(|s| *s == 404), "{statuses:?}");
    assert!(statuses[limit..].iter().all(|s| *s == 429), "{statuses:?}");
}
