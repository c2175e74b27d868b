//! The kiosk's alarm codes in words for the people who read a device's status away from it
//! (the collector's fleet page): what is wrong and what fixes it. The kiosk's own alarms
//! (`src/alarms.rs`) carry fuller text on the device; a test there checks every code it can
//! raise is described here.

/// What an alarm code means and how to fix it, or `None` for a code this version does not
/// know (a newer kiosk's).
pub fn describe(code: &str) -> Option<(&'static str, &'static str)> {
    Some(match code {
        "response-not-stored" => (
            "A visitor's response could not be stored on the device.",
            "Check the device's storage (a full or failing SD card); `earshot queue stats` on the device says more.",
        ),
        "survey-invalid" => (
            "The survey file could not be used; the kiosk shows the last survey that worked.",
            "Run `earshot check-survey FILE` on the device and correct what it lists.",
        ),
        "hardware-unavailable" => (
            "The status light or staff call (GPIO) could not be set up.",
            "Check the wiring and the [gpio] pins in earshot.toml.",
        ),
        "scanner-unavailable" => (
            "The receipt scanner is missing or cannot be opened.",
            "Plug the scanner in again; `earshot scanner listen` on the device tests it.",
        ),
        "storage-nearly-full" => (
            "The device's response store is close to its size limit.",
            "Let it upload (check the network), or raise [storage] max_db_mb.",
        ),
        "storage-quarantined" => (
            "A damaged response store was moved aside and a fresh one started.",
            "Nothing is lost: take the quarantined file off with `earshot queue export --db FILE`.",
        ),
        "storage-unavailable" => (
            "The device cannot open its response store at all.",
            "Check the SD card is not full or read-only; replace it if it keeps failing.",
        ),
        "upload-unauthorized" => (
            "The collector refuses this device's token; uploading has stopped.",
            "Make an enrolment code and run `earshot provision` on the device again.",
        ),
        "upload-failing" => (
            "Uploads keep failing; responses wait on the device.",
            "Check the device's network and the collector's address in earshot.toml.",
        ),
        "responses-rejected" => (
            "The collector rejected some responses; they are kept on the device.",
            "See the reasons with `earshot queue export --state dead` on the device.",
        ),
        "receipt-secret-replaced" => (
            "The receipt secret was unusable and replaced, so new receipts will not join with till data.",
            "Run `earshot provision` again to fetch the deployment's secret.",
        ),
        _ => return None,
    })
}
