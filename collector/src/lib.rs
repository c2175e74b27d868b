//! earshot-collector: the receiver of Earshot kiosk responses. It enrols devices, takes their
//! batches exactly once (deduplicated by each response's own id, one transaction per batch),
//! keeps their status, and exports what it holds for the service team.

pub mod accounts;
pub mod cases;
pub mod clocks;
pub mod export;
pub mod files;
pub mod http;
pub mod indexed;
pub mod ingest;
pub mod labels;
pub mod periods;
pub mod results;
pub mod serve;
pub mod status;
pub mod store;
pub mod surveys;
