//! Upload: responses leave the queue in batches for the collector and are acknowledged only
//! for what the collector confirms. Runs on its own thread with a tokio runtime; the UI thread
//! never waits on it. Transient failures are retried for as long as it takes; nothing is
//! dropped (docs/protocol.md).

pub mod backoff;
pub mod client;
pub mod token;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use earshot_protocol::{DeviceClock, DeviceStatus, ItemStatus};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::core::problem::Problem;
use crate::files::config::UploadConfig;
use crate::seams::alarms::{AlarmKind, Alarms};
use crate::storage::{Batch, Queue};
use backoff::Backoff;
use client::{Client, ClientSettings, SendError};

#[derive(Debug, Clone)]
pub struct UploadSettings {
    pub client: ClientSettings,
    pub token_path: PathBuf,
    pub batch_max_responses: usize,
    pub batch_max_bytes: u64,
    pub heartbeat: Duration,
    pub debounce: Duration,
}

impl UploadSettings {
    /// The uploader's settings from `[upload]`; `None` when no server is configured:
    /// responses stay in the queue.
    pub fn from_config(upload: &UploadConfig) -> Option<UploadSettings> {
        let server = upload.server.as_ref()?;
        Some(UploadSettings {
            client: ClientSettings::new(server, upload),
            token_path: upload.token_path.clone(),
            batch_max_responses: upload.batch_max_responses,
            batch_max_bytes: upload.batch_max_bytes,
            heartbeat: upload.heartbeat,
            debounce: upload.debounce,
        })
    }
}

/// Reads the scanner's state for the status.
pub type ScannerReport = Arc<dyn Fn() -> String + Send + Sync>;

/// What the device reports about itself besides the queue.
#[derive(Clone)]
pub struct DeviceFacts {
    pub survey_id: String,
    pub survey_version: String,
    /// The scanner's state now ("not_configured", "connected", "missing", …).
    pub scanner: ScannerReport,
    pub hardware: String,
}

/// The outcome of one attempt to deliver one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pass {
    /// The collector answered for the batch.
    Delivered(Delivery),
    /// Nothing is waiting.
    Empty,
    /// Not delivered; try again after `wait`. The batch stays claimed, to be resent
    /// unchanged.
    Failed { wait: Duration, error: String },
    /// The collector does not accept this device's token (or there is none). Uploading stops
    /// until the device is provisioned again; everything is kept.
    Unauthorized { error: String },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    pub responses: usize,
    pub accepted: usize,
    pub duplicate: usize,
    pub rejected: usize,
    /// Bytes of the request body as sent (compressed).
    pub bytes_sent: usize,
}

pub struct Uploader {
    client: Client,
    settings: UploadSettings,
    facts: DeviceFacts,
    alarms: Alarms,
    backoff: Backoff,
    /// The current batch size ceiling: halved when the collector finds batches too large,
    /// grown back after each delivery.
    batch_limit: usize,
    byte_limit: u64,
    /// A batch claimed and sent but not answered: resent unchanged (same id, same
    /// responses) so the collector's idempotency key means the same thing each time.
    held: Option<Batch>,
    last_error: Option<String>,
    /// This boot's first synchronised clock reading is in the queue's database.
    boot_sync_kept: std::sync::atomic::AtomicBool,
}

/// Runs queue work on tokio's blocking threads: SQLite waits for the disk.
async fn on_disk<T: Send + 'static>(
    queue: &Arc<Queue>,
    f: impl FnOnce(&Queue) -> Result<T, crate::storage::StorageError> + Send + 'static,
) -> Result<T, String> {
    let queue = queue.clone();
    tokio::task::spawn_blocking(move || f(&queue).map_err(|e| e.to_string()))
        .await
        .unwrap_or_else(|e| Err(format!("storage task failed: {e}")))
}

impl Uploader {
    pub fn new(
        settings: UploadSettings,
        facts: DeviceFacts,
        alarms: Alarms,
    ) -> Result<Uploader, Problem> {
        Ok(Uploader {
            client: Client::new(&settings.client)?,
            batch_limit: settings.batch_max_responses,
            byte_limit: settings.batch_max_bytes,
            backoff: Backoff::new(fastrand::u64(..)),
            settings,
            facts,
            alarms,
            held: None,
            last_error: None,
            boot_sync_kept: std::sync::atomic::AtomicBool::new(false),
        })
    }

    pub fn settings(&self) -> &UploadSettings {
        &self.settings
    }

    fn token(&self) -> Result<String, String> {
        match token::read(&self.settings.token_path).map_err(|p| p.to_string())? {
            Some(t) => Ok(t),
            None => Err(format!(
                "this device has no token ({} is missing); provision it with `earshot provision --server URL --code CODE`",
                self.settings.token_path.display()
            )),
        }
    }

    /// The device's status as sent with each heartbeat.
    pub async fn status(&self, queue: &Arc<Queue>) -> DeviceStatus {
        self.status_with(queue, Vec::new()).await
    }

    /// The device's status as sent with `batch`: with what the device remembers of the
    /// clocks of earlier boots that responses in it were recorded in before their clock was
    /// synchronised, so that the collector can place them.
    pub async fn status_for(&self, queue: &Arc<Queue>, batch: &Batch) -> DeviceStatus {
        let current = crate::system::clock::boot_id();
        let mut boots: Vec<Uuid> = batch
            .records
            .iter()
            .filter(|r| !r.clock.synchronized)
            .filter_map(|r| r.clock.boot_id)
            .filter(|b| Some(*b) != current)
            .collect();
        boots.sort_unstable();
        boots.dedup();
        let earlier = if boots.is_empty() {
            Vec::new()
        } else {
            on_disk(queue, move |q| q.boot_syncs(&boots))
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "could not read earlier boots' clock readings");
                    Vec::new()
                })
        };
        self.status_with(queue, earlier).await
    }

    async fn status_with(
        &self,
        queue: &Arc<Queue>,
        earlier_boots: Vec<earshot_protocol::BootSync>,
    ) -> DeviceStatus {
        let stats = on_disk(queue, |q| q.stats()).await.unwrap_or_default();
        // Whether the clock is synchronised is asked first: when it becomes so, the clock is
        // set before the marker appears, so the readings after it are of the set clock.
        let synchronized = crate::system::clock::wall_synchronized();
        // Read together: with `synchronized`, the wall clock and the boot-time clock at one
        // moment place the boot's readings on true time.
        let now = SystemTime::now();
        let boot = crate::system::clock::boot_reading();
        let mono_ms = crate::system::clock::since_start().as_millis() as u64;
        if let (true, Some(boot)) = (synchronized, boot) {
            self.keep_boot_sync(queue, boot, now).await;
        }
        let now_ms = earshot_protocol::time::unix_ms(now);
        DeviceStatus {
            app_version: env!("CARGO_PKG_VERSION").into(),
            survey_id: self.facts.survey_id.clone(),
            survey_version: self.facts.survey_version.clone(),
            queue_depth: stats.pending + stats.claimed,
            oldest_unsent_age_s: stats
                .oldest_pending_created_ms
                .map(|created| (now_ms.saturating_sub(created).max(0) / 1000) as u64),
            dead_letters: stats.dead,
            scanner: (self.facts.scanner)(),
            hardware: self.facts.hardware.clone(),
            uptime_s: crate::system::clock::since_start().as_secs(),
            last_error: self.last_error.clone(),
            alarms: self
                .alarms
                .active()
                .iter()
                .map(|a| a.kind.code().to_string())
                .collect(),
            clock: DeviceClock {
                sent_at: crate::core::record::rfc3339(now),
                synchronized,
                run_id: crate::system::clock::run_id(),
                mono_ms,
                boot_id: boot.map(|b| b.id),
                boot_ms: boot.map(|b| b.elapsed.as_millis() as u64),
                earlier_boots,
            },
        }
    }

    /// Keeps this boot's first synchronised clock reading in the queue's database (once per
    /// run; a reading from an earlier run of the same boot stays), for a later boot to send.
    async fn keep_boot_sync(
        &self,
        queue: &Arc<Queue>,
        boot: crate::system::clock::BootReading,
        now: SystemTime,
    ) {
        use std::sync::atomic::Ordering;
        if self.boot_sync_kept.load(Ordering::Relaxed) {
            return;
        }
        match on_disk(queue, move |q| {
            q.remember_boot_sync(boot.id, boot.elapsed, now)
        })
        .await
        {
            Ok(new) => {
                self.boot_sync_kept.store(true, Ordering::Relaxed);
                if new {
                    tracing::info!(boot = %boot.id, boot_ms = boot.elapsed.as_millis() as u64,
                        "the clock is synchronised; this boot's clock reading is kept for responses recorded before");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not keep this boot's clock reading"),
        }
    }

    fn failed(&mut self, wait: Duration, error: String) -> Pass {
        tracing::warn!(%error, retry_in_ms = wait.as_millis() as u64, failures = self.backoff.failures(), "upload failed; will retry");
        if self.backoff.failures() >= 5 {
            self.alarms.raise(
                AlarmKind::UploadFailing,
                format!("responses cannot be uploaded: {error}"),
                "nothing is lost: responses wait on the device. Check the network and that the collector is running; the kiosk keeps trying",
            );
        }
        self.last_error = Some(error.clone());
        Pass::Failed { wait, error }
    }

    async fn put_back(&mut self, queue: &Arc<Queue>) {
        if let Some(batch) = self.held.take() {
            let id = batch.id;
            if let Err(e) = on_disk(queue, move |q| q.release(id)).await {
                // Still claimed on disk: released at the next start. Nothing is lost.
                tracing::warn!(error = %e, "could not release a batch");
            }
        }
    }

    /// Makes the next batch smaller after the collector refused one as too large or
    /// unacceptable; a batch of one that is still refused is set aside (dead-lettered) with
    /// the collector's reason, so one bad response never blocks the queue.
    async fn shrink_or_set_aside(&mut self, queue: &Arc<Queue>, reason: String) -> Pass {
        let Some(batch) = self.held.take() else {
            return Pass::Empty;
        };
        if batch.records.len() <= 1 {
            for record in &batch.records {
                let (id, why) = (record.id, format!("refused by the collector: {reason}"));
                tracing::error!(%id, %reason, "response refused by the collector; set aside (dead-lettered)");
                if let Err(e) = on_disk(queue, move |q| q.dead_letter(id, &why)).await {
                    self.held = Some(batch);
                    let wait = self.backoff.fail();
                    return self.failed(wait, format!("could not set a response aside: {e}"));
                }
            }
            self.raise_dead_letter_alarm();
            self.backoff.succeed();
            return Pass::Delivered(Delivery {
                responses: batch.records.len(),
                rejected: batch.records.len(),
                ..Delivery::default()
            });
        }
        self.batch_limit = (batch.records.len() / 2).max(1);
        self.byte_limit = (batch.bytes / 2).max(1);
        tracing::info!(limit = self.batch_limit, %reason, "collector refused the batch; sending smaller ones");
        self.held = Some(batch);
        self.put_back(queue).await;
        Pass::Failed {
            wait: Duration::ZERO,
            error: reason,
        }
    }

    fn raise_dead_letter_alarm(&self) {
        self.alarms.raise(
            AlarmKind::ResponsesRejected,
            "the collector refused some responses; they are kept on the device",
            "run `earshot queue export --state dead --out FILE` and send the file to the service team",
        );
    }

    /// One attempt: claim (or reuse) a batch, send it, settle what the collector answered.
    pub async fn pass(&mut self, queue: &Arc<Queue>) -> Pass {
        let token = match self.token() {
            Ok(t) => t,
            Err(error) => return self.unauthorized(queue, error).await,
        };
        if self.held.is_none() {
            let (count, bytes) = (self.batch_limit, self.byte_limit);
            match on_disk(queue, move |q| q.claim_batch(count, bytes)).await {
                Ok(Some(batch)) => self.held = Some(batch),
                Ok(None) => return Pass::Empty,
                Err(e) => {
                    let wait = self.backoff.fail();
                    return self.failed(wait, format!("cannot read the queue: {e}"));
                }
            }
        }
        let Some(batch) = self.held.as_ref() else {
            return Pass::Empty;
        };
        let status = self.status_for(queue, batch).await;
        let (batch_id, count) = (batch.id, batch.records.len());
        let result = self
            .client
            .send_batch(&token, batch_id, &batch.records, status)
            .await;
        match result {
            Ok((reply, bytes_sent)) => self.settle(queue, reply, bytes_sent).await,
            Err(SendError::Unauthorized(error)) => self.unauthorized(queue, error).await,
            Err(SendError::TooLarge(error)) | Err(SendError::Refused(error)) => {
                tracing::warn!(batch = %batch_id, count, %error, "collector refused the batch");
                self.shrink_or_set_aside(queue, error).await
            }
            Err(SendError::RetryAfter(after, error)) => {
                let wait = match after {
                    Some(after) => self.backoff.fail_with_retry_after(after),
                    None => self.backoff.fail(),
                };
                self.failed(wait, error)
            }
            Err(SendError::InProgress(error)) | Err(SendError::Transient(error)) => {
                let wait = self.backoff.fail();
                self.failed(wait, error)
            }
        }
    }

    async fn unauthorized(&mut self, queue: &Arc<Queue>, error: String) -> Pass {
        self.put_back(queue).await;
        tracing::error!(%error, "upload stopped: device not authorised");
        self.alarms.raise(
            AlarmKind::UploadUnauthorized,
            format!("device not authorised: {error}"),
            "provision it again: make a code with `earshot-collector enroll-code --site SITE` and run `earshot provision --server URL --code CODE`; responses are kept until then",
        );
        self.last_error = Some(error.clone());
        Pass::Unauthorized { error }
    }

    /// Acknowledges what the collector confirmed, sets aside what it rejected, and puts back
    /// anything its reply left out.
    async fn settle(
        &mut self,
        queue: &Arc<Queue>,
        reply: earshot_protocol::BatchReply,
        bytes_sent: usize,
    ) -> Pass {
        let Some(batch) = self.held.take() else {
            return Pass::Empty;
        };
        let ids: HashSet<Uuid> = batch.records.iter().map(|r| r.id).collect();
        let mut delivered = Vec::new();
        let mut rejected = Vec::new();
        let mut answered = HashSet::new();
        let mut delivery = Delivery {
            responses: batch.records.len(),
            bytes_sent,
            ..Delivery::default()
        };
        for item in &reply.results {
            let id = item
                .id
                .or_else(|| batch.records.get(item.index).map(|r| r.id));
            let Some(id) = id.filter(|id| ids.contains(id)) else {
                continue;
            };
            if !answered.insert(id) {
                continue;
            }
            match item.status {
                ItemStatus::Accepted => {
                    delivery.accepted += 1;
                    delivered.push(id);
                }
                ItemStatus::Duplicate => {
                    delivery.duplicate += 1;
                    delivered.push(id);
                }
                ItemStatus::Rejected => {
                    delivery.rejected += 1;
                    let reason = item
                        .reason
                        .as_ref()
                        .map(|r| format!("{}: {}", r.code, r.message))
                        .unwrap_or_else(|| "no reason given".into());
                    rejected.push((id, reason));
                }
            }
        }
        let batch_id = batch.id;
        let rejected_any = !rejected.is_empty();
        let settled = on_disk(queue, move |q| {
            for (id, reason) in &rejected {
                q.dead_letter(*id, &format!("rejected by the collector: {reason}"))?;
            }
            q.ack(batch_id, &delivered)?;
            q.release(batch_id)
        })
        .await;
        if rejected_any {
            self.raise_dead_letter_alarm();
        }
        match settled {
            Err(e) => {
                // The collector has them; a later resend is answered "duplicate".
                let wait = self.backoff.fail();
                self.failed(wait, format!("delivered, but could not record it: {e}"))
            }
            Ok(_) if answered.len() < ids.len() => {
                let wait = self.backoff.fail();
                self.failed(
                    wait,
                    format!(
                        "the collector's reply covered only {} of {} responses; the rest will be sent again",
                        answered.len(),
                        ids.len()
                    ),
                )
            }
            Ok(_) => {
                self.backoff.succeed();
                self.last_error = None;
                self.alarms.clear(AlarmKind::UploadFailing);
                self.alarms.clear(AlarmKind::UploadUnauthorized);
                self.batch_limit = (self.batch_limit * 2).min(self.settings.batch_max_responses);
                self.byte_limit = (self.byte_limit * 2).min(self.settings.batch_max_bytes);
                Pass::Delivered(delivery)
            }
        }
    }

    /// Tells the collector the device is alive when there is nothing to upload.
    pub async fn heartbeat(&mut self, queue: &Arc<Queue>) -> Result<(), SendError> {
        let token = self.token().map_err(SendError::Unauthorized)?;
        let status = self.status(queue).await;
        self.client.send_status(&token, status).await
    }
}

/// Where the uploader finds the queue: the kiosk's store once it is open.
pub type QueueSource = Arc<dyn Fn() -> Option<Arc<Queue>> + Send + Sync>;

/// Starts the uploader on its own thread. `wake` is notified after each stored response.
pub fn spawn(mut uploader: Uploader, queue: QueueSource, wake: Arc<Notify>) -> std::io::Result<()> {
    std::thread::Builder::new().name("upload".into()).spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "cannot start the upload runtime; responses stay queued");
                return;
            }
        };
        runtime.block_on(async move {
            if crate::system::service::watchdog_interval().is_some() {
                // Runs between the upload loop's awaits: if a pass ever blocks the runtime,
                // the beats stop and systemd restarts the kiosk.
                tokio::spawn(async {
                    let mut beat = tokio::time::interval(crate::system::service::BEAT);
                    loop {
                        beat.tick().await;
                        crate::system::service::liveness().uploader_beat();
                    }
                });
            }
            run(&mut uploader, queue, wake).await
        });
    })?;
    Ok(())
}

/// The upload loop. Never returns: transient failures are retried for as long as it takes.
pub async fn run(uploader: &mut Uploader, queue: QueueSource, wake: Arc<Notify>) {
    let heartbeat = uploader.settings.heartbeat;
    let debounce = uploader.settings.debounce;
    // Uploads drain at start: responses may have waited through a power cut.
    let mut last_contact = tokio::time::Instant::now() - heartbeat;
    loop {
        let Some(q) = queue() else {
            tokio::time::sleep(Duration::from_secs(5)).await;
            continue;
        };
        match uploader.pass(&q).await {
            Pass::Delivered(d) => {
                last_contact = tokio::time::Instant::now();
                tracing::info!(
                    responses = d.responses,
                    accepted = d.accepted,
                    duplicate = d.duplicate,
                    rejected = d.rejected,
                    bytes = d.bytes_sent,
                    "batch delivered"
                );
            }
            Pass::Failed { wait, .. } => tokio::time::sleep(wait).await,
            Pass::Unauthorized { .. } => {
                // Resume once the token file changes (the device was provisioned again).
                let before = token::read(&uploader.settings.token_path).ok().flatten();
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(10)) => {}
                        _ = wake.notified() => {}
                    }
                    let now = token::read(&uploader.settings.token_path).ok().flatten();
                    if now.is_some() && now != before {
                        tracing::info!("a new device token was found; uploading again");
                        break;
                    }
                }
            }
            Pass::Empty => {
                if last_contact.elapsed() >= heartbeat {
                    match uploader.heartbeat(&q).await {
                        Ok(()) => last_contact = tokio::time::Instant::now(),
                        Err(e) => tracing::warn!(error = %e.message(), "heartbeat not delivered"),
                    }
                }
                tokio::select! {
                    _ = wake.notified() => tokio::time::sleep(debounce).await,
                    _ = tokio::time::sleep(heartbeat) => {}
                }
            }
        }
    }
}
