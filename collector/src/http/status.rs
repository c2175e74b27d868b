//! `POST /v1/status`: the heartbeat of a kiosk with nothing to upload.

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use earshot_protocol::time::rfc3339;
use earshot_protocol::{StatusReply, StatusRequest, STATUS_PATH};

use super::error::{blocking, ApiError};
use super::extract::{AuthenticatedDevice, BodyCap, RequestBody};
use super::AppState;
use crate::status::ReportedStatus;

/// A status block is well under a kilobyte; its text fields are cut to 500 characters.
const MAX_STATUS_BODY: usize = 64 * 1024;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(STATUS_PATH, post(post_status))
        .layer(axum::Extension(BodyCap(MAX_STATUS_BODY)))
}

async fn post_status(
    State(state): State<Arc<AppState>>,
    AuthenticatedDevice { device, .. }: AuthenticatedDevice,
    body: RequestBody,
) -> Result<Json<StatusReply>, ApiError> {
    let store = state.store.clone();
    blocking(move || {
        let request: StatusRequest = body.parse("the status", ("", ""))?;
        let status = ReportedStatus::from_wire(request.status);
        if status.refused_alarms() > 0 {
            tracing::warn!(device = %device.id, refused = status.refused_alarms(),
                "status carried alarms that are not alarm codes; they were left out");
        }
        store
            .record_status(&device, &status, SystemTime::now())
            .map_err(ApiError::unavailable)
    })
    .await?;
    Ok(Json(StatusReply {
        server_time: rfc3339(SystemTime::now()),
    }))
}
