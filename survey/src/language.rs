//! Languages the kiosk's own interface is translated into, and text given per language.

use std::collections::BTreeMap;

/// A language the interface strings are translated into: its code (the folder name under
/// `ui/translations/`, also used in survey files) and its name in that language, which is
/// how it is shown on the language screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterfaceLanguage {
    pub code: &'static str,
    pub native_name: &'static str,
}

/// Every language the interface is translated into. A survey may declare only these.
///
/// A language written in Thai, Lao, Khmer or Burmese script needs more than a translation:
/// its words run on without spaces, and the kiosk's text layout breaks such lines only with
/// dictionaries that the build leaves out (vendor/README.md says how to bring them back).
pub const INTERFACE_LANGUAGES: &[InterfaceLanguage] = &[
    InterfaceLanguage {
        code: "en",
        native_name: "English",
    },
    InterfaceLanguage {
        code: "zh_CN",
        native_name: "中文",
    },
    InterfaceLanguage {
        code: "cy",
        native_name: "Cymraeg",
    },
    InterfaceLanguage {
        code: "pl",
        native_name: "Polski",
    },
];

pub fn interface_language(code: &str) -> Option<&'static InterfaceLanguage> {
    INTERFACE_LANGUAGES.iter().find(|l| l.code == code)
}

/// A visible string given once per declared language. Validation guarantees that every
/// language the survey declares is present, so lookups for a declared language never miss.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Localized(pub BTreeMap<String, String>);

impl Localized {
    /// The text in `language`, or in `fallback` (the survey's default language) if missing.
    pub fn get<'a>(&'a self, language: &str, fallback: &str) -> &'a str {
        self.0
            .get(language)
            .or_else(|| self.0.get(fallback))
            .map(String::as_str)
            .unwrap_or("")
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Localized(
            pairs
                .into_iter()
                .map(|(l, t)| (l.to_string(), t.to_string()))
                .collect(),
        )
    }
}
