//! The pure core of the kiosk: survey definitions, the visit state machine and the response
//! record. Nothing in here touches the disk, the network, the display or the clock: time and
//! randomness come in as arguments so every path can be tested fast and deterministically.

pub mod blanking;
pub mod language;
pub mod receipt;
pub mod record;
pub mod reference;
pub mod survey;
pub mod text;
pub mod visit;
