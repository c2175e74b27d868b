//! Text a visitor types: editing with the on-screen keyboard and cleaning before it is kept.
//! Limits count characters (Unicode scalar values), which is what a visitor sees as letters
//! for every script the keyboard can type.

/// Appends what a key produced, if it is printable and the limit allows. Returns whether the
/// text changed, so that the caller can tell the visitor (the remaining count stays at 0).
pub fn type_key(text: &mut String, key: &str, max_chars: usize) -> bool {
    if key.is_empty() || key.chars().any(char::is_control) {
        return false;
    }
    if text.chars().count() + key.chars().count() > max_chars {
        return false;
    }
    text.push_str(key);
    true
}

/// Removes the last character.
pub fn backspace(text: &mut String) -> bool {
    text.pop().is_some()
}

/// Characters left before the limit.
pub fn remaining(text: &str, max_chars: usize) -> usize {
    max_chars.saturating_sub(text.chars().count())
}

/// What is kept of typed text: control characters become spaces, runs of white space
/// collapse, the ends are trimmed and the length is capped. Anything that arrived by another
/// path than the keyboard (a pasted string, a test, a hostile input) goes through here too.
pub fn clean(input: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(input.len().min(max_chars * 4));
    let mut count = 0;
    let mut pending_space = false;
    for c in input.chars() {
        if c.is_whitespace() || c.is_control() {
            pending_space = count > 0;
            continue;
        }
        let needed = if pending_space { 2 } else { 1 };
        if count + needed > max_chars {
            break;
        }
        if pending_space {
            out.push(' ');
            count += 1;
            pending_space = false;
        }
        out.push(c);
        count += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_stops_at_the_limit() {
        let mut t = String::new();
        for _ in 0..5 {
            type_key(&mut t, "a", 3);
        }
        assert_eq!(t, "aaa");
        assert_eq!(remaining(&t, 3), 0);
        assert!(!type_key(&mut t, "b", 3));
    }

    #[test]
    fn limits_count_characters_not_bytes() {
        let mut t = String::new();
        assert!(type_key(&mut t, "ż", 2));
        assert!(type_key(&mut t, "ŵ", 2));
        assert!(!type_key(&mut t, "a", 2));
        assert_eq!(remaining(&t, 2), 0);
    }

    #[test]
    fn control_keys_are_not_typed() {
        let mut t = String::from("ab");
        assert!(!type_key(&mut t, "\n", 10));
        assert!(!type_key(&mut t, "\u{7f}", 10));
        assert!(!type_key(&mut t, "", 10));
        assert_eq!(t, "ab");
    }

    #[test]
    fn backspace_removes_whole_characters() {
        let mut t = String::from("aé中");
        assert!(backspace(&mut t));
        assert_eq!(t, "aé");
        assert!(backspace(&mut t));
        assert!(backspace(&mut t));
        assert!(!backspace(&mut t));
    }

    #[test]
    fn cleaning_collapses_space_and_drops_controls() {
        assert_eq!(clean("  hello\t\n\u{0}world  ", 100), "hello world");
        assert_eq!(clean("😀 emoji stay", 100), "😀 emoji stay");
        assert_eq!(clean("abcdef", 3), "abc");
        assert_eq!(clean("ab  cd", 3), "ab");
    }

    #[test]
    fn a_megabyte_of_text_is_capped() {
        let big = "x".repeat(1 << 20);
        assert_eq!(clean(&big, 500).chars().count(), 500);
    }
}
