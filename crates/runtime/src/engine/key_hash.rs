//! The hash of the memos' byte keys (`remembered.rs`): AES rounds over the
//! key where the processor has them, `foldhash` elsewhere.
//!
//! A memo key is the bytes of the members an event's lookup depends on,
//! a few hundred bytes, built for every event and hashed once or twice:
//! `foldhash` spent ~0.42 instructions a byte on them, ~4 % of a generated
//! process creation's instructions. Four lanes of AES rounds take a key
//! 64 bytes at a time, one round per 16 bytes (as aHash and GxHash do);
//! rounds then mix the lanes (two pairs, the pairs together, two rounds
//! more with constant keys), and the result is the two halves of the
//! last state folded together.
//!
//! The hash only spreads keys over a memo's table: every key is compared
//! byte for byte before its entry answers, so a collision (chosen by an
//! adversary or not) costs a lookup, never a wrong answer. It is the same
//! for every thread of a process (the choice of implementation depends on
//! the processor only), and nothing keeps it beyond the process.

/// The hash of `key`.
#[inline]
pub(crate) fn hash_key(key: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("aes") {
            // SAFETY: the processor has AES-NI (checked above), and SSE2
            // is part of x86_64.
            return unsafe { aes::hash(key) };
        }
    }
    portable(key)
}

/// The hash where AES rounds are not available.
fn portable(key: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x9e37_79b9_7f4a_7c15).hash_one(key)
}

#[cfg(target_arch = "x86_64")]
mod aes {
    use std::arch::x86_64::{
        __m128i, _mm_aesenc_si128, _mm_cvtsi128_si64, _mm_loadu_si128, _mm_set_epi64x,
        _mm_unpackhi_epi64,
    };

    /// The lanes' starting states and the last rounds' keys: digits of
    /// pi, so that no lane starts as another does.
    const SEEDS: [(i64, i64); 6] = [
        (0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344),
        (0x0a40_9382_2299_f31d, 0x0082_efa9_8ec4_e6c8),
        (0x4528_21e6_38d0_1377, 0x3e54_66cf_34e9_0c6c),
        (0x40ac_29b7_c97c_50dd, 0x3f84_d5b5_b547_0917),
        (0x1371_3844_94ca_6e50, 0x12c8_8a52_9fe6_3b3d),
        (0x7c33_c5e6_1b2d_4d53, 0x1e2a_a1e4_6d5c_3b60),
    ];

    #[inline(always)]
    unsafe fn seed(k: usize) -> __m128i {
        let (high, low) = SEEDS[k];
        _mm_set_epi64x(high, low)
    }

    /// 16 bytes from `at` (unaligned).
    #[inline(always)]
    unsafe fn load(at: *const u8) -> __m128i {
        _mm_loadu_si128(at.cast())
    }

    /// The hash of `key`: each 16 bytes one AES round of its lane (64
    /// bytes a step over four lanes), the last, partial block read as the
    /// key's last 16 bytes (overlapping the block before) or from a
    /// zeroed copy when the key is shorter; the key's length is in the
    /// first lane's starting state, so keys that end alike with other
    /// lengths differ.
    ///
    /// # Safety
    /// The processor must have AES-NI.
    #[target_feature(enable = "aes")]
    pub(super) unsafe fn hash(key: &[u8]) -> u64 {
        let len = key.len();
        let at = key.as_ptr();
        let (high, low) = SEEDS[0];
        let mut lanes = [
            _mm_set_epi64x(high, low ^ len as i64),
            seed(1),
            seed(2),
            seed(3),
        ];
        let mut i = 0;
        while i + 64 <= len {
            // SAFETY (all loads): each reads 16 bytes inside `key`.
            lanes[0] = _mm_aesenc_si128(lanes[0], load(at.add(i)));
            lanes[1] = _mm_aesenc_si128(lanes[1], load(at.add(i + 16)));
            lanes[2] = _mm_aesenc_si128(lanes[2], load(at.add(i + 32)));
            lanes[3] = _mm_aesenc_si128(lanes[3], load(at.add(i + 48)));
            i += 64;
        }
        let mut lane = 0;
        while i + 16 <= len {
            lanes[lane] = _mm_aesenc_si128(lanes[lane], load(at.add(i)));
            lane += 1;
            i += 16;
        }
        if i < len {
            let last = if len >= 16 {
                load(at.add(len - 16))
            } else {
                let mut short = [0u8; 16];
                short[..len].copy_from_slice(key);
                load(short.as_ptr())
            };
            lanes[3] = _mm_aesenc_si128(lanes[3], last);
        }
        let left = _mm_aesenc_si128(lanes[0], lanes[2]);
        let right = _mm_aesenc_si128(lanes[1], lanes[3]);
        let mixed = _mm_aesenc_si128(left, right);
        let mixed = _mm_aesenc_si128(mixed, seed(4));
        let mixed = _mm_aesenc_si128(mixed, seed(5));
        (_mm_cvtsi128_si64(mixed) ^ _mm_cvtsi128_si64(_mm_unpackhi_epi64(mixed, mixed))) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::{hash_key, portable};
    use std::collections::HashSet;

    /// Keys of every length up to a few blocks, each differing from the
    /// others in one byte, its length or a trailing zero.
    fn keys() -> Vec<Vec<u8>> {
        let mut keys = Vec::new();
        for len in 0..200usize {
            let base: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            keys.push(base.clone());
            for at in [0, len / 2, len.saturating_sub(1)] {
                if at < len {
                    let mut one = base.clone();
                    one[at] ^= 1;
                    keys.push(one);
                }
            }
        }
        keys.sort();
        keys.dedup();
        keys
    }

    #[test]
    fn distinct_keys_get_distinct_hashes() {
        for hash in [hash_key, portable] {
            let keys = keys();
            let hashes: HashSet<u64> = keys.iter().map(|k| hash(k)).collect();
            assert_eq!(hashes.len(), keys.len());
        }
    }

    #[test]
    fn zero_padding_and_length_tell_short_keys_apart() {
        assert_ne!(hash_key(b""), hash_key(b"\0"));
        assert_ne!(hash_key(b"abc"), hash_key(b"abc\0"));
        let sixteen = [b'x'; 16];
        assert_ne!(hash_key(&sixteen[..15]), hash_key(&sixteen));
    }

    #[test]
    fn the_same_key_gets_the_same_hash_wherever_it_lies() {
        let text =
            b"{\"CommandLine\":\"C:\\\\Windows\\\\system32\\\\cmd.exe /c whoami\"}".repeat(5);
        for start in 0..8 {
            let moved = text[start..].to_vec();
            assert_eq!(hash_key(&text[start..]), hash_key(&moved));
        }
    }

    #[test]
    fn hashes_spread_over_the_low_and_high_bits() {
        // hashbrown takes its bucket from the low bits and its tag from
        // the top seven: both must take every value over many keys.
        let hashes: Vec<u64> = (0..4096u32)
            .map(|n| hash_key(format!("{{\"ProcessId\":{n},\"Image\":\"a.exe\"}}").as_bytes()))
            .collect();
        let low: HashSet<u64> = hashes.iter().map(|h| h & 0xff).collect();
        let top: HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
        assert_eq!(low.len(), 256);
        assert_eq!(top.len(), 128);
    }
}
