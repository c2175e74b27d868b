//! Sources of receipt scans. A source runs on its own thread and hands every code it reads to
//! the kiosk. The serial scanner adapter is one such source; `ChannelScanner` feeds scans from
//! inside the program (simulations and tests).

use std::sync::mpsc;

/// Receives each scanned code (as text, without the line ending).
pub type ScanHandler = Box<dyn Fn(String) + Send>;

pub trait ScanSource: Send {
    /// Starts reading on a thread of its own, calling `on_scan` for every code.
    fn start(self: Box<Self>, on_scan: ScanHandler);
    /// What is reading, for status and messages ("none", a port name, …).
    fn describe(&self) -> String;
}

/// No scanner configured.
pub struct NoScanner;

impl ScanSource for NoScanner {
    fn start(self: Box<Self>, _on_scan: ScanHandler) {}
    fn describe(&self) -> String {
        "none".into()
    }
}

/// Scans sent through a channel.
pub struct ChannelScanner {
    codes: mpsc::Receiver<String>,
}

impl ChannelScanner {
    pub fn new() -> (mpsc::Sender<String>, ChannelScanner) {
        let (tx, codes) = mpsc::channel();
        (tx, ChannelScanner { codes })
    }
}

impl ScanSource for ChannelScanner {
    fn start(self: Box<Self>, on_scan: ScanHandler) {
        let codes = self.codes;
        std::thread::Builder::new()
            .name("scanner".into())
            .spawn(move || {
                for code in codes {
                    on_scan(code);
                }
            })
            .expect("the OS lets the kiosk start a thread");
    }
    fn describe(&self) -> String {
        "in-process".into()
    }
}
