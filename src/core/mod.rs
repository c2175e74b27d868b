//! The pure core of the kiosk: survey definitions, the visit state machine and the response
//! record. Nothing in here touches the disk, the network, the display or the clock: time and
//! randomness come in as arguments so every path can be tested fast and deterministically.
//!
//! The survey definitions and their parser are the `earshot-survey` crate, seen here as
//! `survey` and `language`: the collector checks its survey files with the same code, so the
//! two sides cannot disagree about what a survey is.

pub mod blanking;
pub mod problem;
pub mod receipt;
pub mod record;
/// Reference codes, shared with the collector (its tracking page checks them).
pub use earshot_protocol::reference;
pub mod step_view;
pub mod text;
pub mod visit;

pub use earshot_survey as survey;
pub use earshot_survey::language;
