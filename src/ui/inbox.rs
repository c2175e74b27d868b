//! What the kiosk's other threads send back to the UI thread: a scan from the scanner's
//! reader, the storage worker's verdict on a finished visit, a change of alarms, the wake
//! input. Each is a [`UiMessage`], posted through an [`Inbox`] with Slint's
//! `upgrade_in_event_loop`, and handled by the bridge on the UI thread.
//!
//! Invariants:
//! - Posting never blocks and never touches the UI from another thread: the message is moved
//!   into the event loop, which runs it when it next turns.
//! - A message for a window that is gone (the kiosk shut down, or a test's kiosk dropped) is
//!   dropped, never delivered to another window's bridge.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use slint::ComponentHandle;

use super::{Bridge, MainWindow};
use crate::core::record::Outcome;
use crate::seams::sink::StoreResult;

/// A result or an input arriving from another thread.
pub(super) enum UiMessage {
    /// A code read by the scanner.
    Scanned(String),
    /// The storage worker's verdict on a finished visit.
    Stored {
        id: uuid::Uuid,
        outcome: Outcome,
        result: StoreResult,
    },
    /// The set of active alarms changed: the status light follows.
    AlarmsChanged,
    /// The wake input (a button or a motion sensor) fired.
    Wake,
}

/// Where other threads post [`UiMessage`]s for one window. Cheap to clone and `Send`.
#[derive(Clone)]
pub(super) struct Inbox {
    window: slint::Weak<MainWindow>,
    /// Which bridge on the UI thread handles this inbox's messages.
    number: u64,
}

thread_local! {
    /// The bridges of the windows on this (the UI) thread, each by the number of its inbox,
    /// so that a message reaches the bridge of the window it was posted for.
    static BRIDGES: RefCell<Vec<(u64, Weak<Bridge>)>> = const { RefCell::new(Vec::new()) };
}

static NEXT_NUMBER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Inbox {
    /// The inbox of `window`. Called on the UI thread; its messages wait for
    /// [`Inbox::deliver_to`] to name the bridge that handles them.
    pub(super) fn of(window: &MainWindow) -> Inbox {
        Inbox {
            window: window.as_weak(),
            number: NEXT_NUMBER.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// From now on `bridge` handles this inbox's messages. Called on the UI thread.
    pub(super) fn deliver_to(&self, bridge: &Rc<Bridge>) {
        BRIDGES.with(|b| {
            let mut bridges = b.borrow_mut();
            bridges.retain(|(_, bridge)| bridge.strong_count() > 0);
            bridges.push((self.number, Rc::downgrade(bridge)));
        });
    }

    /// Hands `message` to the UI thread. From any thread; never waits.
    pub(super) fn post(&self, message: UiMessage) {
        let number = self.number;
        // The window itself is not needed, only that it still exists.
        let posted = self.window.upgrade_in_event_loop(move |_window| {
            if let Some(bridge) = bridge_numbered(number) {
                bridge.handle(message);
            }
        });
        if let Err(e) = posted {
            tracing::warn!(error = %e, "the UI has stopped; a result could not be shown");
        }
    }
}

/// The bridge whose inbox has `number`, if it is still there.
fn bridge_numbered(number: u64) -> Option<Rc<Bridge>> {
    BRIDGES.with(|b| {
        b.borrow()
            .iter()
            .find(|(n, _)| *n == number)
            .and_then(|(_, bridge)| bridge.upgrade())
    })
}

impl Bridge {
    /// Handles a message from another thread, on the UI thread.
    fn handle(self: &Rc<Self>, message: UiMessage) {
        match message {
            UiMessage::Scanned(code) => self.scan(code),
            UiMessage::Stored {
                id,
                outcome,
                result,
            } => self.stored(id, outcome, result),
            UiMessage::AlarmsChanged => self.update_light(),
            UiMessage::Wake => self.wake(),
        }
    }
}
