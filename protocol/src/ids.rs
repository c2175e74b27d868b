//! Names that cross the network and end up in logs, terminals, file names and web pages:
//! device ids, site ids, alarm codes and device tokens. Each is a newtype with one fallible
//! constructor, so that a value of the type is known to be well formed wherever it goes.
//!
//! Invariants:
//! - A `DeviceId` or `SiteId` is 1 to 64 ASCII letters, digits, `-`, `_` or `.`, starting with
//!   a letter or digit: a hostname fits, and nothing in it can move a terminal's cursor,
//!   reorder text (bidirectional overrides) or hide (zero-width characters).
//! - An `AlarmCode` is 1 to 64 lowercase ASCII letters, digits and `-`, starting with a letter.
//! - A `DeviceToken` is 16 to 256 characters of RFC 7235's token68 alphabet, so it fits an
//!   `Authorization: Bearer` header as it is.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a name was refused, in words for the person who chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdError {
    pub what: &'static str,
    pub problem: String,
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.what, self.problem)
    }
}

impl std::error::Error for IdError {}

pub const MAX_NAME_CHARS: usize = 64;

/// The shared rule of device and site ids.
fn check_name(what: &'static str, text: &str) -> Result<(), IdError> {
    let fail = |problem: String| Err(IdError { what, problem });
    if text.is_empty() {
        return fail("is empty; give a name such as library-lobby-1".into());
    }
    if text.chars().count() > MAX_NAME_CHARS {
        return fail(format!(
            "{} is longer than {MAX_NAME_CHARS} characters",
            crate::text::visible(text)
        ));
    }
    if let Some(bad) = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return fail(format!(
            "{} has {}; use only letters a-z, digits, '-', '_' and '.'",
            crate::text::visible(text),
            crate::text::describe_char(bad)
        ));
    }
    if !text.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return fail(format!("{text:?} must start with a letter or a digit"));
    }
    Ok(())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The only way to make one.
            pub fn parse(text: &str) -> Result<$name, IdError> {
                let check: fn(&'static str, &str) -> Result<(), IdError> = $check;
                check($what, text)?;
                Ok($name(text.to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<$name, IdError> {
                $name::parse(s)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

name_type!(
    /// A kiosk's id, unique in the fleet, e.g. `library-lobby-1`.
    DeviceId,
    "the device id",
    check_name
);

name_type!(
    /// A site's id, e.g. `central-library`.
    SiteId,
    "the site id",
    check_name
);

name_type!(
    /// A staff alarm's stable code, e.g. `storage-nearly-full`.
    AlarmCode,
    "the alarm code",
    |what, text| {
        let fail = |problem: String| Err(IdError { what, problem });
        if text.is_empty() || text.len() > MAX_NAME_CHARS {
            return fail(format!(
                "{} must be 1 to {MAX_NAME_CHARS} characters",
                crate::text::visible(text)
            ));
        }
        if !text.starts_with(|c: char| c.is_ascii_lowercase())
            || !text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return fail(format!(
                "{} must be lowercase letters, digits and '-', starting with a letter",
                crate::text::visible(text)
            ));
        }
        Ok(())
    }
);

name_type!(
    /// The bearer token a collector gives a device at enrolment. Its `Debug` form is the
    /// type's, like every other; never log one.
    DeviceToken,
    "the device token",
    |what, text| {
        let fail = |problem: &str| Err(IdError { what, problem: problem.to_string() });
        if !(16..=256).contains(&text.len()) {
            return fail("must be 16 to 256 characters");
        }
        if !text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b))
        {
            return fail("has characters a bearer token cannot have");
        }
        Ok(())
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_and_site_ids_take_hostnames() {
        for ok in ["library-lobby-1", "k", "Pi4.local", "site_7", "0ne"] {
            assert_eq!(DeviceId::parse(ok).unwrap().as_str(), ok);
            assert!(SiteId::parse(ok).is_ok());
        }
    }

    #[test]
    fn an_empty_id_is_refused() {
        let e = DeviceId::parse("").unwrap_err();
        assert!(e.to_string().contains("is empty"), "{e}");
    }

    #[test]
    fn an_id_over_64_characters_is_refused() {
        assert!(DeviceId::parse(&"a".repeat(64)).is_ok());
        let e = SiteId::parse(&"a".repeat(65)).unwrap_err();
        assert!(e.to_string().contains("longer than 64"), "{e}");
    }

    #[test]
    fn control_bidi_and_zero_width_characters_are_refused_and_named() {
        for (bad, named) in [
            ("kiosk\u{1b}[2J", "U+001B"),
            ("kiosk\u{202e}1", "U+202E"),
            ("kio\u{200b}sk", "U+200B"),
            ("kiosk 1", "a space"),
            ("kiosk/1", "'/'"),
            ("kiösk", "U+00F6"),
        ] {
            let e = DeviceId::parse(bad).unwrap_err().to_string();
            assert!(e.contains(named), "{bad:?}: {e}");
            // The message itself never carries the character raw.
            assert!(
                !e.chars()
                    .any(|c| c.is_control() || ('\u{200b}'..='\u{206f}').contains(&c)),
                "{e:?}"
            );
        }
    }

    #[test]
    fn an_id_must_start_with_a_letter_or_digit() {
        assert!(DeviceId::parse("-rm").is_err());
        assert!(DeviceId::parse(".hidden").is_err());
    }

    #[test]
    fn alarm_codes_are_lowercase_kebab_case() {
        assert!(AlarmCode::parse("storage-nearly-full").is_ok());
        assert!(AlarmCode::parse("receipt-secret-replaced").is_ok());
        for bad in ["", "Storage", "1st", "a b", "x\u{1b}[31m", &"a".repeat(65)] {
            assert!(AlarmCode::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tokens_are_header_safe_and_of_sane_length() {
        assert!(DeviceToken::parse(&"ab12".repeat(16)).is_ok());
        assert!(DeviceToken::parse("short").is_err());
        assert!(DeviceToken::parse(&"a".repeat(257)).is_err());
        assert!(DeviceToken::parse(&format!("{}\r\nX: y", "a".repeat(20))).is_err());
        assert!(DeviceToken::parse(&format!("{} b", "a".repeat(20))).is_err());
    }

    #[test]
    fn deserialising_applies_the_same_rules() {
        let ok: DeviceId = serde_json::from_str("\"kiosk-1\"").unwrap();
        assert_eq!(ok, *"kiosk-1");
        let e = serde_json::from_str::<DeviceId>("\"kiosk\\u202e\"").unwrap_err();
        assert!(e.to_string().contains("U+202E"), "{e}");
        assert_eq!(serde_json::to_string(&ok).unwrap(), "\"kiosk-1\"");
    }
}
