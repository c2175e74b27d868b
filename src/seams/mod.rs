//! Where the kiosk's parts meet: where finished responses go (`sink`), where receipt scans
//! come from (`scan`), and the named device problems every adapter raises for staff
//! (`alarms`).

pub mod alarms;
pub mod scan;
pub mod sink;
