//! A receipt step (`ReceiptAdapter`): the prompt, and whether a receipt has been read. Scans
//! reach the core from the scanner, not from this screen.

use slint::ComponentHandle;

use crate::ui::{MainWindow, ReceiptAdapter};

pub(in crate::ui) fn fill(window: &MainWindow, prompt: &str, required: bool, scanned: bool) {
    let a = window.global::<ReceiptAdapter>();
    a.set_prompt(prompt.into());
    a.set_required(required);
    a.set_scanned(scanned);
}
