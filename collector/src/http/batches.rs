//! `POST /v1/batches`: a kiosk's responses, stored exactly once. The batch is refused whole
//! only when it cannot be read at all; otherwise each response gets its own result.

use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use earshot_protocol::{
    codes, BatchReply, DeviceStatus, ItemStatus, BATCHES_PATH, MAX_BATCH_RESPONSES,
    MAX_RESPONSE_BYTES,
};
use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::error::{blocking, ApiError};
use super::extract::{AuthenticatedDevice, IdempotencyKey, RequestBody, OVER_LIMIT};
use super::AppState;
use crate::clocks::BootClocks;
use crate::ingest::{boots_to_look_up, judge_with, Sender};
use crate::status::ReportedStatus;
use crate::store::IngestOutcome;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route(BATCHES_PATH, post(post_batch))
}

/// A batch as read off the wire: each response kept as its own JSON text, to be judged alone.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IncomingBatch {
    batch_id: Uuid,
    status: DeviceStatus,
    responses: AtMost<Box<RawValue>, MAX_BATCH_RESPONSES>,
}

/// A JSON array of at most `N` items. Parsing stops at item `N + 1`, so a body of millions
/// of tiny items costs no more than `N` of them.
#[derive(Debug)]
struct AtMost<T, const N: usize>(Vec<T>);

impl<'de, T: Deserialize<'de>, const N: usize> Deserialize<'de> for AtMost<T, N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Items<T, const N: usize>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for Items<T, N> {
            type Value = AtMost<T, N>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "an array of at most {N} items")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(N));
                while let Some(item) = seq.next_element()? {
                    if items.len() == N {
                        return Err(serde::de::Error::custom(format!(
                            "{OVER_LIMIT} more than {N} items"
                        )));
                    }
                    items.push(item);
                }
                Ok(AtMost(items))
            }
        }
        d.deserialize_seq(Items(PhantomData))
    }
}

/// The hash that tells a replay from a reused key: SHA-256 of the responses as one JSON
/// array, each response re-encoded with sorted keys, so the same responses always hash the
/// same however the sender ordered their fields. Byte for byte what earlier collectors
/// hashed, so a batch first sent to one of them replays cleanly after an upgrade.
fn body_hash(responses: &[Box<RawValue>]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"[");
    for (i, raw) in responses.iter().enumerate() {
        if i > 0 {
            hasher.update(b",");
        }
        // A response over the size limit is rejected unparsed; its text stands for it.
        let canonical = (raw.get().len() <= MAX_RESPONSE_BYTES)
            .then(|| serde_json::from_str::<serde_json::Value>(raw.get()).ok())
            .flatten()
            .and_then(|v| serde_json::to_vec(&v).ok());
        hasher.update(canonical.as_deref().unwrap_or(raw.get().as_bytes()));
    }
    hasher.update(b"]");
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Removes a batch from the in-flight set however its request ends.
struct InFlight {
    state: Arc<AppState>,
    key: (String, Uuid),
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut set = self
            .state
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        set.remove(&self.key);
    }
}

async fn post_batch(
    State(state): State<Arc<AppState>>,
    AuthenticatedDevice { device, .. }: AuthenticatedDevice,
    IdempotencyKey(key): IdempotencyKey,
    body: RequestBody,
) -> Result<Json<BatchReply>, ApiError> {
    let batch: IncomingBatch = blocking(move || {
        body.parse(
            "the batch",
            (
                codes::TOO_MANY_RESPONSES,
                &format!("a batch may hold at most {MAX_BATCH_RESPONSES} responses"),
            ),
        )
    })
    .await?;
    if batch.batch_id != key {
        return Err(ApiError::bad_request(
            codes::IDEMPOTENCY_KEY_MISMATCH,
            format!(
                "Idempotency-Key {key} is not the batch id {}",
                batch.batch_id
            ),
        ));
    }
    let in_flight_key = (device.id.clone(), key);
    let inserted = state
        .in_flight
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(in_flight_key.clone());
    if !inserted {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            codes::IN_PROGRESS,
            "this batch is still being stored; send it again shortly",
        ));
    }
    let _guard = InFlight {
        state: state.clone(),
        key: in_flight_key,
    };
    let worker = state.clone();
    let outcome = blocking(move || {
        let responses = batch.responses.0;
        let hash = body_hash(&responses);
        let now = SystemTime::now();
        let sender = Sender {
            device_id: &device.id,
            site: &device.site,
        };
        // What is kept of the boots of responses recorded before the device's clock was
        // synchronised, to place them on true time.
        let boots = boots_to_look_up(&responses);
        let known = if boots.is_empty() {
            BootClocks::default()
        } else {
            worker
                .store
                .boot_clocks(&device.id, &boots)
                .map_err(ApiError::unavailable)?
        };
        let judged = judge_with(
            &responses,
            sender,
            &batch.status,
            now,
            &worker.surveys,
            &known,
        );
        drop(responses);
        let status = ReportedStatus::from_wire(batch.status);
        if status.refused_alarms() > 0 {
            tracing::warn!(device = %device.id, refused = status.refused_alarms(),
                "status carried alarms that are not alarm codes; they were left out");
        }
        worker
            .store
            .ingest(&device, key, &hash, &judged, &status, now)
            .map_err(ApiError::unavailable)
    })
    .await?;
    match outcome {
        IngestOutcome::Stored(reply) => {
            let count = |s: ItemStatus| reply.results.iter().filter(|r| r.status == s).count();
            let rejected: HashSet<&str> = reply
                .results
                .iter()
                .filter_map(|r| r.reason.as_ref().map(|r| r.code.as_str()))
                .collect();
            tracing::info!(batch = %key, total = reply.results.len(),
                accepted = count(ItemStatus::Accepted), rejected = count(ItemStatus::Rejected),
                reasons = ?rejected, "batch stored");
            Ok(Json(reply))
        }
        IngestOutcome::Replayed(reply) => {
            tracing::info!(batch = %key, "batch replayed; same reply as before");
            Ok(Json(reply))
        }
        IngestOutcome::KeyReused => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::IDEMPOTENCY_KEY_REUSED,
            format!("batch id {key} was used before for different responses"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_the_one_earlier_collectors_made() {
        let values = vec![
            serde_json::json!({"b": 1, "a": [1.5, "x"]}),
            serde_json::json!(0),
            serde_json::json!({"z": null}),
        ];
        let earlier = crate::store::sha256_hex(&serde_json::to_vec(&values).unwrap());
        // The same responses, sent with their keys in another order and spaced out.
        let raw: Vec<Box<RawValue>> = [r#"{ "a": [1.5,"x"], "b": 1 }"#, "0", r#"{"z":null}"#]
            .iter()
            .map(|t| RawValue::from_string(t.to_string()).unwrap())
            .collect();
        assert_eq!(body_hash(&raw), earlier);
    }

    #[test]
    fn an_array_past_its_limit_stops_parsing_at_the_first_extra_item() {
        let ok: AtMost<u8, 3> = serde_json::from_str("[1,2,3]").unwrap();
        assert_eq!(ok.0, [1, 2, 3]);
        let e = serde_json::from_str::<AtMost<u8, 3>>("[1,2,3,4,\"never read\"").unwrap_err();
        assert!(e.to_string().contains(OVER_LIMIT), "{e}");
    }
}
