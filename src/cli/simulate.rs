//! `earshot simulate`: randomised visits through the kiosk's logic and response storage, with
//! no display (the visits themselves are `app::simulate`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use super::Loaded;
use crate::app::{self, simulate::SimulateOptions};
use crate::core::problem::Problem;
use crate::storage::{open_store, QueueSink};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// How many visits
    #[arg(long)]
    pub visits: u64,
    /// Survey file to use instead of the configured one
    #[arg(long, value_name = "PATH")]
    pub survey: Option<PathBuf>,
    /// Seed for repeatable runs [default: random]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print "committed <id>" as each response is confirmed stored (for crash tests)
    #[arg(long)]
    pub print_committed: bool,
    /// Every N visits, claim and acknowledge a batch as an uploader would
    #[arg(long, value_name = "N")]
    pub drain_every: Option<u64>,
}

pub fn run(args: Args, loaded: &Loaded) -> Result<ExitCode, Problem> {
    let Loaded {
        config,
        source,
        alarms,
    } = loaded;
    let survey = app::survey::load(&config.survey, source, args.survey.as_deref(), alarms)?;
    let queue = open_store(&config.storage, alarms)?;
    let sink = QueueSink::start(
        Arc::clone(&queue),
        alarms.clone(),
        config.storage.max_db_bytes,
    );
    let seed = args.seed.unwrap_or_else(|| fastrand::u64(..));
    let options = SimulateOptions {
        print_committed: args.print_committed,
        drain: args.drain_every.map(|n| (queue, n)),
    };
    let summary = app::simulate::run_and_report(
        survey,
        app::device_ids(&config.device),
        &sink,
        args.visits,
        seed,
        &options,
    );
    Ok(if summary.store_failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
