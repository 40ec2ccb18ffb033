//! Partitions: pure maps between a global index and (owner rank, local index).
//!
//! A partition of `n` elements over `size` ranks says which rank owns each
//! global index `0..n` and where in that rank's local part it lives. Every
//! container holds one. All methods are pure (no communication) and may be
//! called on any rank for any rank.
//!
//! Local order follows global order on every rank (local index `l < l'`
//! implies global index `g < g'`); the redistribution and the gathers rely on
//! it.
//!
//! ```
//! use dtl_core::partition::{Block, Partition};
//! let p = Block::new(10, 4);                 // sizes 3, 3, 2, 2
//! assert_eq!(p.local_size(0), 3);
//! assert_eq!(p.local_offset(2), 6);
//! assert_eq!(p.owner(7).unwrap(), 2);
//! assert_eq!(p.global_to_local(7).unwrap(), (2, 1));
//! assert_eq!(p.local_to_global(3, 1).unwrap(), 9);
//! ```

use crate::error::{Error, Result};

mod hash;
mod layouts;

pub use hash::HashPartition;
pub use layouts::{BlockCyclic, Cyclic, Layout, PartitionSpec, Replicated, Weighted, Weights};

/// Partition policy tags; the numeric values are stable (C ABI and Python
/// `PARTITION_*` constants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum PartitionKind {
    /// Contiguous blocks, remainder to the lowest ranks (default).
    Block = 0,
    /// Round robin: index `i` on rank `i % size`.
    Cyclic = 1,
    /// Round robin of blocks of `block_size` elements.
    BlockCyclic = 2,
    /// By hash of the key (maps only).
    Hash = 3,
    /// Every rank holds every element.
    Replicated = 4,
    /// Contiguous blocks whose sizes the user gives per rank (counts or
    /// fractions).
    Weighted = 5,
}

impl PartitionKind {
    /// Upper-case name, e.g. `"BLOCK"`.
    pub fn name(self) -> &'static str {
        match self {
            PartitionKind::Block => "BLOCK",
            PartitionKind::Cyclic => "CYCLIC",
            PartitionKind::BlockCyclic => "BLOCK_CYCLIC",
            PartitionKind::Hash => "HASH",
            PartitionKind::Replicated => "REPLICATED",
            PartitionKind::Weighted => "WEIGHTED",
        }
    }

    /// The kind for a stable numeric code.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a code outside `0..=5`.
    pub fn from_code(code: i64) -> Result<PartitionKind> {
        Ok(match code {
            0 => PartitionKind::Block,
            1 => PartitionKind::Cyclic,
            2 => PartitionKind::BlockCyclic,
            3 => PartitionKind::Hash,
            4 => PartitionKind::Replicated,
            5 => PartitionKind::Weighted,
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "partition must be one of PARTITION_BLOCK (0), PARTITION_CYCLIC (1), \
                     PARTITION_BLOCK_CYCLIC (2), PARTITION_HASH (3), PARTITION_REPLICATED (4), \
                     PARTITION_WEIGHTED (5); got {code}"
                )))
            }
        })
    }
}

/// A map between global indices and (owner rank, local index). See the
/// [module docs](self).
///
/// Every implementation keeps local order monotone in global order, so the
/// local elements of a rank whose global indices fall in a range form a
/// contiguous range of local indices ([`Partition::local_range`]).
pub trait Partition: Send + Sync + std::fmt::Debug {
    /// Number of elements over all ranks.
    fn global_size(&self) -> usize;
    /// Number of ranks.
    fn num_ranks(&self) -> usize;
    /// The policy tag.
    fn kind(&self) -> PartitionKind;
    /// Number of elements rank `rank` holds (0 for `rank >= num_ranks`).
    fn local_size(&self, rank: usize) -> usize;
    /// The rank owning global index `i` (for [`Replicated`], rank 0, the
    /// canonical copy).
    ///
    /// # Errors
    /// [`Error::Bounds`] if `i >= global_size`.
    fn owner(&self, i: usize) -> Result<usize>;
    /// `(owner, local index)` of global index `i`.
    ///
    /// # Errors
    /// [`Error::Bounds`] if `i >= global_size`.
    fn global_to_local(&self, i: usize) -> Result<(usize, usize)>;
    /// Global index of local index `local` on `rank`.
    ///
    /// # Errors
    /// [`Error::Bounds`] if `rank >= num_ranks` or `local >= local_size(rank)`.
    fn local_to_global(&self, rank: usize, local: usize) -> Result<usize>;
    /// True if `rank` holds global index `i` (false when out of range).
    fn is_local(&self, rank: usize, i: usize) -> bool {
        self.owner(i).map(|o| o == rank).unwrap_or(false)
    }
    /// True when each rank's part is one contiguous global range.
    fn is_contiguous(&self) -> bool;
    /// Global index of `rank`'s first element. For a rank that holds none:
    /// where its range would start for contiguous layouts, `global_size`
    /// otherwise.
    fn local_offset(&self, rank: usize) -> usize {
        self.local_to_global(rank, 0).unwrap_or(self.global_size())
    }
    /// The local indices on `rank` whose global indices lie in `global`
    /// (a contiguous range, by monotonicity). Binary search by default.
    fn local_range(&self, rank: usize, global: std::ops::Range<usize>) -> std::ops::Range<usize> {
        let n = self.local_size(rank);
        let first_at_least = |g: usize| {
            let (mut lo, mut hi) = (0usize, n);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if self.local_to_global(rank, mid).unwrap_or(usize::MAX) < g {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            lo
        };
        let a = first_at_least(global.start);
        let b = first_at_least(global.end).max(a);
        a..b
    }
}

pub(crate) fn bounds(i: usize, n: usize) -> Error {
    Error::Bounds(format!("global index {i} is out of range 0..{n}"))
}

pub(crate) fn local_bounds(rank: usize, local: usize, size: usize, local_size: usize) -> Error {
    if rank >= size {
        Error::Bounds(format!("rank {rank} is out of range 0..{size}"))
    } else {
        Error::Bounds(format!("local index {local} is out of range 0..{local_size} on rank {rank}"))
    }
}

/// Block partition: rank `r` holds one contiguous range; the `n % size`
/// remainder goes one each to the lowest ranks (`n = 10, size = 4` gives
/// sizes 3, 3, 2, 2). Ranks beyond `n` hold nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    n: usize,
    size: usize,
}

impl Block {
    /// The block partition of `n` elements over `size` ranks (`size >= 1`;
    /// `size = 0` is treated as 1).
    pub fn new(n: usize, size: usize) -> Block {
        Block { n, size: size.max(1) }
    }

    fn q(&self) -> usize {
        self.n / self.size
    }
    fn rem(&self) -> usize {
        self.n % self.size
    }

    /// Global index of the first element of `rank` (for `rank >= size`,
    /// `global_size`). For an empty rank this is where its range would start.
    pub fn local_offset(&self, rank: usize) -> usize {
        let r = rank.min(self.size);
        r * self.q() + r.min(self.rem())
    }

    /// The global range `start..end` held by `rank`.
    pub fn range(&self, rank: usize) -> std::ops::Range<usize> {
        self.local_offset(rank)..self.local_offset(rank + 1)
    }
}

impl Partition for Block {
    fn global_size(&self) -> usize {
        self.n
    }
    fn num_ranks(&self) -> usize {
        self.size
    }
    fn kind(&self) -> PartitionKind {
        PartitionKind::Block
    }
    fn local_size(&self, rank: usize) -> usize {
        if rank >= self.size {
            0
        } else {
            self.q() + usize::from(rank < self.rem())
        }
    }
    fn owner(&self, i: usize) -> Result<usize> {
        if i >= self.n {
            return Err(bounds(i, self.n));
        }
        let big = (self.q() + 1) * self.rem();
        Ok(if i < big { i / (self.q() + 1) } else { self.rem() + (i - big) / self.q() })
    }
    fn global_to_local(&self, i: usize) -> Result<(usize, usize)> {
        let r = self.owner(i)?;
        Ok((r, i - self.local_offset(r)))
    }
    fn local_to_global(&self, rank: usize, local: usize) -> Result<usize> {
        if rank >= self.size || local >= self.local_size(rank) {
            return Err(local_bounds(rank, local, self.size, self.local_size(rank)));
        }
        Ok(Block::local_offset(self, rank) + local)
    }
    fn is_contiguous(&self) -> bool {
        true
    }
    fn local_offset(&self, rank: usize) -> usize {
        Block::local_offset(self, rank)
    }
    fn local_range(&self, rank: usize, global: std::ops::Range<usize>) -> std::ops::Range<usize> {
        let r = self.range(rank);
        let a = global.start.clamp(r.start, r.end) - r.start;
        let b = global.end.clamp(r.start, r.end) - r.start;
        a..b.max(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute-force model: deal the indices out in order, q+1 to the first
    /// `rem` ranks and q to the rest.
    fn model(n: usize, size: usize) -> Vec<Vec<usize>> {
        let mut owned = vec![Vec::new(); size];
        let mut next = 0;
        for (r, part) in owned.iter_mut().enumerate() {
            let take = n / size + usize::from(r < n % size);
            part.extend(next..next + take);
            next += take;
        }
        assert_eq!(next, n);
        owned
    }

    #[test]
    fn block_matches_brute_force_model() {
        for size in 1..=5 {
            for n in 0..=20 {
                let p = Block::new(n, size);
                let m = model(n, size);
                assert_eq!(p.global_size(), n);
                let mut total = 0;
                for (r, idx) in m.iter().enumerate() {
                    assert_eq!(p.local_size(r), idx.len(), "n={n} size={size} r={r}");
                    total += p.local_size(r);
                    if let Some(first) = idx.first() {
                        assert_eq!(p.local_offset(r), *first);
                    }
                    assert_eq!(p.range(r).collect::<Vec<_>>(), *idx);
                    for (l, &g) in idx.iter().enumerate() {
                        assert_eq!(p.owner(g).unwrap(), r);
                        assert!(p.is_local(r, g));
                        assert_eq!(p.global_to_local(g).unwrap(), (r, l));
                        assert_eq!(p.local_to_global(r, l).unwrap(), g);
                    }
                    assert!(p.local_to_global(r, idx.len()).is_err());
                    // Remainder to the lowest ranks: sizes never increase.
                    if r > 0 {
                        assert!(p.local_size(r) <= p.local_size(r - 1));
                    }
                }
                assert_eq!(total, n);
                assert!(matches!(p.owner(n), Err(Error::Bounds(_))));
                assert!(!p.is_local(0, n));
                assert!(p.local_to_global(size, 0).is_err());
                assert_eq!(p.local_size(size), 0);
            }
        }
    }

    #[test]
    fn kinds() {
        for c in 0..6 {
            assert_eq!(PartitionKind::from_code(c).unwrap() as i64, c);
        }
        assert!(PartitionKind::from_code(6).is_err());
        assert!(PartitionKind::from_code(-1).is_err());
    }
}
