//! `[upload]`, read: the collector's address, how uploads are batched and timed, the device
//! token's file and the collector's tracking page. The uploader takes this section alone.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{raw, state_dir};
use crate::core::problem::Problem;

/// The collector's address: https, or plain http to this machine only (127.0.0.1, ::1,
/// localhost). Checked when it is read, so a value of this type is always one the kiosk may
/// send a device token to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl(url::Url);

impl ServerUrl {
    /// Reads `text` (surrounding spaces ignored); the problem quotes it as written.
    pub fn parse(text: &str) -> Result<ServerUrl, Problem> {
        let parsed = url::Url::parse(text.trim())
            .map_err(|e| Problem::new(format!("server URL {text:?} is not a URL: {e}")))?;
        match parsed.scheme() {
            "https" => Ok(ServerUrl(parsed)),
            "http" => {
                let loopback = match parsed.host() {
                    Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
                    Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
                    Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                    None => false,
                };
                if loopback {
                    Ok(ServerUrl(parsed))
                } else {
                    Err(Problem::new(format!(
                        "server URL {text:?} must use https:// (plain http is allowed only for 127.0.0.1, ::1 or localhost)"
                    )))
                }
            }
            other => Err(Problem::new(format!(
                "server URL {text:?} has scheme {other:?}; use https://"
            ))),
        }
    }

    pub fn url(&self) -> &url::Url {
        &self.0
    }

    /// The address as it is written into the configuration: without a trailing slash.
    pub fn shown(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }
}

/// The address as parsed (with the slash a bare host gets).
impl std::fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The address of a page where a visitor follows up their response: https, with `{ref}`
/// where the reference code goes, no spaces or control characters, at most
/// [`TrackingUrl::MAX_CHARS`] characters. Checked when it is read, so a value of this type
/// is always one the thanks screen can show.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct TrackingUrl(String);

impl TrackingUrl {
    /// Longer addresses make a QR code too dense to scan from a small screen.
    pub const MAX_CHARS: usize = 500;

    /// Checks `text`; the problem says what is wrong, showing the text safely for a terminal.
    pub fn parse(text: &str) -> Result<TrackingUrl, Problem> {
        let shown = || earshot_protocol::text::visible(text);
        let chars = text.chars().count();
        if chars > Self::MAX_CHARS {
            return Err(Problem::new(format!(
                "the tracking address is {chars} characters long; at most {} are allowed",
                Self::MAX_CHARS
            )));
        }
        if let Some(c) = text
            .chars()
            .find(|&c| c.is_whitespace() || earshot_protocol::text::is_invisible_or_active(c))
        {
            return Err(Problem::new(format!(
                "the tracking address \"{}\" contains {}, which an address cannot",
                shown(),
                earshot_protocol::text::describe_char(c)
            )));
        }
        if !text.starts_with("https://") || text.len() == "https://".len() {
            return Err(Problem::new(format!(
                "the tracking address \"{}\" does not start with https:// (visitors' phones open it from a QR code)",
                shown()
            )));
        }
        if !text.contains("{ref}") {
            return Err(Problem::new(format!(
                "the tracking address \"{}\" has no {{ref}} where the reference code goes",
                shown()
            )));
        }
        Ok(TrackingUrl(text.to_string()))
    }

    /// The template, with `{ref}` in it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TrackingUrl {
    type Error = Problem;

    fn try_from(text: String) -> Result<TrackingUrl, Problem> {
        TrackingUrl::parse(&text).map_err(|problem| {
            Problem::new(format!(
                "[upload] tracking_url: {problem}. `earshot provision` writes the collector's \
                 own address here; provision the device again, or delete the line to use the \
                 survey's [thanks] tracking_url"
            ))
        })
    }
}

/// `[upload]` as the uploader and provisioning use it.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadConfig {
    /// The collector; without one, responses stay in the queue.
    pub server: Option<ServerUrl>,
    /// Extra CA certificates (PEM) to trust, for a collector with a private CA.
    pub ca_file: Option<PathBuf>,
    /// The device token file, resolved against the state directory.
    pub token_path: PathBuf,
    /// Most responses in one upload.
    pub batch_max_responses: usize,
    /// Most bytes of responses (uncompressed) in one upload.
    pub batch_max_bytes: u64,
    pub connect_timeout: Duration,
    /// How long one upload may take in all.
    pub request_timeout: Duration,
    /// Between uploads when nothing prompts one, and between heartbeats.
    pub heartbeat: Duration,
    /// After a new response, before uploading.
    pub debounce: Duration,
    /// The collector's tracking page for visitors, if it has one.
    pub tracking_url: Option<TrackingUrl>,
}

/// `value` if it lies in `range`, else the problem naming the setting.
fn in_range(name: &str, value: u64, range: std::ops::RangeInclusive<u64>) -> Result<u64, Problem> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(Problem::new(format!(
            "[upload] {name} = {value} is out of range; use {} to {}",
            range.start(),
            range.end()
        )))
    }
}

impl UploadConfig {
    pub(super) fn read(raw: raw::UploadConfig) -> Result<UploadConfig, Problem> {
        let server = raw
            .server
            .as_deref()
            .map(ServerUrl::parse)
            .transpose()
            .map_err(|p| p.within("[upload] server: "))?;
        let batch_max_responses = in_range(
            "batch_max_responses",
            raw.batch_max_responses as u64,
            1..=earshot_protocol::MAX_BATCH_RESPONSES as u64,
        )? as usize;
        let batch_max_kb = in_range("batch_max_kb", raw.batch_max_kb, 1..=64 * 1024)?;
        let seconds = |name, value, range| in_range(name, value, range).map(Duration::from_secs);
        Ok(UploadConfig {
            server,
            ca_file: raw.ca_file,
            token_path: raw
                .token_path
                .unwrap_or_else(|| state_dir().join("device-token")),
            batch_max_responses,
            batch_max_bytes: batch_max_kb * 1024,
            connect_timeout: seconds("connect_timeout_s", raw.connect_timeout_s, 1..=600)?,
            request_timeout: seconds("request_timeout_s", raw.request_timeout_s, 1..=3600)?,
            heartbeat: seconds("heartbeat_s", raw.heartbeat_s, 5..=24 * 3600)?,
            debounce: seconds("debounce_s", raw.debounce_s, 0..=3600)?,
            tracking_url: raw.tracking_url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_url_must_be_a_url() {
        let e = ServerUrl::parse("collector").unwrap_err().to_string();
        assert!(e.contains("is not a URL"), "{e}");
    }

    #[test]
    fn a_server_url_uses_https() {
        assert!(ServerUrl::parse("https://collector.example.org").is_ok());
        let e = ServerUrl::parse("ftp://127.0.0.1").unwrap_err().to_string();
        assert!(e.contains("has scheme \"ftp\"; use https://"), "{e}");
    }

    #[test]
    fn plain_http_is_only_for_this_machine() {
        assert!(ServerUrl::parse("http://127.0.0.1:8080").is_ok());
        assert!(ServerUrl::parse("http://[::1]:8080/base").is_ok());
        assert!(ServerUrl::parse("http://localhost:8080").is_ok());
        let e = ServerUrl::parse("http://collector.example.org")
            .unwrap_err()
            .to_string();
        assert!(e.contains("https"), "{e}");
        assert!(ServerUrl::parse("http://10.0.0.5").is_err());
    }

    #[test]
    fn a_server_url_is_shown_without_its_trailing_slash() {
        let url = ServerUrl::parse(" https://collector.example.org ").unwrap();
        assert_eq!(url.shown(), "https://collector.example.org");
    }

    #[test]
    fn a_tracking_url_is_at_most_500_characters() {
        let prefix = "https://feedback.example.org/t/{ref}?q=";
        let most = format!("{prefix}{}", "a".repeat(500 - prefix.len()));
        assert!(TrackingUrl::parse(&most).is_ok());
        let e = TrackingUrl::parse(&format!("{most}a")).unwrap_err();
        assert!(e.contains("501 characters long"), "{e}");
    }

    #[test]
    fn a_tracking_url_has_no_spaces_or_control_characters() {
        for text in [
            "https://feedback.example.org/t/ {ref}",
            "https://feedback.example.org/t/\u{1b}{ref}",
        ] {
            let e = TrackingUrl::parse(text).unwrap_err();
            assert!(e.contains("which an address cannot"), "{e}");
        }
    }

    #[test]
    fn a_tracking_url_uses_https() {
        for text in ["http://feedback.example.org/t/{ref}", "https://"] {
            let e = TrackingUrl::parse(text).unwrap_err();
            assert!(e.contains("does not start with https://"), "{e}");
        }
    }

    #[test]
    fn a_tracking_url_has_a_place_for_the_reference() {
        let e = TrackingUrl::parse("https://feedback.example.org/t/").unwrap_err();
        assert!(e.contains("has no {ref}"), "{e}");
        assert_eq!(
            TrackingUrl::parse("https://feedback.example.org/t/{ref}")
                .unwrap()
                .as_str(),
            "https://feedback.example.org/t/{ref}"
        );
    }

    #[test]
    fn every_upload_number_has_its_range() {
        for (name, low, high) in [
            (
                "batch_max_responses",
                1,
                earshot_protocol::MAX_BATCH_RESPONSES as u64,
            ),
            ("batch_max_kb", 1, 64 * 1024),
            ("connect_timeout_s", 1, 600),
            ("request_timeout_s", 1, 3600),
            ("heartbeat_s", 5, 24 * 3600),
            ("debounce_s", 0, 3600),
        ] {
            let with = |value: u64| {
                let mut raw = raw::UploadConfig::default();
                match name {
                    "batch_max_responses" => raw.batch_max_responses = value as usize,
                    "batch_max_kb" => raw.batch_max_kb = value,
                    "connect_timeout_s" => raw.connect_timeout_s = value,
                    "request_timeout_s" => raw.request_timeout_s = value,
                    "heartbeat_s" => raw.heartbeat_s = value,
                    _ => raw.debounce_s = value,
                }
                UploadConfig::read(raw)
            };
            assert!(with(low).is_ok() && with(high).is_ok(), "{name}");
            let e = with(high + 1).unwrap_err().to_string();
            assert_eq!(
                e,
                format!(
                    "[upload] {name} = {} is out of range; use {low} to {high}",
                    high + 1
                )
            );
            if low > 0 {
                assert!(with(low - 1).is_err(), "{name}");
            }
        }
    }

    #[test]
    fn upload_times_are_durations_and_sizes_bytes() {
        let u = UploadConfig::read(raw::UploadConfig::default()).unwrap();
        assert_eq!(u.connect_timeout, Duration::from_secs(10));
        assert_eq!(u.heartbeat, Duration::from_secs(300));
        assert_eq!(u.batch_max_bytes, 1024 * 1024);
        assert_eq!(u.server, None);
    }
}
