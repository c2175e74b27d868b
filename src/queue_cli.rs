//! `earshot queue …`: the stored responses, for facilities staff.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum QueueAction {
    /// Counts by state, age of the oldest unsent response, database size
    Stats {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Write responses to a file (e.g. on a USB stick), atomically
    Export {
        /// The file to write
        #[arg(long)]
        out: PathBuf,
        /// jsonl or csv
        #[arg(long, default_value = "jsonl")]
        format: String,
        /// pending, acked, dead or all
        #[arg(long, default_value = "all")]
        state: String,
        /// Read this database file instead of the configured one (e.g. a quarantined copy)
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Put dead-lettered responses back in the queue
    RetryDead {
        /// Only this response
        #[arg(long)]
        id: Option<String>,
    },
}

pub fn run(action: QueueAction, config: &Config) -> Result<ExitCode, String> {
    let _ = (action, config);
    Err("queue commands are not available in this build".into())
}
