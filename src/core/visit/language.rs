//! The language screen: opened over whatever is shown, in any phase, and closed again by a
//! choice or without one. Each is a touch, so it keeps the visit (or the attract screen's
//! choice) alive.

use super::{changed, Kiosk, Reaction};

impl Kiosk {
    pub(super) fn show_languages(&mut self, open: bool) -> Reaction {
        self.language_open = open;
        self.touch(self.now);
        changed()
    }

    pub(super) fn choose_language(&mut self, code: String) -> Reaction {
        // A language the survey does not have keeps the one in use; the screen closes anyway.
        if self.survey.languages.contains(&code) {
            self.language = code;
        }
        self.show_languages(false)
    }
}
