//! The people who use the workspace: their e-mail, role and password, parsed once at the edge.
//! Pure but for hashing: no storage here.
//!
//! Invariants:
//! - Roles are ordered: a viewer reads results and the fleet; a case handler also works cases
//!   and sees contact details; an admin also manages users, sites, devices and surveys. A
//!   role "at least R" is checked on the server for every page and action.
//! - A password is kept only as an argon2id hash (salted, the crate's recommended cost); it
//!   is compared only through the hash's own verification.

use std::fmt;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Viewer,
    CaseHandler,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::CaseHandler, Role::Admin];

    pub fn parse(text: &str) -> Result<Role, String> {
        match text.trim() {
            "viewer" => Ok(Role::Viewer),
            "case-handler" => Ok(Role::CaseHandler),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "role {:?} is not one of admin, case-handler, viewer",
                earshot_protocol::text::visible(other)
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::CaseHandler => "case-handler",
            Role::Admin => "admin",
        }
    }

    /// How the role reads on a page.
    pub fn label(self) -> &'static str {
        match self {
            Role::Viewer => "Viewer",
            Role::CaseHandler => "Case handler",
            Role::Admin => "Admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An e-mail address as people type it: trimmed, one `@` with text on both sides, no spaces
/// or control characters, at most 254 characters. Compared without case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(text: &str) -> Result<Email, String> {
        let text = text.trim();
        let well_formed = text.len() <= 254
            && !text.chars().any(|c| c.is_whitespace() || c.is_control())
            && matches!(text.split_once('@'), Some((local, domain))
                if !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
        if well_formed {
            Ok(Email(text.to_string()))
        } else {
            Err(format!(
                "{:?} is not an e-mail address such as lead@council.example",
                earshot_protocol::text::visible(text)
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new password: 10 to 1,024 characters. Long passphrases are welcome; nothing else is
/// demanded of it, as current guidance advises.
pub struct NewPassword(String);

pub const MIN_PASSWORD_CHARS: usize = 10;

impl NewPassword {
    pub fn parse(text: &str) -> Result<NewPassword, String> {
        let text = text.trim_end_matches(['\r', '\n']);
        let n = text.chars().count();
        if n < MIN_PASSWORD_CHARS {
            return Err(format!(
                "the password has {n} characters; use at least {MIN_PASSWORD_CHARS} (a few words \
                 make a good one)"
            ));
        }
        if text.len() > 1024 {
            return Err("the password is over 1,024 bytes".into());
        }
        Ok(NewPassword(text.to_string()))
    }

    /// The argon2id hash to store, in PHC string form.
    pub fn hash(&self) -> Result<String, String> {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(self.0.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| format!("cannot hash the password: {e}"))
    }
}

/// Whether `password` is the one `stored` (a PHC string) was made from.
pub fn password_matches(stored: &str, password: &str) -> bool {
    PasswordHash::new(stored)
        .map(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when no account has the e-mail given, so that a sign-in for an
/// unknown address costs the same time as one with a wrong password.
pub fn decoy_hash() -> &'static str {
    use std::sync::OnceLock;
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        NewPassword::parse("decoy password, never a real one")
            .and_then(|p| p.hash())
            .unwrap_or_default()
    })
}

/// A signed-in person, as pages see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub role: Role,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_read_as_written_and_are_ordered() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert!(Role::parse("root").is_err());
        assert!(Role::Admin > Role::CaseHandler && Role::CaseHandler > Role::Viewer);
    }

    #[test]
    fn an_email_needs_one_at_sign_and_no_spaces() {
        assert!(Email::parse(" lead@council.example ").is_ok());
        for bad in ["lead", "@x", "a@", "a b@c", "a@b@c", "a\u{1b}@c"] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_short_password_is_refused_with_the_minimum_named() {
        let e = NewPassword::parse("short").err().unwrap();
        assert!(e.contains("at least 10"), "{e}");
        assert!(NewPassword::parse("correct horse battery").is_ok());
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = NewPassword::parse("correct horse battery")
            .unwrap()
            .hash()
            .unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(password_matches(&hash, "correct horse battery"));
        assert!(!password_matches(&hash, "correct horse batterY"));
        assert!(!password_matches("not a hash", "x"));
    }
}
