//! Reference codes: the short code a visitor sees on the thanks screen (and can type into a
//! tracking page or read out over the phone), e.g. `K7QM-4XP`.
//!
//! Six random symbols and one check symbol, from an alphabet without the characters people
//! confuse (0/O, 1/I/L). The check symbol makes a weighted sum of the symbols divisible by
//! 31 (the alphabet's size, a prime); with distinct weights that differ by one between
//! neighbours it catches every single mistyped symbol and every swap of two neighbours, so a
//! mistyped code is refused instead of finding someone else's response.

/// 31 symbols: digits 2–9 and the letters without I, L and O. The size being prime is what
/// makes the check symbol catch every single-symbol error.
pub const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

const DATA_LEN: usize = 6;

/// A reference code made from random input (the caller supplies the randomness so that the
/// core stays deterministic under test).
pub fn make(random: u64) -> String {
    let n = ALPHABET.len() as u64;
    let mut rest = random;
    let mut symbols = Vec::with_capacity(DATA_LEN + 1);
    for _ in 0..DATA_LEN {
        symbols.push((rest % n) as usize);
        rest /= n;
    }
    symbols.push(check_symbol(&symbols));
    format_symbols(&symbols)
}

/// Normalises what a person typed (case, spaces, dashes, O→0-free look-alikes) and checks
/// it. Returns the canonical form, or `None` if it is not a valid code.
pub fn parse(input: &str) -> Option<String> {
    let mut symbols = Vec::with_capacity(DATA_LEN + 1);
    for c in input.chars() {
        if c == '-' || c.is_whitespace() {
            continue;
        }
        let c = match c.to_ascii_uppercase() {
            // Look-alikes of symbols that are in the alphabet.
            'O' | '0' => return None,
            c => c,
        };
        let index = ALPHABET.iter().position(|&a| a as char == c)?;
        symbols.push(index);
        if symbols.len() > DATA_LEN + 1 {
            return None;
        }
    }
    if symbols.len() != DATA_LEN + 1 {
        return None;
    }
    let (data, check) = symbols.split_at(DATA_LEN);
    (check_symbol(data) == check[0]).then(|| format_symbols(&symbols))
}

/// What a person typed as a reference, as a tracking page answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Typed {
    /// A well-formed reference, in its canonical form.
    Reference(String),
    /// The right length and letters, but the check symbol does not match: a mistyped symbol
    /// or two swapped neighbours.
    Typo,
    /// Not a reference at all (too short, too long, other characters).
    NotAReference,
}

/// Tells a valid reference from a mistyped one and from something else entirely.
pub fn classify(input: &str) -> Typed {
    if let Some(code) = parse(input) {
        return Typed::Reference(code);
    }
    let symbols: Vec<char> = input
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let shaped = symbols.len() == DATA_LEN + 1
        && symbols
            .iter()
            .all(|c| ALPHABET.contains(&(*c as u32 as u8)) && c.is_ascii());
    if shaped {
        Typed::Typo
    } else {
        Typed::NotAReference
    }
}

/// Weights 2, 3, … 7 for the data symbols and 1 for the check symbol: all distinct and
/// non-zero modulo 31, so one wrong symbol changes the sum by weight × difference ≠ 0, and
/// neighbours' weights differ by one, so swapping them changes it by their difference ≠ 0.
fn check_symbol(data: &[usize]) -> usize {
    let n = ALPHABET.len();
    let sum: usize = data.iter().enumerate().map(|(i, &s)| (i + 2) * s).sum();
    (n - sum % n) % n
}

fn format_symbols(symbols: &[usize]) -> String {
    let mut out = String::with_capacity(symbols.len() + 1);
    for (i, &s) in symbols.iter().enumerate() {
        if i == 4 {
            out.push('-');
        }
        out.push(ALPHABET[s] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_codes_parse_back_to_themselves() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..1000 {
            let code = make(rng.u64(..));
            assert_eq!(code.len(), 8, "{code}");
            assert_eq!(parse(&code).as_deref(), Some(code.as_str()));
        }
    }

    #[test]
    fn codes_avoid_confusable_characters() {
        let mut rng = fastrand::Rng::with_seed(1);
        for _ in 0..1000 {
            let code = make(rng.u64(..));
            assert!(!code.contains(['0', 'O', '1', 'I', 'L']), "{code}");
        }
    }

    #[test]
    fn typing_is_forgiving_about_case_spaces_and_dashes() {
        let code = make(123_456_789);
        let typed = code.to_lowercase().replace('-', " ");
        assert_eq!(parse(&typed), Some(code));
    }

    #[test]
    fn every_single_symbol_mistake_is_caught() {
        let code = make(987_654_321).replace('-', "");
        for pos in 0..code.len() {
            for &sym in ALPHABET.iter() {
                let mut wrong: Vec<u8> = code.clone().into_bytes();
                if wrong[pos] == sym {
                    continue;
                }
                wrong[pos] = sym;
                let wrong = String::from_utf8(wrong).unwrap();
                assert_eq!(parse(&wrong), None, "{wrong} should fail the check");
            }
        }
    }

    #[test]
    fn swapping_neighbours_is_caught() {
        let mut rng = fastrand::Rng::with_seed(3);
        let mut caught = 0;
        let mut swaps = 0;
        for _ in 0..200 {
            let code = make(rng.u64(..)).replace('-', "");
            let bytes = code.as_bytes();
            for i in 0..bytes.len() - 1 {
                if bytes[i] == bytes[i + 1] {
                    continue;
                }
                let mut swapped = bytes.to_vec();
                swapped.swap(i, i + 1);
                swaps += 1;
                if parse(std::str::from_utf8(&swapped).unwrap()).is_none() {
                    caught += 1;
                }
            }
        }
        assert_eq!(
            caught, swaps,
            "every swap of different neighbours is caught"
        );
    }

    #[test]
    fn a_mistyped_reference_is_told_apart_from_something_else() {
        let code = make(55_555);
        assert_eq!(
            classify(&code.to_lowercase()),
            Typed::Reference(code.clone())
        );
        let mut typo = code.clone().into_bytes();
        typo[0] = if typo[0] == b'A' { b'B' } else { b'A' };
        assert_eq!(classify(std::str::from_utf8(&typo).unwrap()), Typed::Typo);
        for other in ["", "hello", "K7QM-4XPZZ", "ÉÉÉÉ-ÉÉÉ", "O7QM-4XP"] {
            assert_eq!(classify(other), Typed::NotAReference, "{other}");
        }
    }

    #[test]
    fn wrong_lengths_and_foreign_characters_are_refused() {
        assert_eq!(parse(""), None);
        assert_eq!(parse("ABC"), None);
        assert_eq!(parse("K7QM-4XPZZ"), None);
        assert_eq!(parse("K7QM-4X😀"), None);
        assert_eq!(parse("O7QM-4XP"), None);
    }
}
