//! Shared by the upload tests: a real `earshot-collector` process on 127.0.0.1, a kiosk
//! configuration pointing at it, and a small faulty proxy that stands between them and
//! delays, refuses, cuts or resets requests as a bad network or a struggling server would.
//! The proxy can also stand alone, answering as a server that is not a collector would.
#![allow(dead_code)]

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub fn earshot_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_earshot"))
}

/// The collector binary sits beside the kiosk's; a plain `cargo test` may not have built it.
pub fn collector_bin() -> PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    let path = earshot_bin().with_file_name("earshot-collector");
    BUILT.call_once(|| {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "earshot-collector"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "earshot-collector builds");
    });
    assert!(path.exists(), "{} exists", path.display());
    path
}

pub struct Collector {
    pub db: PathBuf,
    pub addr: SocketAddr,
    child: Child,
    pub log: PathBuf,
    extra: Vec<String>,
}

impl Collector {
    pub fn start(dir: &Path, extra: &[&str]) -> Collector {
        Self::start_on(dir, "127.0.0.1:0", extra)
    }

    pub fn start_on(dir: &Path, listen: &str, extra: &[&str]) -> Collector {
        let db = dir.join("collector.db");
        let log = dir.join("collector.log");
        let mut child = Command::new(collector_bin())
            .arg("--db")
            .arg(&db)
            .args(["serve", "--listen", listen])
            .args(extra)
            .env("EARSHOT_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("the collector starts");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let addr = first
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| {
                panic!(
                    "collector said {first:?}; log: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            })
            .parse()
            .unwrap();
        Collector {
            db,
            addr,
            child,
            log,
            extra: extra.iter().map(|s| s.to_string()).collect(),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts again on the same port with the same database.
    pub fn restart(&mut self) {
        self.stop();
        let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        let dir = self.db.parent().unwrap().to_path_buf();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // The port may linger for a moment after the old process died.
            if std::net::TcpListener::bind(self.addr).is_ok() || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        *self = Collector::start_on(&dir, &self.addr.to_string(), &extra);
    }

    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(collector_bin())
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .output()
            .unwrap()
    }

    pub fn enroll_code(&self, site: &str) -> String {
        let out = self.cli(&["enroll-code", "--site", site]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_string()
    }

    /// Every response id in the collector's export, with repeats if any were stored twice.
    pub fn exported_ids(&self) -> Vec<String> {
        let out_file = self.db.with_extension("export.jsonl");
        let out = self.cli(&[
            "export",
            "--format",
            "jsonl",
            "--out",
            out_file.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read_to_string(&out_file)
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["record"]["id"].as_str().unwrap().to_string()
            })
            .collect()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A kiosk's state folder and configuration.
pub struct Kiosk {
    pub dir: PathBuf,
    pub config: PathBuf,
}

impl Kiosk {
    pub fn new(dir: &Path, server: &str, upload_extra: &str) -> Kiosk {
        let dir = dir.join("kiosk");
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("earshot.toml");
        std::fs::write(
            &config,
            format!(
                "# A test kiosk.\n[device]\nid = \"test-kiosk\"\nsite = \"test-site\"\n\n[storage]\npath = \"{}\"\n\n[upload]\nserver = \"{server}\"\nconnect_timeout_s = 2\nrequest_timeout_s = 2\nheartbeat_s = 5\ndebounce_s = 0\n{upload_extra}\n",
                dir.join("responses.db").display()
            ),
        )
        .unwrap();
        Kiosk { dir, config }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(earshot_bin());
        c.arg("--config")
            .arg(&self.config)
            .args(args)
            .env("STATE_DIRECTORY", &self.dir)
            .env("EARSHOT_LOG", "info");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    pub fn provision(&self, collector: &Collector, server: &str) {
        let code = collector.enroll_code("test-site");
        let out = self.run(&["provision", "--server", server, "--code", &code]);
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Makes `visits` responses through the real visit logic and queue; returns the ids the
    /// kiosk reported as committed.
    pub fn simulate(&self, visits: u32, seed: u64) -> Vec<String> {
        let out = self.run(&[
            "simulate",
            "--visits",
            &visits.to_string(),
            "--seed",
            &seed.to_string(),
            "--print-committed",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix("committed "))
            .map(str::to_string)
            .collect()
    }

    /// Starts `earshot upload` (the kiosk's upload loop, without a screen).
    pub fn start_uploader(&self) -> Child {
        self.command(&["upload"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.join("upload.log")).unwrap())
            .spawn()
            .unwrap()
    }

    pub fn upload_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("upload.log")).unwrap_or_default()
    }

    pub fn queue_stats(&self) -> serde_json::Value {
        let out = self.run(&["queue", "stats", "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Dead-lettered responses and their reasons, from the kiosk's own export.
    pub fn dead(&self) -> Vec<(String, String)> {
        let out_file = self.dir.join("dead.jsonl");
        let out = self.run(&[
            "queue",
            "export",
            "--state",
            "dead",
            "--format",
            "jsonl",
            "--out",
            out_file.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read_to_string(&out_file)
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (
                    v["record"]["id"].as_str().unwrap_or_default().to_string(),
                    v.to_string(),
                )
            })
            .collect()
    }
}

/// Waits until `f` holds, or fails the test after `limit` with `what`.
pub fn wait_for(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Checks the rule for every delivery fault: each response the kiosk committed is at the
/// collector exactly once, or still on the kiosk (waiting or set aside), and nothing else.
pub fn assert_exactly_once(committed: &[String], collector: &Collector) {
    let exported = collector.exported_ids();
    let unique: HashSet<&String> = exported.iter().collect();
    assert_eq!(
        unique.len(),
        exported.len(),
        "a response was stored twice at the collector"
    );
    let committed_set: HashSet<&String> = committed.iter().collect();
    for id in &exported {
        assert!(
            committed_set.contains(id),
            "collector has {id}, never committed"
        );
    }
    for id in committed {
        assert!(
            unique.contains(id),
            "response {id} did not reach the collector"
        );
    }
}

// ---- the faulty proxy ----------------------------------------------------------------------

/// What the proxy does with one request.
#[derive(Clone)]
pub enum Fault {
    /// Pass it to the collector and the reply back.
    Forward,
    /// Answer it without asking the collector.
    Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Pass it on, and hold the collector's reply back for this long.
    DelayReply(Duration),
    /// Read part of the request, then reset the connection (the collector never sees it).
    ResetMidRequest,
    /// Pass it on, send the client half of the reply, then reset.
    ResetMidReply,
    /// Pass it on and never answer the client; the reply is kept aside.
    Swallow,
    /// Pass it on, and give the client the collector's 200 with only its first result.
    TruncateResults,
    /// Answer it without asking the collector: 200 with a chunked body that never ends, as a
    /// misconfigured proxy or a streaming endpoint would. Stops when the client goes away, or
    /// after [`ENDLESS_FOR`] at the latest.
    EndlessReply,
}

/// The longest an endless reply goes on.
pub const ENDLESS_FOR: Duration = Duration::from_secs(20);

#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub path: String,
    pub idempotency_key: Option<String>,
}

pub struct Proxy {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    /// Collector replies the proxy swallowed.
    pub swallowed: Arc<Mutex<usize>>,
    /// Bytes of endless replies sent so far.
    pub streamed: Arc<AtomicU64>,
    _runtime: tokio::runtime::Runtime,
}

type Script = Arc<dyn Fn(usize, &str) -> Fault + Send + Sync>;

impl Proxy {
    /// `script(n, path)` chooses the fault for the n-th request (0-based) to `path`; each
    /// path is counted on its own.
    pub fn start(
        upstream: SocketAddr,
        script: impl Fn(usize, &str) -> Fault + Send + Sync + 'static,
    ) -> Proxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let swallowed = Arc::new(Mutex::new(0));
        let streamed = Arc::new(AtomicU64::new(0));
        let script: Script = Arc::new(script);
        let counter = Arc::new(Mutex::new(std::collections::HashMap::<String, usize>::new()));
        let (s2, w2, st2) = (seen.clone(), swallowed.clone(), streamed.clone());
        runtime.spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let (script, seen, swallowed, streamed, counter) = (
                    script.clone(),
                    s2.clone(),
                    w2.clone(),
                    st2.clone(),
                    counter.clone(),
                );
                tokio::spawn(async move {
                    let counts = Counts {
                        seen,
                        swallowed,
                        streamed,
                        per_path: counter,
                    };
                    let _ = serve(client, upstream, script, counts).await;
                });
            }
        });
        Proxy {
            addr,
            seen,
            swallowed,
            streamed,
            _runtime: runtime,
        }
    }

    /// A server with no collector behind it, for scripts that only answer by themselves
    /// ([`Fault::Reply`], [`Fault::EndlessReply`]). Forwarding from one fails: nothing
    /// listens upstream.
    pub fn standalone(script: impl Fn(usize, &str) -> Fault + Send + Sync + 'static) -> Proxy {
        let nobody = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let upstream = nobody.local_addr().unwrap();
        drop(nobody);
        Proxy::start(upstream, script)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn batches_seen(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path == "/v1/batches")
            .cloned()
            .collect()
    }
}

struct Request {
    head: String,
    body: Vec<u8>,
}

async fn read_request(client: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(Some(Request { head, body }))
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

/// Sends the request to the collector on a fresh connection and reads the whole reply.
async fn forward(upstream: SocketAddr, req: &Request) -> std::io::Result<Vec<u8>> {
    let mut up = TcpStream::connect(upstream).await?;
    // One request per connection: the reply then ends when the collector closes.
    let head: String = req
        .head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect::<Vec<_>>()
        .join("\r\n");
    let head = head.trim_end_matches("\r\n").to_string() + "\r\nConnection: close\r\n\r\n";
    up.write_all(head.as_bytes()).await?;
    up.write_all(&req.body).await?;
    let mut reply = Vec::new();
    up.read_to_end(&mut reply).await?;
    Ok(reply)
}

fn reset(stream: TcpStream) {
    // Linger zero: closing sends RST instead of FIN, as a crashed middlebox would.
    let std_stream = stream.into_std().unwrap();
    let sock = socket2::SockRef::from(&std_stream);
    let _ = sock.set_linger(Some(Duration::ZERO));
    drop(std_stream);
}

fn http_reply(status: u16, headers: &[(String, String)], body: &str) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} Fault\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}

/// What the proxy keeps count of, shared by its connections.
struct Counts {
    seen: Arc<Mutex<Vec<Seen>>>,
    swallowed: Arc<Mutex<usize>>,
    streamed: Arc<AtomicU64>,
    per_path: Arc<Mutex<std::collections::HashMap<String, usize>>>,
}

/// 200 and chunks of a results list, one after another, until the client stops reading.
async fn stream_endlessly(client: &mut TcpStream, streamed: &AtomicU64) -> std::io::Result<()> {
    client
        .write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .await?;
    let item = br#"{"id":null,"index":0,"status":"accepted"},"#;
    let data = item.repeat(64 * 1024 / item.len());
    let mut chunk = format!("{:x}\r\n", data.len()).into_bytes();
    chunk.extend_from_slice(&data);
    chunk.extend_from_slice(b"\r\n");
    let deadline = Instant::now() + ENDLESS_FOR;
    while Instant::now() < deadline {
        client.write_all(&chunk).await?;
        streamed.fetch_add(data.len() as u64, Ordering::Relaxed);
    }
    Ok(())
}

async fn serve(
    mut client: TcpStream,
    upstream: SocketAddr,
    script: Script,
    counts: Counts,
) -> std::io::Result<()> {
    let Counts {
        seen,
        swallowed,
        streamed,
        per_path: counter,
    } = counts;
    let Some(req) = read_request(&mut client).await? else {
        return Ok(());
    };
    let path = req.head.split_whitespace().nth(1).unwrap_or("").to_string();
    let n = {
        let mut counts = counter.lock().unwrap();
        let c = counts.entry(path.clone()).or_default();
        let n = *c;
        *c += 1;
        n
    };
    seen.lock().unwrap().push(Seen {
        at: Instant::now(),
        path: path.clone(),
        idempotency_key: header(&req.head, "idempotency-key").map(str::to_string),
    });
    match script(n, &path) {
        Fault::Forward => {
            let reply = forward(upstream, &req).await?;
            client.write_all(&reply).await?;
        }
        Fault::Reply {
            status,
            headers,
            body,
        } => {
            client
                .write_all(&http_reply(status, &headers, &body))
                .await?;
        }
        Fault::DelayReply(d) => {
            let reply = forward(upstream, &req).await?;
            tokio::time::sleep(d).await;
            let _ = client.write_all(&reply).await;
        }
        Fault::ResetMidRequest => {
            reset(client);
            return Ok(());
        }
        Fault::EndlessReply => {
            // Ends with an error once the client has gone: that is the expected end.
            let _ = stream_endlessly(&mut client, &streamed).await;
            return Ok(());
        }
        Fault::ResetMidReply => {
            let reply = forward(upstream, &req).await?;
            client.write_all(&reply[..reply.len() / 2]).await?;
            client.flush().await?;
            reset(client);
            return Ok(());
        }
        Fault::Swallow => {
            let _reply = forward(upstream, &req).await?;
            *swallowed.lock().unwrap() += 1;
            // Hold the connection open without answering until the client gives up.
            let mut sink = [0u8; 64];
            let _ = tokio::time::timeout(Duration::from_secs(60), client.read(&mut sink)).await;
            return Ok(());
        }
        Fault::TruncateResults => {
            let reply = forward(upstream, &req).await?;
            let text = String::from_utf8_lossy(&reply).into_owned();
            let (_, body) = text.split_once("\r\n\r\n").unwrap_or(("", ""));
            let mut v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
            if let Some(results) = v.get_mut("results").and_then(|r| r.as_array_mut()) {
                results.truncate(1);
            }
            let body = v.to_string();
            client
                .write_all(&http_reply(
                    200,
                    &[("Content-Type".into(), "application/json".into())],
                    &body,
                ))
                .await?;
        }
    }
    client.shutdown().await
}
