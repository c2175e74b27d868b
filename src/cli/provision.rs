//! `earshot provision`: enrolment with a collector by a one-time code, for facilities staff.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use earshot_protocol::text::visible;
use earshot_protocol::{DeviceId, DeviceToken, EnrollReply, EnrollRequest, SiteId};

use crate::app::uploader::runtime;
use crate::core::problem::Problem;
use crate::files::config::{Config, ServerUrl, TrackingUrl, SYSTEM_CONFIG_PATH};
use crate::upload::client::{Client, ClientSettings, SendError};
use crate::upload::token;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The collector, e.g. https://feedback.example.org
    #[arg(long)]
    pub server: String,
    /// The one-time enrolment code
    #[arg(long)]
    pub code: String,
    /// The site this device stands in; refused if the code was made for another
    #[arg(long)]
    pub site: Option<String>,
    /// Move this device to the code's site when its id is enrolled at another site
    /// (without it, the collector refuses and nothing changes)
    #[arg(long)]
    pub reassign: bool,
}

pub fn run(args: &Args, config_path: Option<&Path>) -> Result<ExitCode, Problem> {
    provision(
        config_path,
        &args.server,
        &args.code,
        args.site.as_deref(),
        args.reassign,
    )
}

/// This machine's name, a sensible device id for a first configuration.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "earshot-kiosk".into())
}

/// Enrols the device with the collector: exchanges the one-time code for a device token,
/// keeps the token in the state directory (mode 0600), and writes the server and the
/// collector's tracking page for visitors (or, when it has none, no tracking page) into the
/// config file, keeping its comments and everything else in it. The reply is judged whole before
/// anything is written: a reply that is not a well-formed enrolment of this device writes
/// neither the token, nor the receipt secret, nor the config. A device id enrolled at another
/// site moves to the code's site only with `reassign`.
fn provision(
    config_path: Option<&Path>,
    server: &str,
    code: &str,
    site: Option<&str>,
    reassign: bool,
) -> Result<ExitCode, Problem> {
    let server_url = ServerUrl::parse(server)?;
    let config_path: PathBuf = config_path
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(SYSTEM_CONFIG_PATH));
    let existing = ExistingConfig::read(&config_path)?;
    let config = &existing.config;
    let client = Client::new(&ClientSettings::new(&server_url, &config.upload))?;
    let device_id = device_id_for(&existing, &config_path)?;
    let site = site
        .map(|s| SiteId::parse(s.trim()))
        .transpose()
        .map_err(|e| format!("--site cannot be used: {e}"))?;
    let request = EnrollRequest {
        code: code.trim().to_string(),
        device_id: device_id.to_string(),
        site: site.map(|s| s.to_string()),
        reassign,
    };
    let reply = runtime()?
        .block_on(client.enroll(&request))
        .map_err(|e| match e {
            // 409 at enrolment: the device id is enrolled at another site.
            SendError::Unauthorized(m) | SendError::Refused(m) | SendError::InProgress(m) => {
                format!("enrolment refused: {m}")
            }
            other => format!(
                "cannot reach the collector at {server_url}: {}",
                other.message()
            ),
        })?;
    let reply = check_enrolment(&reply, &device_id).map_err(|problem| {
        Problem::with_fix(
            format!("{problem}; nothing was written"),
            format!(
                "check that --server {} is your Earshot collector",
                server_url.shown()
            ),
        )
    })?;
    let secret_note = keep_secrets(&reply, config)?;
    let text = enrolled_config(existing.doc, &reply, &server_url);
    // Refuse to write a file the kiosk would then not start with.
    Config::parse(&text, &config_path)?;
    crate::files::config::write(&config_path, &text)?;
    outln!(
        "enrolled device {} at site {} with {}",
        reply.device_id,
        reply.site,
        server_url.shown()
    );
    outln!(
        "device token kept in {} (readable by this user only){secret_note}",
        config.upload.token_path.display()
    );
    match &reply.tracking_url {
        Some(url) => outln!(
            "the thanks screen links visitors to the collector's tracking page {}",
            url.as_str()
        ),
        None => outln!(
            "the collector has no tracking page for visitors; the thanks screen links to the survey's [thanks] tracking_url, if it has one"
        ),
    }
    outln!("configuration written to {}", config_path.display());
    Ok(ExitCode::SUCCESS)
}

/// The configuration file as it is before enrolment: read as the kiosk reads it, and as an
/// editable document that keeps its comments. No file yet: the demo configuration.
struct ExistingConfig {
    config: Config,
    doc: toml_edit::DocumentMut,
    /// Whether there was a file.
    found: bool,
}

impl ExistingConfig {
    fn read(path: &Path) -> Result<ExistingConfig, Problem> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(ExistingConfig {
                config: Config::parse(&text, path)?,
                doc: text
                    .parse::<toml_edit::DocumentMut>()
                    .map_err(|e| format!("{}: {e}", path.display()))?,
                found: true,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ExistingConfig {
                config: Config::demo(),
                doc: toml_edit::DocumentMut::new(),
                found: false,
            }),
            Err(e) => Err(Problem::new(format!("cannot read {}: {e}", path.display()))),
        }
    }
}

/// The id to enrol as: the configured one, or, when it is left empty (the package's config)
/// or there is no config yet, the machine's hostname: unique in a fleet whose Pis were named,
/// where a shared default would let kiosks take over each other's enrolment.
fn device_id_for(existing: &ExistingConfig, config_path: &Path) -> Result<DeviceId, Problem> {
    let configured = existing.found.then(|| existing.config.device.id.trim());
    match configured.filter(|id| !id.is_empty()) {
        Some(id) => DeviceId::parse(id).map_err(|e| {
            Problem::with_fix(
                e.to_string(),
                format!(
                    "change `[device] id` in {} to a name such as library-lobby-1",
                    config_path.display()
                ),
            )
        }),
        None => {
            let name = hostname();
            DeviceId::parse(&name).map_err(|e| {
                Problem::with_fix(
                    format!("this machine's name cannot be the device id: {e}"),
                    format!(
                        "set `[device] id` in {} to a name such as library-lobby-1",
                        config_path.display()
                    ),
                )
            })
        }
    }
}

/// Writes the device token and, when the deployment has one, the receipt secret, each
/// readable by the kiosk's service user only. Says where the secret went, for the report.
fn keep_secrets(reply: &Enrolment, config: &Config) -> Result<String, Problem> {
    let token_path = &config.upload.token_path;
    token::write(token_path, reply.token.as_str())?;
    crate::files::hand_to_service_user(&[token_path])?;
    match &reply.receipt_secret {
        Some(secret) => {
            let secret_file = &config.receipt.secret_file;
            crate::files::receipt_secret::write(secret_file, secret)?;
            crate::files::hand_to_service_user(&[secret_file])?;
            Ok(format!(
                "; the deployment's receipt secret is in {}",
                secret_file.display()
            ))
        }
        None => Ok(String::new()),
    }
}

/// The configuration with the enrolment in it: the device and site the collector confirmed,
/// the server, and the collector's tracking page or none.
fn enrolled_config(
    mut doc: toml_edit::DocumentMut,
    reply: &Enrolment,
    server_url: &ServerUrl,
) -> String {
    doc["device"]["id"] = toml_edit::value(reply.device_id.as_str());
    doc["device"]["site"] = toml_edit::value(reply.site.as_str());
    doc["upload"]["server"] = toml_edit::value(server_url.shown());
    // A key left from an earlier collector would send visitors to a page that no longer
    // knows them.
    match &reply.tracking_url {
        Some(url) => doc["upload"]["tracking_url"] = toml_edit::value(url.as_str()),
        None => {
            if let Some(upload) = doc
                .get_mut("upload")
                .and_then(toml_edit::Item::as_table_like_mut)
            {
                upload.remove("tracking_url");
            }
        }
    }
    doc.to_string()
}

/// An enrolment reply found well formed: every value is what its type says.
#[derive(Debug)]
struct Enrolment {
    device_id: DeviceId,
    site: SiteId,
    token: DeviceToken,
    /// 64 hex digits.
    receipt_secret: Option<String>,
    /// The collector's tracking page for visitors.
    tracking_url: Option<TrackingUrl>,
}

/// Judges a collector's enrolment reply for `asked`. The reply comes from the network: each
/// value is checked before it reaches a file, a terminal or a header, and shown through
/// [`visible`] when refused. The token is never shown.
fn check_enrolment(reply: &EnrollReply, asked: &DeviceId) -> Result<Enrolment, Problem> {
    let device_id = DeviceId::parse(&reply.device_id).map_err(|e| {
        format!(
            "the collector's reply sets device \"{}\" which is not a valid device id: {e}",
            visible(&reply.device_id)
        )
    })?;
    if device_id != *asked {
        return Err(Problem::new(format!(
            "the collector's reply enrols device \"{device_id}\", but this device asked as \"{asked}\""
        )));
    }
    let site = SiteId::parse(&reply.site).map_err(|e| {
        format!(
            "the collector's reply sets site \"{}\" which is not a valid site id: {e}",
            visible(&reply.site)
        )
    })?;
    let token = DeviceToken::parse(&reply.token).map_err(|e| {
        format!("the collector's reply gives a device token that cannot be used: {e}")
    })?;
    let receipt_secret = match &reply.receipt_secret {
        None => None,
        Some(secret) => Some(
            crate::files::receipt_secret::check_provisioned(secret).map_err(|e| {
                format!("the collector's reply gives a receipt secret that cannot be used: {e}")
            })?,
        ),
    };
    let tracking_url = reply
        .tracking_url
        .as_deref()
        .map(TrackingUrl::parse)
        .transpose()
        .map_err(|e| {
            format!("the collector's reply gives a tracking page that cannot be used: {e}")
        })?;
    Ok(Enrolment {
        device_id,
        site,
        token,
        receipt_secret,
        tracking_url,
    })
}
