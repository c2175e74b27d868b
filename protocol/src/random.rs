//! Secrets from the operating system's randomness: tokens, keys and codes that must not be
//! guessed (not the seeded randomness of simulated visits and backoff, which need none).

/// Fills `buf` from the operating system's randomness. The error says, for a person, that
/// the system had none to give.
pub fn fill(buf: &mut [u8]) -> Result<(), String> {
    getrandom::fill(buf).map_err(|e| format!("no randomness from the system: {e}"))
}

/// `bytes` random bytes from the operating system, as lowercase hex (twice as many
/// characters).
pub fn random_hex(bytes: usize) -> Result<String, String> {
    let mut buf = vec![0u8; bytes];
    fill(&mut buf)?;
    Ok(hex::encode(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_has_two_lowercase_digits_per_byte() {
        for bytes in [0, 1, 16, 32] {
            let text = random_hex(bytes).unwrap();
            assert_eq!(text.len(), 2 * bytes, "{text}");
            assert!(
                text.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
                "{text}"
            );
        }
    }

    #[test]
    fn no_two_are_the_same() {
        let tokens: std::collections::HashSet<String> =
            (0..100).map(|_| random_hex(16).unwrap()).collect();
        assert_eq!(tokens.len(), 100);
    }

    #[test]
    fn every_byte_is_filled() {
        // A byte is zero after one fill with a chance of 1 in 256, after all 256 never.
        let mut seen = [0u8; 64];
        for _ in 0..256 {
            let mut buf = [0u8; 64];
            fill(&mut buf).unwrap();
            for (s, b) in seen.iter_mut().zip(buf) {
                *s |= b;
            }
        }
        assert!(seen.iter().all(|&s| s != 0), "{seen:?}");
    }
}
