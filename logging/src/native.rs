//! journald's native protocol (<https://systemd.io/JOURNAL_NATIVE_PROTOCOL/>): one datagram
//! per entry, one field after another. A value without a newline is `NAME=value\n`; any other
//! is `NAME\n`, its length as a little-endian u64, the bytes, and `\n`.

/// Appends one field to an entry.
pub fn put(entry: &mut Vec<u8>, name: &str, value: &[u8]) {
    entry.extend_from_slice(name.as_bytes());
    if value.contains(&b'\n') {
        entry.push(b'\n');
        entry.extend_from_slice(&(value.len() as u64).to_le_bytes());
    } else {
        entry.push(b'=');
    }
    entry.extend_from_slice(value);
    entry.push(b'\n');
}

/// A journal field name for a program's own field: `prefix` then the name in upper case, with
/// anything but letters, digits and `_` as `_`, at most 64 characters in all (journald drops a
/// field whose name breaks these rules).
pub fn field_name(prefix: &str, name: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + name.len());
    out.push_str(prefix);
    out.extend(name.chars().map(|c| match c {
        'a'..='z' => c.to_ascii_uppercase(),
        'A'..='Z' | '0'..='9' | '_' => c,
        _ => '_',
    }));
    out.truncate(64);
    out
}

/// Reads an entry back into its fields, in order, as journald does.
pub fn parse(mut entry: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut fields = Vec::new();
    while !entry.is_empty() {
        let end = entry
            .iter()
            .position(|&b| b == b'\n' || b == b'=')
            .ok_or("a field name without its end")?;
        let name =
            std::str::from_utf8(&entry[..end]).map_err(|_| "a field name that is not UTF-8")?;
        if entry[end] == b'=' {
            let rest = &entry[end + 1..];
            let line = rest
                .iter()
                .position(|&b| b == b'\n')
                .ok_or("a value without its newline")?;
            fields.push((name.to_owned(), rest[..line].to_vec()));
            entry = &rest[line + 1..];
        } else {
            let rest = &entry[end + 1..];
            let len: [u8; 8] = rest.get(..8).ok_or("a cut length")?.try_into().unwrap();
            let len = u64::from_le_bytes(len) as usize;
            let value = rest.get(8..8 + len).ok_or("a cut value")?;
            if rest.get(8 + len) != Some(&b'\n') {
                return Err("a value without its newline".into());
            }
            fields.push((name.to_owned(), value.to_vec()));
            entry = &rest[8 + len + 1..];
        }
    }
    Ok(fields)
}

/// The first value of a field in a parsed entry, as text.
pub fn value<'a>(fields: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| std::str::from_utf8(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_and_multi_line_values_round_trip() {
        let mut entry = Vec::new();
        put(&mut entry, "MESSAGE", b"batch delivered responses=3");
        put(&mut entry, "F_TEXT", b"two\nlines");
        put(&mut entry, "F_EMPTY", b"");
        assert_eq!(
            &entry[..36],
            b"MESSAGE=batch delivered responses=3\n".as_slice()
        );
        assert_eq!(&entry[36..43], b"F_TEXT\n".as_slice());
        assert_eq!(&entry[43..51], 9u64.to_le_bytes().as_slice());
        let fields = parse(&entry).unwrap();
        assert_eq!(
            fields,
            [
                (
                    "MESSAGE".to_owned(),
                    b"batch delivered responses=3".to_vec()
                ),
                ("F_TEXT".to_owned(), b"two\nlines".to_vec()),
                ("F_EMPTY".to_owned(), Vec::new()),
            ]
        );
        assert_eq!(value(&fields, "F_TEXT"), Some("two\nlines"));
    }

    #[test]
    fn field_names_are_what_journald_accepts() {
        assert_eq!(field_name("F_", "error"), "F_ERROR");
        assert_eq!(field_name("F_", "loop_name"), "F_LOOP_NAME");
        assert_eq!(field_name("F_", "device.id"), "F_DEVICE_ID");
        assert_eq!(field_name("F_", "Ünïcode-x"), "F__N_CODE_X");
        assert_eq!(field_name("F_", &"x".repeat(100)).len(), 64);
    }

    #[test]
    fn a_cut_entry_is_refused() {
        let mut entry = Vec::new();
        put(&mut entry, "F_TEXT", b"two\nlines");
        assert!(parse(&entry[..entry.len() - 2]).is_err());
        assert!(parse(b"MESSAGE=no newline").is_err());
    }
}
