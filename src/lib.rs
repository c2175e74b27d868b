//! Earshot: a self-service feedback kiosk.
//!
//! The house: `core` is pure (survey definitions, the visit state machine, the response
//! record); around it sit adapters, one room each: `sink` (where finished responses go),
//! `scan` (receipt scanners), `hardware` (GPIO), `alarms` (device problems for staff), `ui`
//! (the Slint bridge); `config` and `cli` make the thin entry point.

pub mod core;
