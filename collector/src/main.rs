//! The `earshot-collector` command: serve, enrolment codes, devices, revocation, export.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::{Parser, Subcommand};
use earshot_collector::accounts::{Email, NewPassword, Role};
use earshot_collector::export::{self, Format};
use earshot_collector::http::{app, AppState, Limits, WebSettings};
use earshot_collector::ingest::KnownSurveys;
use earshot_collector::serve::{connection_limit, serve, ServeSettings};
use earshot_collector::store::Site;
use earshot_collector::store::{SqliteStore, Store};
use earshot_protocol::text::visible;
use earshot_protocol::time::parse_rfc3339;
use earshot_protocol::SiteId;

#[derive(Parser)]
#[command(
    name = "earshot-collector",
    version,
    about = "Receives responses from Earshot kiosks"
)]
struct Cli {
    /// The collector's database (one SQLite file).
    #[arg(
        long,
        global = true,
        env = "EARSHOT_COLLECTOR_DB",
        default_value = "collector.db"
    )]
    db: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Take uploads from kiosks. Prints the address it listens on as its first line.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// A folder of survey files: responses to surveys not in it are rejected. Without
        /// it, every survey is accepted.
        #[arg(long)]
        surveys: Option<PathBuf>,
        /// Largest request body as sent, in KiB.
        #[arg(long, default_value_t = earshot_protocol::DEFAULT_MAX_BODY_BYTES / 1024)]
        max_body_kb: usize,
        /// Largest request body once decompressed, in KiB.
        #[arg(long, default_value_t = earshot_protocol::DEFAULT_MAX_DECOMPRESSED_BYTES / 1024)]
        max_decompressed_kb: usize,
        /// Seconds a client may take to send a request's headers; also how long an idle
        /// keep-alive connection is kept.
        #[arg(long, default_value_t = 10)]
        header_timeout_s: u64,
        /// Seconds a client may take to send a request's body.
        #[arg(long, default_value_t = 60)]
        body_timeout_s: u64,
        /// Connections open at once; lowered to fit the open-files limit.
        #[arg(long, default_value_t = 4096)]
        max_connections: usize,
        /// Request bodies read at once, all clients together.
        #[arg(long, default_value_t = 16)]
        max_concurrent_bodies: usize,
        /// Enrolment attempts allowed per client address and minute.
        #[arg(long, default_value_t = 10)]
        enrolments_per_minute: u32,
        /// The workspace is reached over HTTPS (through a proxy): its cookies are marked
        /// Secure.
        #[arg(long)]
        secure_cookies: bool,
        /// The https address visitors reach this collector at (through its proxy), e.g.
        /// https://feedback.example.org: kiosks enrolled from now on show a QR code of their
        /// visitors' tracking pages under it. Without it, they show none.
        #[arg(long, value_parser = parse_public_url)]
        public_url: Option<String>,
        /// A device not heard from for this long is marked on the fleet page, e.g. 24h.
        #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
        stale_after: Duration,
    },
    /// Erase a visitor's contact details and free text, on their request, by the reference
    /// on their thanks screen. Their anonymous ratings stay; the erasure is audited.
    Erase {
        #[arg(long)]
        reference: String,
        /// Who asked, for the audit log, e.g. "visitor by e-mail".
        #[arg(long, default_value = "the visitor asked")]
        why: String,
    },
    /// Everything held about a visitor's feedback, by reference, as a readable file (a
    /// subject access request).
    SubjectAccess {
        #[arg(long)]
        reference: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Erase now what the sites' retention rules say is due (`serve` does this hourly).
    Retention,
    /// The rule for cases at a site, or for one service (or touchpoint) there: which
    /// responses become cases, the owning team and the targets in working days. A service's
    /// rule applies to its responses in place of the site's. A site's rule also says how long
    /// personal data is kept, for all its services.
    CaseRule {
        #[arg(long, value_parser = parse_site)]
        site: SiteId,
        /// The service or touchpoint, as its option id in the survey (e.g. parking): the rule
        /// is for its responses at the site.
        #[arg(long, value_parser = parse_service)]
        service: Option<String>,
        /// Remove the service's rule: the site's applies to its responses again.
        #[arg(long, requires = "service", conflicts_with_all = [
            "unhappy_with_comment", "unhappy", "unhappy_faces", "unhappy_nps", "team",
            "acknowledge_days", "reply_days", "contact_retention_days", "text_retention_days"
        ])]
        remove: bool,
        /// Unhappy ratings with a comment become cases too (contact requests always do).
        #[arg(long, conflicts_with = "unhappy")]
        unhappy_with_comment: bool,
        /// Unhappy ratings become cases too, with a comment or without.
        #[arg(long)]
        unhappy: bool,
        /// Faces or stars up to this value count as unhappy: 1 to 3 (2: the two lowest).
        #[arg(long, default_value_t = 2)]
        unhappy_faces: u8,
        /// NPS up to this value counts as unhappy: 0 to 8 (6: the detractors, 0–6).
        #[arg(long, default_value_t = 6)]
        unhappy_nps: u8,
        #[arg(long, default_value = earshot_collector::cases::DEFAULT_TEAM)]
        team: String,
        #[arg(long, default_value_t = 5)]
        acknowledge_days: u32,
        #[arg(long, default_value_t = 20)]
        reply_days: u32,
        /// Contact details are erased this many days after their case closes (default 90).
        /// The site's, for all its services: not with --service.
        #[arg(long)]
        contact_retention_days: Option<u32>,
        /// Free text is erased this many days after the visit (kept without it). The site's,
        /// for all its services: not with --service.
        #[arg(long)]
        text_retention_days: Option<u32>,
    },
    /// List the case rules: each site's, then the rules for its services.
    CaseRules,
    /// A day the site is closed: due dates skip it, like weekends.
    Holiday {
        #[arg(long, value_parser = parse_site)]
        site: SiteId,
        /// The date, e.g. 2026-12-25.
        #[arg(long)]
        day: String,
    },
    /// People who use the workspace.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Sites: their names, time zones and areas.
    Site {
        #[command(subcommand)]
        action: SiteAction,
    },
    /// Make a one-time code that enrols one device for a site. Prints the code alone on the
    /// first line, then a QR code of it.
    EnrollCode {
        /// The site's id: letters, digits, '-', '_' and '.', e.g. central-library.
        #[arg(long, value_parser = parse_site)]
        site: SiteId,
        /// How long the code stays valid, e.g. 24h, 30m, 7days.
        #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
        expires: Duration,
    },
    /// List enrolled devices and how they last reported.
    Devices,
    /// Stop a device's token from working (its uploads get 403 until it is provisioned again).
    Revoke { device_id: String },
    /// Print the deployment's receipt secret (hex): key your till data's transactions with
    /// HMAC-SHA256 under it to join them with responses (see docs/receipts.md). Keep it as
    /// safe as the till data itself.
    ReceiptSecret,
    /// Write the stored responses to a file.
    Export {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
        /// Only responses that started on or after this date or time (e.g. 2026-11-01 or
        /// 2026-11-01T09:00:00Z).
        #[arg(long)]
        since: Option<String>,
    },
}

/// SIGTERM (how systemd stops a service) or SIGINT (Ctrl-C).
async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[derive(Subcommand)]
enum UserAction {
    /// Add a user; the password is read from standard input (one line).
    Add {
        #[arg(long)]
        email: String,
        /// admin, case-handler or viewer.
        #[arg(long)]
        role: String,
    },
    /// List the users and their roles.
    List,
}

#[derive(Subcommand)]
enum SiteAction {
    /// Set a site's name, time zone and place in organisation → area → site.
    Set {
        #[arg(long, value_parser = parse_site)]
        id: SiteId,
        #[arg(long)]
        name: String,
        /// An IANA time zone, e.g. Europe/London.
        #[arg(long, default_value = "UTC")]
        time_zone: String,
        #[arg(long, default_value = "")]
        area: String,
        #[arg(long, default_value = "")]
        organisation: String,
    },
    /// List the sites.
    List,
}

/// The longest public address taken. Visitors scan the tracking page's address from a QR code on
/// the kiosk's thanks screen, and past about a hundred characters that code grows too dense
/// to scan from arm's length.
const MAX_PUBLIC_URL_CHARS: usize = 100;

/// An https address with a host and nothing after its path, e.g. https://feedback.example.org.
fn parse_public_url(text: &str) -> Result<String, String> {
    let text = text.trim().trim_end_matches('/');
    let rest = text.strip_prefix("https://").ok_or_else(|| {
        format!("--public-url {text:?} must start with https:// (visitors' phones open it)")
    })?;
    if rest.is_empty()
        || rest.contains(['?', '#', ' ', '{', '}'])
        || rest.chars().any(char::is_control)
    {
        return Err(format!(
            "--public-url {:?} is not an address such as https://feedback.example.org",
            visible(text)
        ));
    }
    if text.chars().count() > MAX_PUBLIC_URL_CHARS {
        return Err(format!(
            "--public-url is {} characters long; give one of at most {MAX_PUBLIC_URL_CHARS} \
             (visitors scan it from a QR code on the kiosk, which a long address makes too \
             dense to read), such as https://feedback.example.org",
            text.chars().count()
        ));
    }
    Ok(text.to_string())
}

/// A service or touchpoint as a survey names its options: 1 to 64 letters, digits, '-' and
/// '_'.
fn parse_service(text: &str) -> Result<String, String> {
    let text = text.trim();
    let fits = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if text.is_empty() || text.chars().count() > 64 || !text.chars().all(fits) {
        return Err(format!(
            "{:?} is not a service's id: give the id of its option in the survey, 1 to 64 \
             letters, digits, '-' and '_', e.g. council-tax",
            visible(text)
        ));
    }
    Ok(text.to_string())
}

fn parse_site(text: &str) -> Result<SiteId, String> {
    SiteId::parse(text.trim()).map_err(|e| e.to_string())
}

/// Why a command stopped.
enum Failure {
    /// A problem to tell the person running the command.
    Message(String),
    /// Writing the command's output failed.
    Output(std::io::Error),
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Message(message)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        Failure::Output(e)
    }
}

fn main() -> ExitCode {
    // The journal under systemd, else plain text (colour on a terminal): earshot-logging.
    let log = earshot_logging::init("earshot-collector");
    // On the journal's stream, a failure has the error priority (`journalctl -p err`).
    let priority = if log == earshot_logging::Destination::Journal {
        "<3>"
    } else {
        ""
    };
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = run(cli, &mut out).and_then(|()| out.flush().map_err(Failure::Output));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`enroll-code | head -1`): what it wanted, it has.
        Err(Failure::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(Failure::Output(e)) => {
            eprintln!("{priority}earshot-collector: cannot write the output: {e}");
            ExitCode::FAILURE
        }
        Err(Failure::Message(message)) => {
            eprintln!("{priority}earshot-collector: {message}");
            ExitCode::FAILURE
        }
    }
}

fn open(db: &std::path::Path) -> Result<Arc<SqliteStore>, String> {
    SqliteStore::open(db)
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

fn parse_since(text: &str) -> Result<SystemTime, String> {
    parse_rfc3339(text)
        .or_else(|_| parse_rfc3339(&format!("{text}T00:00:00Z")))
        .map_err(|_| {
            format!(
                "--since {text:?}: give a date like 2026-11-01 or a time like 2026-11-01T09:00:00Z"
            )
        })
}

fn run(cli: Cli, out: &mut dyn Write) -> Result<(), Failure> {
    match cli.command {
        Command::Serve {
            listen,
            surveys,
            max_body_kb,
            max_decompressed_kb,
            header_timeout_s,
            body_timeout_s,
            max_connections,
            max_concurrent_bodies,
            enrolments_per_minute,
            secure_cookies,
            public_url,
            stale_after,
        } => {
            let store = open(&cli.db)?;
            let catalog = match surveys {
                Some(dir) => Some(earshot_collector::surveys::load(&dir)?),
                None => None,
            };
            let known = catalog
                .as_ref()
                .map(|c| c.known())
                .unwrap_or_else(KnownSurveys::default);
            let labels = earshot_collector::labels::Labels::from_surveys(
                catalog.iter().flat_map(|c| c.surveys()),
            );
            let limits = Limits {
                max_body_bytes: max_body_kb.max(1) * 1024,
                max_decompressed_bytes: max_decompressed_kb.max(1) * 1024,
                body_timeout: Duration::from_secs(body_timeout_s.max(1)),
                max_concurrent_bodies: max_concurrent_bodies.max(1),
                requests_per_device: Limits::default().requests_per_device,
                enrolments_per_minute: enrolments_per_minute.max(1),
            };
            let settings = ServeSettings {
                header_timeout: Duration::from_secs(header_timeout_s.max(1)),
                max_connections: connection_limit(max_connections.max(1)),
            };
            let runtime = tokio::runtime::Runtime::new()
                .map_err(|e| format!("cannot start the async runtime: {e}"))?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
                let local = listener.local_addr().map_err(|e| e.to_string())?;
                writeln!(out, "listening on http://{local}")?;
                out.flush()?;
                tracing::info!(%local, db = %cli.db.display(), surveys = known.0.len(),
                    max_connections = settings.max_connections, "collector ready");
                let web = WebSettings {
                    secure_cookies,
                    labels: Arc::new(labels),
                    stale_after,
                    public_url,
                };
                let retained = store.clone();
                // The sites' retention rules, applied while the collector runs.
                tokio::spawn(async move {
                    let mut every =
                        tokio::time::interval(earshot_collector::store::RETENTION_EVERY);
                    loop {
                        every.tick().await;
                        let store = retained.clone();
                        let done = tokio::task::spawn_blocking(move || {
                            use earshot_collector::store::PersonalData;
                            store.apply_retention(SystemTime::now())
                        })
                        .await;
                        match done {
                            Ok(Ok(e)) if e.responses > 0 => tracing::info!(
                                contacts = e.contacts,
                                texts = e.texts,
                                "personal data erased on the sites' schedules"
                            ),
                            Ok(Ok(_)) => {}
                            Ok(Err(e)) => tracing::error!(error = %e, "retention could not run"),
                            Err(e) => tracing::error!(error = %e, "retention could not run"),
                        }
                    }
                });
                let service = app(AppState::with_web(store, known, limits, web));
                serve(listener, service, settings, stop_signal()).await;
                tracing::info!("collector stopped");
                Ok(())
            })
        }
        Command::EnrollCode { site, expires } => {
            let store = open(&cli.db)?;
            let code = store
                .create_enrollment_code(&site, SystemTime::now() + expires)
                .map_err(|e| e.to_string())?;
            writeln!(out, "{code}")?;
            writeln!(
                out,
                "One device at site {site:?} can use this code within {} to enrol:",
                humantime::format_duration(expires)
            )?;
            writeln!(out, "  earshot provision --server URL --code {code}")?;
            write!(out, "{}", terminal_qr(&code))?;
            Ok(())
        }
        Command::Devices => {
            let store = open(&cli.db)?;
            let devices = store.devices().map_err(|e| e.to_string())?;
            if devices.is_empty() {
                writeln!(out, "no devices enrolled yet (make a code with `earshot-collector enroll-code --site SITE`)")?;
            }
            // Everything here came from kiosks (or from databases older than the id rules):
            // shown with control characters made visible, so no status text can recolour,
            // clear or rewrite the operator's terminal.
            for d in devices {
                let state = if d.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                let queue = d
                    .last_status
                    .as_ref()
                    .map(|s| {
                        format!(
                            "queue {} dead {} alarms [{}]",
                            s.queue_depth,
                            s.dead_letters,
                            s.alarms.join(", ")
                        )
                    })
                    .unwrap_or_else(|| "no status yet".into());
                writeln!(
                    out,
                    "{}\t{}\t{state}\tlast seen {}\t{} responses\t{}",
                    visible(&d.site),
                    visible(&d.id),
                    visible(d.last_seen_at.as_deref().unwrap_or("never")),
                    d.responses,
                    visible(&queue),
                )?;
            }
            Ok(())
        }
        Command::Erase { reference, why } => {
            use earshot_collector::store::PersonalData;
            let reference = earshot_protocol::reference::parse(&reference).ok_or_else(|| {
                format!(
                    "{:?} is not a reference such as K7QM-4XP (check it for typos)",
                    visible(&reference)
                )
            })?;
            let store = open(&cli.db)?;
            match store
                .erase_reference(&reference, "earshot-collector erase", &why, SystemTime::now())
                .map_err(|e| e.to_string())?
            {
                Some(e) => writeln!(
                    out,
                    "erased {} comment(s) and {} contact request(s) of reference {reference}; its ratings stay",
                    e.texts, e.contacts
                )?,
                None => return Err(format!("no feedback has the reference {reference}").into()),
            }
            Ok(())
        }
        Command::SubjectAccess {
            reference,
            out: path,
        } => {
            use earshot_collector::store::PersonalData;
            let reference = earshot_protocol::reference::parse(&reference).ok_or_else(|| {
                format!(
                    "{:?} is not a reference such as K7QM-4XP (check it for typos)",
                    visible(&reference)
                )
            })?;
            let store = open(&cli.db)?;
            let text = store
                .subject_access(
                    &reference,
                    "earshot-collector subject-access",
                    SystemTime::now(),
                )
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no feedback has the reference {reference}"))?;
            let mut file = export::AtomicFile::create(&path)?;
            file.write_all(text.as_bytes())?;
            file.commit()?;
            writeln!(
                out,
                "wrote what is held about {reference} to {}",
                path.display()
            )?;
            Ok(())
        }
        Command::CaseRule {
            site,
            service,
            remove,
            unhappy_with_comment,
            unhappy,
            unhappy_faces,
            unhappy_nps,
            team,
            acknowledge_days,
            reply_days,
            contact_retention_days,
            text_retention_days,
        } => {
            use earshot_collector::cases::{CaseRule, LowRating, Retention};
            use earshot_collector::store::{Cases, PersonalData};
            if remove {
                let service = service.unwrap_or_default();
                let store = open(&cli.db)?;
                let removed = store
                    .remove_service_rule(site.as_str(), &service)
                    .map_err(|e| e.to_string())?;
                if !removed {
                    return Err(format!(
                        "there is no case rule for service {service} at site {site}; \
                         `earshot-collector case-rules` lists them"
                    )
                    .into());
                }
                writeln!(
                    out,
                    "case rule for service {service} at site {site} removed: the site's rule applies to it again"
                )?;
                return Ok(());
            }
            let team = team.trim();
            if team.is_empty() || team.chars().any(char::is_control) || team.chars().count() > 64 {
                return Err(
                    "--team must name the team in 1 to 64 characters, e.g. housing"
                        .to_string()
                        .into(),
                );
            }
            if !(1..=365).contains(&acknowledge_days) || !(1..=365).contains(&reply_days) {
                return Err(
                    "--acknowledge-days and --reply-days must be 1 to 365 working days"
                        .to_string()
                        .into(),
                );
            }
            if !LowRating::FACES.contains(&unhappy_faces) {
                return Err(format!(
                    "--unhappy-faces must be {} to {}: how many of the lowest faces or stars count as unhappy",
                    LowRating::FACES.start(),
                    LowRating::FACES.end()
                )
                .into());
            }
            if !LowRating::NPS.contains(&unhappy_nps) {
                return Err(format!(
                    "--unhappy-nps must be {} to {}: NPS up to it counts as unhappy",
                    LowRating::NPS.start(),
                    LowRating::NPS.end()
                )
                .into());
            }
            if service.is_some()
                && (contact_retention_days.is_some() || text_retention_days.is_some())
            {
                return Err(
                    "--contact-retention-days and --text-retention-days are the site's, for all \
                     its services: give them without --service"
                        .to_string()
                        .into(),
                );
            }
            let rule = CaseRule {
                unhappy: unhappy || unhappy_with_comment,
                comment_required: !unhappy,
                low: LowRating {
                    faces: unhappy_faces,
                    nps: unhappy_nps,
                },
                team: team.to_string(),
                acknowledge_days,
                reply_days,
            };
            let store = open(&cli.db)?;
            store
                .set_case_rule(site.as_str(), service.as_deref(), &rule)
                .map_err(|e| e.to_string())?;
            match &service {
                Some(service) => {
                    writeln!(out, "case rule for service {service} at site {site} set")?
                }
                None => {
                    let defaults = Retention::default();
                    store
                        .set_retention(
                            site.as_str(),
                            &Retention {
                                contact_days: contact_retention_days
                                    .unwrap_or(defaults.contact_days),
                                text_days: text_retention_days,
                            },
                        )
                        .map_err(|e| e.to_string())?;
                    writeln!(out, "case rule for site {site} set")?
                }
            }
            Ok(())
        }
        Command::CaseRules => {
            use earshot_collector::store::{Cases, PersonalData};
            let store = open(&cli.db)?;
            for row in store.case_rules().map_err(|e| e.to_string())? {
                let rule = &row.rule;
                let which = if !rule.unhappy {
                    "contact requests".to_string()
                } else {
                    let up_to = |from: u8, to: u8| {
                        if to > from {
                            format!("{from}–{to}")
                        } else {
                            to.to_string()
                        }
                    };
                    format!(
                        "contact requests, unhappy ratings (faces or stars {}, NPS {}){}",
                        up_to(1, rule.low.faces),
                        up_to(0, rule.low.nps),
                        if rule.comment_required {
                            " with a comment"
                        } else {
                            ""
                        }
                    )
                };
                let kept = match &row.service {
                    Some(_) => "personal data: as the site".to_string(),
                    None => {
                        let retention = store.retention(&row.site).map_err(|e| e.to_string())?;
                        format!(
                            "contact details kept {} days after the case closes, comments {}",
                            retention.contact_days,
                            match retention.text_days {
                                Some(days) => format!("{days} days"),
                                None => "kept".to_string(),
                            }
                        )
                    }
                };
                writeln!(
                    out,
                    "{}\t{}\t{which}\tteam {}\tacknowledge in {}, reply in {} working days\t{kept}",
                    visible(&row.site),
                    row.service
                        .as_deref()
                        .map(|s| format!("service {}", visible(s)))
                        .unwrap_or_else(|| "the site".to_string()),
                    visible(&rule.team),
                    rule.acknowledge_days,
                    rule.reply_days,
                )?;
            }
            Ok(())
        }
        Command::Holiday { site, day } => {
            use earshot_collector::store::Cases;
            let date: jiff::civil::Date = day
                .trim()
                .parse()
                .map_err(|_| format!("--day {:?}: give a date like 2026-12-25", visible(&day)))?;
            let store = open(&cli.db)?;
            store
                .add_holiday(site.as_str(), date)
                .map_err(|e| e.to_string())?;
            writeln!(out, "{date} is a holiday at site {site}")?;
            Ok(())
        }
        Command::Retention => {
            use earshot_collector::store::PersonalData;
            let store = open(&cli.db)?;
            let e = store
                .apply_retention(SystemTime::now())
                .map_err(|e| e.to_string())?;
            writeln!(
                out,
                "erased {} contact request(s) and {} comment(s) that were due",
                e.contacts, e.texts
            )?;
            Ok(())
        }
        Command::User { action } => {
            use earshot_collector::store::Accounts;
            let store = open(&cli.db)?;
            match action {
                UserAction::Add { email, role } => {
                    let email = Email::parse(&email)?;
                    let role = Role::parse(&role)?;
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line).map_err(|e| {
                        format!("cannot read the password from standard input: {e}")
                    })?;
                    let password = NewPassword::parse(&line)?;
                    let hash = password.hash()?;
                    if !store
                        .add_user(&email, role, &hash, SystemTime::now())
                        .map_err(|e| e.to_string())?
                    {
                        return Err(format!("there is already a user {email}").into());
                    }
                    writeln!(out, "added {email} as {role}")?;
                }
                UserAction::List => {
                    for user in store.users().map_err(|e| e.to_string())? {
                        writeln!(out, "{}\t{}", visible(&user.email), user.role)?;
                    }
                }
            }
            Ok(())
        }
        Command::Site { action } => {
            use earshot_collector::store::Results;
            let store = open(&cli.db)?;
            match action {
                SiteAction::Set {
                    id,
                    name,
                    time_zone,
                    area,
                    organisation,
                } => {
                    if jiff::tz::TimeZone::get(time_zone.trim()).is_err() {
                        return Err(format!(
                            "--time-zone {:?} is not a time zone this machine knows; use a name such as Europe/London",
                            visible(&time_zone)
                        )
                        .into());
                    }
                    store
                        .set_site(&Site {
                            id: id.to_string(),
                            name: name.trim().to_string(),
                            time_zone: time_zone.trim().to_string(),
                            area: area.trim().to_string(),
                            organisation: organisation.trim().to_string(),
                        })
                        .map_err(|e| e.to_string())?;
                    writeln!(out, "site {id} set")?;
                }
                SiteAction::List => {
                    for s in store.sites().map_err(|e| e.to_string())? {
                        writeln!(
                            out,
                            "{}\t{}\t{}\t{}\t{}",
                            visible(&s.id),
                            visible(&s.name),
                            visible(&s.time_zone),
                            visible(&s.organisation),
                            visible(&s.area)
                        )?;
                    }
                }
            }
            Ok(())
        }
        Command::ReceiptSecret => {
            let store = open(&cli.db)?;
            writeln!(
                out,
                "{}",
                store.receipt_secret().map_err(|e| e.to_string())?
            )?;
            Ok(())
        }
        Command::Revoke { device_id } => {
            let store = open(&cli.db)?;
            if store
                .revoke(&device_id, SystemTime::now())
                .map_err(|e| e.to_string())?
            {
                writeln!(
                    out,
                    "device {} revoked; its uploads are refused until it is provisioned again",
                    visible(&device_id)
                )?;
                Ok(())
            } else {
                Err(format!(
                    "no device {:?} (see `earshot-collector devices`)",
                    visible(&device_id)
                )
                .into())
            }
        }
        Command::Export {
            out: path,
            format,
            since,
        } => {
            let since = since.as_deref().map(parse_since).transpose()?;
            let store = open(&cli.db)?;
            let written = export::export(store.as_ref(), since, format, &path)?;
            writeln!(out, "wrote {written} responses to {}", path.display())?;
            Ok(())
        }
    }
}

/// A QR code drawn with Unicode half blocks, two modules per character cell, with the quiet
/// zone the standard asks for. Dark on light, as terminals usually are light text on dark,
/// the colours are inverted so phones read it.
fn terminal_qr(text: &str) -> String {
    use qrcodegen::{QrCode, QrCodeEcc};
    let Ok(qr) = QrCode::encode_text(text, QrCodeEcc::Medium) else {
        return String::new();
    };
    let quiet = 2;
    let size = qr.size();
    let dark = |x: i32, y: i32| x >= 0 && y >= 0 && x < size && y < size && qr.get_module(x, y);
    let mut out = String::new();
    let mut y = -quiet;
    while y < size + quiet {
        for x in -quiet..size + quiet {
            // Light modules are drawn lit so the code reads on a dark terminal.
            out.push(match (!dark(x, y), !dark(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push('\n');
        y += 2;
    }
    out
}
