//! Untrusted text made safe to show on a terminal: a kiosk's status, an id from an old
//! database, a reason from a server. Every character that could act instead of being read
//! is shown as its code point, so what an operator sees is exactly what was sent.

/// Whether `c` would do something on a terminal or in a line of text instead of showing:
/// C0 and C1 controls and DEL (escape sequences, carriage returns, bells), bidirectional
/// embeddings, overrides, isolates and marks (text shown in another order than stored), and
/// zero-width and separator characters (text that hides or breaks lines).
pub fn is_invisible_or_active(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2069}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

/// `text` with every such character replaced by `\u{XXXX}` (and a backslash doubled, so the
/// escape cannot be faked). Everything else, accents and Chinese included, stays as it is.
pub fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if is_invisible_or_active(c) {
            out.push_str(&format!("\\u{{{:04x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// A character named for an error message: a space, `'/'`, or its code point when it is
/// invisible or not ASCII.
pub fn describe_char(c: char) -> String {
    match c {
        ' ' => "a space".into(),
        c if c.is_ascii_graphic() => format!("{c:?}"),
        c => format!("the character U+{:04X}", c as u32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_bidi_and_zero_width_become_code_points() {
        assert_eq!(visible("ok\u{1b}[2J"), "ok\\u{001b}[2J");
        assert_eq!(visible("a\u{202e}b"), "a\\u{202e}b");
        assert_eq!(visible("a\u{200b}b\u{feff}"), "a\\u{200b}b\\u{feff}");
        assert_eq!(
            visible("line\r\nnext\u{9b}"),
            "line\\u{000d}\\u{000a}next\\u{009b}"
        );
        assert_eq!(visible("\u{7f}"), "\\u{007f}");
    }

    #[test]
    fn ordinary_text_in_any_script_is_untouched() {
        for t in [
            "storage-nearly-full",
            "Llyfrgell Ganolog",
            "无法连接",
            "Łódź – ok",
        ] {
            assert_eq!(visible(t), t);
        }
    }

    #[test]
    fn a_backslash_cannot_fake_an_escape() {
        assert_eq!(visible("\\u{001b}"), "\\\\u{001b}");
    }
}
