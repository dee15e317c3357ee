//! Tokens written one after another, each behind its length (four bytes,
//! little-endian): the keys the gates (`members/gates.rs`) and the
//! log-source signatures (`raw_scope/`) are made of, so that no two lists
//! of tokens write the same bytes. Both also compare such a key with an
//! event's tokens in place, token by token, instead of writing it again.

/// Appends `token` behind its length to `out`.
pub(crate) fn push(out: &mut Vec<u8>, token: &[u8]) {
    out.extend_from_slice(&(token.len() as u32).to_le_bytes());
    out.extend_from_slice(token);
}

/// What follows `token`, as [`push`] writes it, at the start of `written`;
/// `None` when another token (or none) is there.
pub(crate) fn strip<'w>(written: &'w [u8], token: &[u8]) -> Option<&'w [u8]> {
    let (len, after) = written.split_first_chunk::<4>()?;
    if u32::from_le_bytes(*len) as usize != token.len() {
        return None;
    }
    let (head, rest) = after.split_at_checked(token.len())?;
    (head == token).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::{push, strip};

    #[test]
    fn a_token_strips_only_as_it_was_pushed() {
        let mut out = Vec::new();
        push(&mut out, b"abc");
        push(&mut out, b"");
        let rest = strip(&out, b"abc").unwrap();
        assert_eq!(strip(rest, b""), Some(&[][..]));
        assert_eq!(strip(&out, b"abd"), None);
        assert_eq!(strip(&out, b"ab"), None);
        assert_eq!(strip(&out, b"abcd"), None);
        assert_eq!(strip(&out[..5], b"abc"), None);
        assert_eq!(strip(&out[..3], b""), None);
    }
}
