//! The kiosk's library against real files, in this process: the response queue in temporary
//! folders and on a real full disk, survey files with every error they can have, and the
//! collector's published OpenAPI document against the protocol's types.

/// docs/openapi.yaml against what the collector does and the protocol accepts.
mod openapi;
/// The store on a tiny tmpfs that fills up.
mod storage_disk_full;
/// The durable response queue against real files, with a SIGKILL in a child process.
mod storage_queue;
/// Every error a survey file can produce.
mod survey_errors;
