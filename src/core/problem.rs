//! The one type for messages to people: what is wrong and, where there is one, what to do
//! about it. Shown as "<what>. Fix: <fix>", or "<what>" alone when the words already say
//! what to do. Typed errors that callers match on (`ConfigError`, `StorageError`, …) stay
//! enums and become a `Problem` where they are shown.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    what: String,
    fix: Option<String>,
}

impl Problem {
    /// A problem whose words need no separate fix (or carry it already).
    pub fn new(what: impl Into<String>) -> Problem {
        Problem {
            what: what.into(),
            fix: None,
        }
    }

    /// A problem and what the person can do about it.
    pub fn with_fix(what: impl Into<String>, fix: impl Into<String>) -> Problem {
        Problem {
            what: what.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn what(&self) -> &str {
        &self.what
    }

    pub fn fix(&self) -> Option<&str> {
        self.fix.as_deref()
    }

    /// The same problem with `prefix` before what is wrong, e.g. the setting it is in.
    pub fn within(self, prefix: &str) -> Problem {
        Problem {
            what: format!("{prefix}{}", self.what),
            fix: self.fix,
        }
    }

    /// Whether the shown message contains `text` (for tests and callers that look).
    pub fn contains(&self, text: &str) -> bool {
        self.to_string().contains(text)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)?;
        if let Some(fix) = &self.fix {
            write!(f, ". Fix: {fix}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

/// Messages written as one sentence already.
impl From<String> for Problem {
    fn from(what: String) -> Problem {
        Problem::new(what)
    }
}

impl From<&str> for Problem {
    fn from(what: &str) -> Problem {
        Problem::new(what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_alone_is_its_words() {
        assert_eq!(
            Problem::new("the disk is full").to_string(),
            "the disk is full"
        );
    }

    #[test]
    fn a_fix_follows_the_problem() {
        assert_eq!(
            Problem::with_fix("the disk is full", "make room").to_string(),
            "the disk is full. Fix: make room"
        );
    }

    #[test]
    fn a_prefix_goes_before_what_is_wrong_not_the_fix() {
        let p = Problem::with_fix("too big", "use less").within("[upload] ");
        assert_eq!(p.to_string(), "[upload] too big. Fix: use less");
        assert_eq!(p.fix(), Some("use less"));
    }
}
