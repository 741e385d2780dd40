//! Bit patterns for encoding tables, written as in the ARM ARM's encoding diagrams.
//!
//! A pattern is 32 significant characters, most significant bit first: `0` and `1`
//! are fixed bits, any letter is a field (a don't-care bit for matching). Spaces and
//! underscores separate fields for the reader and are ignored. Both functions are
//! `const`, so a malformed pattern is a compile error, not a run-time surprise.

const fn is_separator(c: u8) -> bool {
    c == b' ' || c == b'_'
}

/// The mask of the fixed bits of `pattern`.
pub const fn mask(pattern: &str) -> u32 {
    parse(pattern).0
}

/// The value of the fixed bits of `pattern`.
pub const fn value(pattern: &str) -> u32 {
    parse(pattern).1
}

const fn parse(pattern: &str) -> (u32, u32) {
    let bytes = pattern.as_bytes();
    let mut mask = 0u32;
    let mut value = 0u32;
    let mut bits = 0;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        i += 1;
        if is_separator(c) {
            continue;
        }
        assert!(bits < 32, "encoding pattern longer than 32 bits");
        mask <<= 1;
        value <<= 1;
        match c {
            b'0' => mask |= 1,
            b'1' => {
                mask |= 1;
                value |= 1;
            }
            b'a'..=b'z' | b'A'..=b'Z' => {}
            _ => panic!("encoding pattern has a character that is not 0, 1 or a letter"),
        }
        bits += 1;
    }
    assert!(bits == 32, "encoding pattern shorter than 32 bits");
    (mask, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_bits_and_fields() {
        const P: &str = "x0010001 0h iiiiiiiiiiii nnnnn ddddd";
        assert_eq!(mask(P), 0x7F80_0000);
        assert_eq!(value(P), 0x1100_0000);
        assert_eq!(mask("1111 1111 1111 1111 1111 1111 1111 1111"), u32::MAX);
        assert_eq!(value("0000_0000_0000_0000_0000_0000_0000_0001"), 1);
    }
}
