//! Receipt scanners on a serial port (USB CDC-ACM or a UART): framing, the reader thread.

pub mod frame;
pub mod serial;
