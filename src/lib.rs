//! Earshot: a self-service feedback kiosk.
//!
//! The house: `core` is pure (survey definitions, the visit state machine, the response
//! record); around it sit adapters, one room each: `sink` (where finished responses go),
//! `scan` (receipt scanners), `receipt_secret` (the key receipts are hashed with), `hardware` (GPIO), `alarms` (device problems for staff), `ui`
//! (the Slint bridge), `headless` (the screen drawn without a display); `config`, `simulate`
//! and `cli` make the thin entry point.

// First: the printing macros every command uses.
#[macro_use]
pub mod output;

pub mod alarms;
pub mod cli;
pub mod clock;
pub mod config;
pub mod core;
pub mod display;
pub mod files;
pub mod hardware;
pub mod headless;
pub mod queue_cli;
pub mod receipt_secret;
pub mod scan;
pub mod scanner;
pub mod service;
pub mod simulate;
pub mod sink;
pub mod storage;
pub mod ui;
pub mod upload;
pub mod upload_cli;
