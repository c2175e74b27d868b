//! `GET /v1/health`: answers as long as the server loop accepts and serves connections, for
//! a load balancer or a person checking the collector is up.

use std::sync::Arc;
use std::time::SystemTime;

use axum::routing::get;
use axum::{Json, Router};
use earshot_protocol::time::rfc3339;
use earshot_protocol::StatusReply;

use super::AppState;

pub const HEALTH_PATH: &str = "/v1/health";

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route(HEALTH_PATH, get(health))
}

async fn health() -> Json<StatusReply> {
    Json(StatusReply {
        server_time: rfc3339(SystemTime::now()),
    })
}
