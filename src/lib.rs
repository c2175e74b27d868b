//! Earshot: a self-service feedback kiosk.
//!
//! The house: `core` is pure (survey definitions, the visit state machine, the response
//! record); around it sit adapters, one room each: `storage` (the response queue), `upload`
//! (batches to the collector), `scanner` (receipt scanners), `hardware` (GPIO), `ui` (the
//! Slint bridge). `seams` holds what they meet at (where finished responses go, where scans
//! come from, device problems for staff); `files` the files the device keeps outside its
//! database (the configuration, the last good survey, the receipt secret), all written by
//! one atomic writer; `system` the operating system (systemd, clocks, the display's turn,
//! fonts). `app` builds the running kiosk from all of them; `cli` is the command line.

// First: the command line, whose printing macros (`outln!`, `errln!`) every command uses.
#[macro_use]
pub mod cli;

pub mod app;
pub mod core;
pub mod files;
pub mod hardware;
pub mod scanner;
pub mod seams;
pub mod storage;
pub mod system;
pub mod ui;
pub mod upload;
