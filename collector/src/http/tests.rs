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
