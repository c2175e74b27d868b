//! `earshot upload`: uploading by hand, for facilities staff: everything waiting now
//! (`--once`), or the kiosk's upload loop alone until stopped.

use std::process::ExitCode;
use std::sync::Arc;

use super::Loaded;
use crate::app::{
    self,
    uploader::{facts, not_configured, runtime},
};
use crate::core::problem::Problem;
use crate::core::survey::Survey;
use crate::files::config::Config;
use crate::seams::alarms::Alarms;
use crate::storage::open_store;
use crate::upload::{Pass, UploadSettings, Uploader};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Send everything waiting now, say what happened, and stop; without it, keep
    /// uploading until stopped, as the kiosk does
    #[arg(long)]
    pub once: bool,
}

pub fn run(args: &Args, loaded: &Loaded) -> Result<ExitCode, Problem> {
    let Loaded {
        config,
        source,
        alarms,
    } = loaded;
    let survey = app::survey::load(&config.survey, source, None, alarms)?;
    if args.once {
        upload_once(config, &survey, alarms)
    } else {
        upload_until_stopped(config, &survey, alarms)
    }
}

/// The uploader's settings, or what to do when no collector is configured.
fn configured_uploads(config: &Config) -> Result<UploadSettings, Problem> {
    UploadSettings::from_config(&config.upload).ok_or_else(|| {
        Problem::new("no collector is configured ([upload] server); enrol the device with `earshot provision --server URL --code CODE`")
    })
}

/// Uploads everything waiting now, batch by batch, saying what happened to each. Stops at
/// the first failure (nothing is lost: what was not delivered stays queued).
fn upload_once(config: &Config, survey: &Survey, alarms: &Alarms) -> Result<ExitCode, Problem> {
    let settings = configured_uploads(config)?;
    let queue = open_store(&config.storage, alarms)?;
    let mut uploader = Uploader::new(
        settings,
        facts(survey, not_configured(), "not watched by this process"),
        alarms.clone(),
    )?;
    let server = uploader.settings().client.server.clone();
    runtime()?.block_on(async {
        let mut total = Totals::default();
        let code = loop {
            match uploader.pass(&queue).await {
                Pass::Delivered(d) => {
                    outln!(
                        "sent {} responses ({} bytes): {} accepted, {} already there, \
                         {} rejected",
                        d.responses,
                        d.bytes_sent,
                        d.accepted,
                        d.duplicate,
                        d.rejected
                    );
                    total.add(&d);
                }
                Pass::Empty => {
                    if let Err(e) = uploader.heartbeat(&queue).await {
                        outln!("status not sent: {}", e.message());
                    }
                    break ExitCode::SUCCESS;
                }
                Pass::Failed { wait, error } if wait.is_zero() => {
                    outln!("{error}; trying smaller batches");
                }
                Pass::Failed { error, .. } => {
                    outln!("stopped: {error}");
                    break ExitCode::FAILURE;
                }
                Pass::Unauthorized { error } => {
                    outln!("stopped: device not authorised: {error}");
                    outln!(
                        "provision it again with `earshot provision --server {server} \
                         --code CODE`"
                    );
                    break ExitCode::FAILURE;
                }
            }
        };
        // Put back a batch left claimed by a failure, so the kiosk can send it.
        drop(uploader);
        let _ = queue.release_all_claimed();
        let stats = queue.stats()?;
        outln!(
            "{} delivered ({} new, {} already there), {} rejected; {} waiting, {} set aside",
            total.accepted + total.duplicate,
            total.accepted,
            total.duplicate,
            total.rejected,
            stats.pending + stats.claimed,
            stats.dead
        );
        Ok(code)
    })
}

/// Runs the kiosk's upload loop alone, without the screen, until the process is stopped.
fn upload_until_stopped(
    config: &Config,
    survey: &Survey,
    alarms: &Alarms,
) -> Result<ExitCode, Problem> {
    let settings = configured_uploads(config)?;
    let queue = open_store(&config.storage, alarms)?;
    let mut uploader = Uploader::new(
        settings,
        facts(survey, not_configured(), "not watched by this process"),
        alarms.clone(),
    )?;
    let source: crate::upload::QueueSource = Arc::new(move || Some(queue.clone()));
    let wake = Arc::new(tokio::sync::Notify::new());
    runtime()?.block_on(crate::upload::run(&mut uploader, source, wake));
    Ok(ExitCode::SUCCESS)
}

/// What `upload --once` delivered in all.
#[derive(Default)]
struct Totals {
    accepted: usize,
    duplicate: usize,
    rejected: usize,
}

impl Totals {
    fn add(&mut self, d: &crate::upload::Delivery) {
        self.accepted += d.accepted;
        self.duplicate += d.duplicate;
        self.rejected += d.rejected;
    }
}
