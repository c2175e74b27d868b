//! One file per screen. Each fills its adapter global from the core's view of what is shown
//! and connects the adapter's callbacks to events for the core; the bridge only chooses
//! which screen is up.

use std::rc::Rc;

use slint::{Model, ModelRc, SharedString, VecModel};

use super::{Bridge, ChoiceItem, MainWindow, Screen};
use crate::core::step_view::{OptionView, StepView};
use crate::core::visit::Event;

pub(super) mod attract;
pub(super) mod choice;
pub(super) mod contact;
pub(super) mod frame;
pub(super) mod free_text;
pub(super) mod language;
pub(super) mod rating;
pub(super) mod reasons;
pub(super) mod receipt;
pub(super) mod still_there;
pub(super) mod thanks;

/// Connects every screen's callbacks to the core.
pub(super) fn connect(window: &MainWindow, bridge: &Rc<Bridge>) {
    frame::connect(window, bridge);
    attract::connect(window, bridge);
    language::connect(window, bridge);
    choice::connect(window, bridge);
    reasons::connect(window, bridge);
    rating::connect(window, bridge);
    free_text::connect(window, bridge);
    contact::connect(window, bridge);
    still_there::connect(window, bridge);
    thanks::connect(window, bridge);
}

/// Fills the screen of the step being answered and says which screen that is.
pub(super) fn fill_step(window: &MainWindow, view: &StepView) -> Screen {
    match view {
        StepView::Choice {
            question,
            options,
            multiple,
        } => {
            choice::fill(window, question, options, *multiple);
            Screen::Choice
        }
        StepView::Rating {
            question,
            scale,
            selected,
        } => {
            rating::fill(window, question, *scale, *selected);
            Screen::Rating
        }
        StepView::Reasons {
            multiple,
            set,
            rating_scale,
        } => {
            reasons::fill(window, *multiple, set.as_ref(), *rating_scale);
            Screen::Reasons
        }
        StepView::Text {
            question,
            text,
            remaining,
        } => {
            free_text::fill(window, question, text, *remaining);
            Screen::Text
        }
        StepView::Contact {
            question,
            consent,
            draft,
        } => {
            contact::fill(window, question, consent, draft.as_ref());
            Screen::Contact
        }
        StepView::Receipt {
            prompt,
            required,
            scanned,
        } => {
            receipt::fill(window, prompt, *required, *scanned);
            Screen::Receipt
        }
    }
}

// Each callback holds a weak reference: the window owns the callbacks, the bridge owns a
// weak window, and nothing keeps the other alive in a cycle.

/// A callback that runs `f` with the bridge, while there is one.
fn with_bridge(bridge: &Rc<Bridge>, f: impl Fn(&Rc<Bridge>) + 'static) -> impl Fn() + 'static {
    let weak = Rc::downgrade(bridge);
    move || {
        if let Some(b) = weak.upgrade() {
            f(&b);
        }
    }
}

/// A callback that sends `event`.
fn sends(bridge: &Rc<Bridge>, event: Event) -> impl Fn() + 'static {
    with_bridge(bridge, move |b| b.send(event.clone()))
}

/// A callback taking a string (an option id, a key, a language code) that sends the event
/// `event` makes of it.
fn sends_with<T: 'static>(bridge: &Rc<Bridge>, event: fn(T) -> Event) -> impl Fn(T) + 'static {
    let weak = Rc::downgrade(bridge);
    move |value| {
        if let Some(b) = weak.upgrade() {
            b.send(event(value));
        }
    }
}

/// A tapped option of a single choice.
fn pick(id: SharedString) -> Event {
    Event::Pick(id.into())
}

/// A tapped option of a multiple choice.
fn toggle(id: SharedString) -> Event {
    Event::Toggle(id.into())
}

fn choice_items(options: &[OptionView]) -> ModelRc<ChoiceItem> {
    let items: Vec<ChoiceItem> = options
        .iter()
        .map(|o| ChoiceItem {
            id: o.id.as_str().into(),
            label: o.label.as_str().into(),
            selected: o.selected,
        })
        .collect();
    ModelRc::new(VecModel::from(items))
}

/// Replaces a model's rows in place when it has the same length (so that a toggle does not
/// rebuild the tiles and restart their animations), else sets a new model.
fn set_items(
    set: impl Fn(ModelRc<ChoiceItem>),
    current: ModelRc<ChoiceItem>,
    new: ModelRc<ChoiceItem>,
) {
    if current.row_count() == new.row_count() && current.row_count() > 0 {
        let same_ids = (0..new.row_count())
            .all(|i| current.row_data(i).map(|c| c.id) == new.row_data(i).map(|n| n.id));
        if same_ids {
            for i in 0..new.row_count() {
                if let Some(row) = new.row_data(i) {
                    if current.row_data(i).as_ref() != Some(&row) {
                        current.set_row_data(i, row);
                    }
                }
            }
            return;
        }
    }
    set(new);
}

/// The window, for screens whose callbacks read their own adapter back.
fn window_of(bridge: &Bridge) -> Option<MainWindow> {
    bridge.window.upgrade()
}
