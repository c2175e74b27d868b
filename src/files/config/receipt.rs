//! `[receipt]`, read: the patterns a scan is tried against, what is kept of a receipt, how
//! old one may be, and where the deployment's secret is kept.

use std::path::PathBuf;
use std::time::Duration;

use super::{raw, state_dir};
use crate::core::problem::Problem;
use crate::core::receipt::{
    example_patterns, CheckRule, DateFormat, ReceiptPattern, ReceiptRules, ReceiptStorage,
};

/// `[receipt]` ready for use: everything but the secret, which is read from its file.
#[derive(Debug, Clone)]
pub struct ReceiptConfig {
    /// Tried in order; the shipped examples (docs/receipts.md) when the file has none.
    pub patterns: Vec<ReceiptPattern>,
    pub storage: ReceiptStorage,
    /// Receipts older than this many days are politely refused.
    pub max_age_days: u32,
    /// The file holding the deployment's receipt secret, resolved against the state directory.
    pub secret_file: PathBuf,
}

impl ReceiptConfig {
    pub(super) fn read(raw: raw::ReceiptConfig) -> Result<ReceiptConfig, Problem> {
        let storage = store(&raw.store)?;
        let patterns = if raw.patterns.is_empty() {
            example_patterns()
        } else {
            raw.patterns.iter().map(pattern).collect::<Result<_, _>>()?
        };
        Ok(ReceiptConfig {
            patterns,
            storage,
            max_age_days: raw.max_age_days,
            secret_file: raw
                .secret_file
                .unwrap_or_else(|| state_dir().join("receipt-secret")),
        })
    }

    /// How scans are understood, under the given secret.
    pub fn rules(&self, secret: Vec<u8>) -> ReceiptRules {
        ReceiptRules {
            patterns: self.patterns.clone(),
            max_age_days: i64::from(self.max_age_days),
            storage: self.storage,
            secret,
        }
    }

    /// How long a used receipt is remembered: its whole age window, counted from the day it
    /// was used (never earlier than its own date), plus a day for time zones.
    pub fn memory(&self) -> Duration {
        Duration::from_secs((u64::from(self.max_age_days) + 1) * 86_400)
    }
}

/// `store`: "hmac" keeps only a keyed hash of the transaction, "raw" what was read.
fn store(text: &str) -> Result<ReceiptStorage, Problem> {
    match text {
        "hmac" => Ok(ReceiptStorage::Hmac),
        "raw" => Ok(ReceiptStorage::Raw),
        other => Err(Problem::new(format!(
            "[receipt] store = {other:?}: use \"hmac\" (keeps only a keyed hash) or \"raw\""
        ))),
    }
}

/// One `[[receipt.patterns]]`; every problem names the pattern and the fix.
fn pattern(p: &raw::ReceiptPatternConfig) -> Result<ReceiptPattern, Problem> {
    let check = match p.check.as_deref() {
        None => None,
        Some("luhn") | Some("mod10") => Some((CheckRule::Luhn, p.check_group.as_str())),
        Some("gs1") => Some((CheckRule::Gs1, p.check_group.as_str())),
        Some(other) => {
            return Err(Problem::new(format!(
                "[[receipt.patterns]] {:?}: check = {other:?} is not \"luhn\" or \"gs1\"",
                p.name
            )))
        }
    };
    let date_format = match p.date_format.as_str() {
        "yyyymmdd" => DateFormat::YearMonthDay,
        "yymmdd" => DateFormat::ShortYearMonthDay,
        "yyyy-mm-dd" => DateFormat::Iso,
        other => {
            return Err(Problem::new(format!(
                "[[receipt.patterns]] {:?}: date_format = {other:?} is not yyyymmdd, yymmdd or yyyy-mm-dd",
                p.name
            )))
        }
    };
    ReceiptPattern::new(&p.name, &p.regex, check, date_format)
        .map_err(|e| e.within("[[receipt.patterns]] "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn till(check: Option<&str>, date_format: &str) -> raw::ReceiptPatternConfig {
        raw::ReceiptPatternConfig {
            name: "till".into(),
            regex: r"^T(?P<txn>\d{6})(?P<date>\d{8})\d$".into(),
            check: check.map(str::to_string),
            check_group: "whole".into(),
            date_format: date_format.into(),
        }
    }

    #[test]
    fn without_patterns_the_examples_are_used_and_kept_keyed() {
        let r = ReceiptConfig::read(raw::ReceiptConfig::default()).unwrap();
        assert_eq!(r.patterns.len(), 3);
        assert_eq!(r.storage, ReceiptStorage::Hmac);
        assert_eq!(r.memory(), Duration::from_secs(31 * 86_400));
        assert_eq!(r.rules(vec![1]).max_age_days, 30);
    }

    #[test]
    fn the_store_is_hmac_or_raw() {
        assert_eq!(store("raw"), Ok(ReceiptStorage::Raw));
        let e = store("plain").unwrap_err().to_string();
        assert_eq!(
            e,
            "[receipt] store = \"plain\": use \"hmac\" (keeps only a keyed hash) or \"raw\""
        );
    }

    #[test]
    fn a_check_digit_is_luhn_or_gs1() {
        assert!(pattern(&till(Some("luhn"), "yyyymmdd")).is_ok());
        assert!(pattern(&till(Some("gs1"), "yyyymmdd")).is_ok());
        let e = pattern(&till(Some("crc"), "yyyymmdd")).unwrap_err();
        assert!(e.contains("\"till\"") && e.contains("luhn"), "{e}");
    }

    #[test]
    fn a_date_format_is_one_of_three() {
        for format in ["yyyymmdd", "yymmdd", "yyyy-mm-dd"] {
            assert!(pattern(&till(None, format)).is_ok(), "{format}");
        }
        let e = pattern(&till(None, "ddmmyy")).unwrap_err();
        assert!(e.contains("is not yyyymmdd, yymmdd or yyyy-mm-dd"), "{e}");
    }

    #[test]
    fn a_pattern_is_a_valid_expression_named_in_the_problem() {
        let bad = raw::ReceiptPatternConfig {
            name: "bad".into(),
            regex: r"^(?P<txn>\d+".into(),
            ..till(None, "yyyymmdd")
        };
        let e = pattern(&bad).unwrap_err().to_string();
        assert!(
            e.starts_with("[[receipt.patterns]] ")
                && e.contains("\"bad\"")
                && e.contains("not valid"),
            "{e}"
        );
    }
}
