//! The concrete partitions besides [`Block`]: cyclic, block-cyclic,
//! weighted and replicated, the [`Layout`] enum containers hold, and the
//! size-independent [`PartitionSpec`] users choose.

use super::{bounds, local_bounds, Block, Partition, PartitionKind};
use crate::error::{Error, Result};

/// Cyclic partition: global index `i` lives on rank `i % size` at local
/// index `i / size` (`n = 10, size = 4`: rank 0 holds 0, 4, 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cyclic {
    n: usize,
    size: usize,
}

impl Cyclic {
    /// The cyclic partition of `n` elements over `size >= 1` ranks.
    pub fn new(n: usize, size: usize) -> Cyclic {
        Cyclic { n, size: size.max(1) }
    }
}

impl Partition for Cyclic {
    fn global_size(&self) -> usize {
        self.n
    }
    fn num_ranks(&self) -> usize {
        self.size
    }
    fn kind(&self) -> PartitionKind {
        PartitionKind::Cyclic
    }
    fn local_size(&self, rank: usize) -> usize {
        if rank >= self.size || rank >= self.n {
            0
        } else {
            (self.n - rank).div_ceil(self.size)
        }
    }
    fn owner(&self, i: usize) -> Result<usize> {
        if i >= self.n {
            return Err(bounds(i, self.n));
        }
        Ok(i % self.size)
    }
    fn global_to_local(&self, i: usize) -> Result<(usize, usize)> {
        Ok((self.owner(i)?, i / self.size))
    }
    fn local_to_global(&self, rank: usize, local: usize) -> Result<usize> {
        if rank >= self.size || local >= self.local_size(rank) {
            return Err(local_bounds(rank, local, self.size, self.local_size(rank)));
        }
        Ok(local * self.size + rank)
    }
    fn is_contiguous(&self) -> bool {
        self.size == 1
    }
    fn local_range(&self, rank: usize, global: std::ops::Range<usize>) -> std::ops::Range<usize> {
        // Local l has global l*size + rank: first l with l*size + rank >= g.
        let first = |g: usize| g.saturating_sub(rank).div_ceil(self.size).min(self.local_size(rank));
        let a = first(global.start);
        a..first(global.end).max(a)
    }
}

/// Block-cyclic partition: blocks of `block_size` consecutive indices dealt
/// round robin (block `k` on rank `k % size`); the last block may be short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockCyclic {
    n: usize,
    size: usize,
    b: usize,
}

impl BlockCyclic {
    /// The block-cyclic partition of `n` elements over `size` ranks in blocks
    /// of `block_size`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `block_size == 0`.
    pub fn new(n: usize, size: usize, block_size: usize) -> Result<BlockCyclic> {
        if block_size == 0 {
            return Err(Error::InvalidArgument("block_size must be >= 1, got 0".into()));
        }
        Ok(BlockCyclic { n, size: size.max(1), b: block_size })
    }

    /// The block size.
    pub fn block_size(&self) -> usize {
        self.b
    }
}

impl Partition for BlockCyclic {
    fn global_size(&self) -> usize {
        self.n
    }
    fn num_ranks(&self) -> usize {
        self.size
    }
    fn kind(&self) -> PartitionKind {
        PartitionKind::BlockCyclic
    }
    fn local_size(&self, rank: usize) -> usize {
        let nb = self.n.div_ceil(self.b); // number of blocks
        if rank >= self.size || rank >= nb {
            return 0;
        }
        let mine = (nb - rank).div_ceil(self.size); // blocks rank owns
        let last = nb - 1;
        let short = self.b * nb - self.n; // missing elements of the last block
        mine * self.b - if last % self.size == rank { short } else { 0 }
    }
    fn owner(&self, i: usize) -> Result<usize> {
        if i >= self.n {
            return Err(bounds(i, self.n));
        }
        Ok((i / self.b) % self.size)
    }
    fn global_to_local(&self, i: usize) -> Result<(usize, usize)> {
        let r = self.owner(i)?;
        let k = i / self.b;
        Ok((r, (k / self.size) * self.b + i % self.b))
    }
    fn local_to_global(&self, rank: usize, local: usize) -> Result<usize> {
        if rank >= self.size || local >= self.local_size(rank) {
            return Err(local_bounds(rank, local, self.size, self.local_size(rank)));
        }
        let k = (local / self.b) * self.size + rank;
        Ok(k * self.b + local % self.b)
    }
    fn is_contiguous(&self) -> bool {
        self.size == 1 || self.b >= self.n
    }
}

/// How a [`Weighted`] partition divides the elements.
#[derive(Debug, Clone, PartialEq)]
pub enum Weights {
    /// Exact element counts per rank (must sum to the global size).
    Counts(Vec<usize>),
    /// Fractions per rank (non-negative, summing to 1); counts are rounded
    /// by the largest-remainder method, ties to the lowest rank.
    Fractions(Vec<f64>),
}

/// Contiguous blocks with user-given sizes per rank, in rank order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weighted {
    size: usize,
    /// `offsets[r]..offsets[r + 1]` is rank `r`'s range; `size + 1` entries.
    offsets: Vec<usize>,
}

impl Weighted {
    /// The weighted partition of `n` elements over `size` ranks.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if there is not one weight per rank, counts
    /// do not sum to `n`, or fractions are negative, not finite or do not
    /// sum to 1.
    pub fn new(n: usize, size: usize, weights: &Weights) -> Result<Weighted> {
        let size = size.max(1);
        let counts: Vec<usize> = match weights {
            Weights::Counts(c) => {
                if c.len() != size {
                    return Err(Error::InvalidArgument(format!(
                        "weights must have one entry per rank ({size}), got {}",
                        c.len()
                    )));
                }
                let total: usize = c.iter().sum();
                if total != n {
                    return Err(Error::InvalidArgument(format!(
                        "weights given as counts must sum to the global size {n}, got {total}"
                    )));
                }
                c.clone()
            }
            Weights::Fractions(f) => {
                if f.len() != size {
                    return Err(Error::InvalidArgument(format!(
                        "weights must have one entry per rank ({size}), got {}",
                        f.len()
                    )));
                }
                if let Some(bad) = f.iter().find(|w| !w.is_finite() || **w < 0.0) {
                    return Err(Error::InvalidArgument(format!("weights must be finite and >= 0, got {bad}")));
                }
                let sum: f64 = f.iter().sum();
                if (sum - 1.0).abs() > 1e-9 * (size as f64).max(1.0) {
                    return Err(Error::InvalidArgument(format!("weights given as fractions must sum to 1, got {sum}")));
                }
                let exact: Vec<f64> = f.iter().map(|w| w / sum * n as f64).collect();
                let mut c: Vec<usize> = exact.iter().map(|x| x.floor() as usize).collect();
                let mut left = n - c.iter().sum::<usize>().min(n);
                let mut order: Vec<usize> = (0..size).collect();
                order.sort_by(|&a, &b| {
                    let ra = exact[a] - exact[a].floor();
                    let rb = exact[b] - exact[b].floor();
                    rb.partial_cmp(&ra).unwrap_or(std::cmp::Ordering::Equal).then(a.cmp(&b))
                });
                for &r in order.iter().cycle() {
                    if left == 0 {
                        break;
                    }
                    if f[r] > 0.0 {
                        c[r] += 1;
                        left -= 1;
                    }
                }
                c
            }
        };
        let mut offsets = Vec::with_capacity(size + 1);
        let mut acc = 0;
        offsets.push(0);
        for c in &counts {
            acc += c;
            offsets.push(acc);
        }
        Ok(Weighted { size, offsets })
    }

    /// Each rank's element count.
    pub fn counts(&self) -> Vec<usize> {
        self.offsets.windows(2).map(|w| w[1] - w[0]).collect()
    }
}

impl Partition for Weighted {
    fn global_size(&self) -> usize {
        self.offsets[self.size]
    }
    fn num_ranks(&self) -> usize {
        self.size
    }
    fn kind(&self) -> PartitionKind {
        PartitionKind::Weighted
    }
    fn local_size(&self, rank: usize) -> usize {
        if rank >= self.size {
            0
        } else {
            self.offsets[rank + 1] - self.offsets[rank]
        }
    }
    fn owner(&self, i: usize) -> Result<usize> {
        let n = self.global_size();
        if i >= n {
            return Err(bounds(i, n));
        }
        // Last rank whose range starts at or before i (skips empty ranks).
        Ok(self.offsets.partition_point(|&o| o <= i) - 1)
    }
    fn global_to_local(&self, i: usize) -> Result<(usize, usize)> {
        let r = self.owner(i)?;
        Ok((r, i - self.offsets[r]))
    }
    fn local_to_global(&self, rank: usize, local: usize) -> Result<usize> {
        if rank >= self.size || local >= self.local_size(rank) {
            return Err(local_bounds(rank, local, self.size, self.local_size(rank)));
        }
        Ok(self.offsets[rank] + local)
    }
    fn is_contiguous(&self) -> bool {
        true
    }
    fn local_offset(&self, rank: usize) -> usize {
        self.offsets[rank.min(self.size)]
    }
    fn local_range(&self, rank: usize, global: std::ops::Range<usize>) -> std::ops::Range<usize> {
        if rank >= self.size {
            return 0..0;
        }
        let (s, e) = (self.offsets[rank], self.offsets[rank + 1]);
        let a = global.start.clamp(s, e) - s;
        let b = global.end.clamp(s, e) - s;
        a..b.max(a)
    }
}

/// Replicated: every rank holds all `n` elements (local index = global
/// index). [`Partition::owner`] names rank 0, the canonical copy that
/// gathers and reductions read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replicated {
    n: usize,
    size: usize,
}

impl Replicated {
    /// `n` elements replicated on `size` ranks.
    pub fn new(n: usize, size: usize) -> Replicated {
        Replicated { n, size: size.max(1) }
    }
}

impl Partition for Replicated {
    fn global_size(&self) -> usize {
        self.n
    }
    fn num_ranks(&self) -> usize {
        self.size
    }
    fn kind(&self) -> PartitionKind {
        PartitionKind::Replicated
    }
    fn local_size(&self, rank: usize) -> usize {
        if rank < self.size {
            self.n
        } else {
            0
        }
    }
    fn owner(&self, i: usize) -> Result<usize> {
        if i >= self.n {
            return Err(bounds(i, self.n));
        }
        Ok(0)
    }
    fn global_to_local(&self, i: usize) -> Result<(usize, usize)> {
        Ok((self.owner(i)?, i))
    }
    fn local_to_global(&self, rank: usize, local: usize) -> Result<usize> {
        if rank >= self.size || local >= self.n {
            return Err(local_bounds(rank, local, self.size, self.local_size(rank)));
        }
        Ok(local)
    }
    fn is_local(&self, rank: usize, i: usize) -> bool {
        rank < self.size && i < self.n
    }
    fn is_contiguous(&self) -> bool {
        true
    }
    fn local_range(&self, rank: usize, global: std::ops::Range<usize>) -> std::ops::Range<usize> {
        if rank >= self.size {
            return 0..0;
        }
        let a = global.start.min(self.n);
        a..global.end.min(self.n).max(a)
    }
}

/// A size-independent choice of partition, as users pass it
/// (`partition=`, `block_size=`, `weights=`); [`PartitionSpec::layout`]
/// makes the concrete [`Layout`] for `n` elements over `size` ranks.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum PartitionSpec {
    /// [`Block`] (the default).
    #[default]
    Block,
    /// [`Cyclic`].
    Cyclic,
    /// [`BlockCyclic`] with this block size.
    BlockCyclic(usize),
    /// [`Weighted`] with these weights.
    Weighted(Weights),
    /// [`Replicated`].
    Replicated,
}

impl PartitionSpec {
    /// Builds a spec from a policy tag and its parameters (as the bindings
    /// receive them). `block_size` is required by `BlockCyclic` and refused
    /// by the others; `weights` is required by `Weighted` and refused by the
    /// others.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `Hash` (maps only), a missing or zero
    /// `block_size`, missing weights, or parameters given to a policy that
    /// takes none.
    pub fn from_kind(kind: PartitionKind, block_size: Option<usize>, weights: Option<Weights>) -> Result<Self> {
        if weights.is_some() && kind != PartitionKind::Weighted {
            return Err(Error::InvalidArgument(format!(
                "weights are only used with PARTITION_WEIGHTED, not PARTITION_{}",
                kind.name()
            )));
        }
        let spec = match kind {
            PartitionKind::Block => PartitionSpec::Block,
            PartitionKind::Cyclic => PartitionSpec::Cyclic,
            PartitionKind::Replicated => PartitionSpec::Replicated,
            PartitionKind::BlockCyclic => match block_size {
                Some(0) => return Err(Error::InvalidArgument("block_size must be >= 1, got 0".into())),
                Some(b) => PartitionSpec::BlockCyclic(b),
                None => return Err(Error::InvalidArgument("PARTITION_BLOCK_CYCLIC needs block_size (>= 1)".into())),
            },
            PartitionKind::Weighted => match weights {
                Some(w) => PartitionSpec::Weighted(w),
                None => return Err(Error::InvalidArgument("PARTITION_WEIGHTED needs weights (one per rank)".into())),
            },
            PartitionKind::Hash => {
                return Err(Error::InvalidArgument(
                    "PARTITION_HASH partitions keys and is for DistributedMap; \
                     index containers take BLOCK, CYCLIC, BLOCK_CYCLIC, WEIGHTED or REPLICATED"
                        .into(),
                ))
            }
        };
        if block_size.is_some() && !matches!(spec, PartitionSpec::BlockCyclic(_)) {
            return Err(Error::InvalidArgument(format!(
                "block_size is only used with PARTITION_BLOCK_CYCLIC, not PARTITION_{}",
                kind.name()
            )));
        }
        Ok(spec)
    }

    /// The policy tag.
    pub fn kind(&self) -> PartitionKind {
        match self {
            PartitionSpec::Block => PartitionKind::Block,
            PartitionSpec::Cyclic => PartitionKind::Cyclic,
            PartitionSpec::BlockCyclic(_) => PartitionKind::BlockCyclic,
            PartitionSpec::Weighted(_) => PartitionKind::Weighted,
            PartitionSpec::Replicated => PartitionKind::Replicated,
        }
    }

    /// The concrete layout of `n` elements over `size` ranks.
    ///
    /// # Errors
    /// As [`BlockCyclic::new`] and [`Weighted::new`].
    pub fn layout(&self, n: usize, size: usize) -> Result<Layout> {
        Ok(match self {
            PartitionSpec::Block => Layout::Block(Block::new(n, size)),
            PartitionSpec::Cyclic => Layout::Cyclic(Cyclic::new(n, size)),
            PartitionSpec::BlockCyclic(b) => Layout::BlockCyclic(BlockCyclic::new(n, size, *b)?),
            PartitionSpec::Weighted(w) => Layout::Weighted(Weighted::new(n, size, w)?),
            PartitionSpec::Replicated => Layout::Replicated(Replicated::new(n, size)),
        })
    }

    /// A few integers that identify the spec, for cross-rank agreement
    /// (weights are summarised by their count and a checksum).
    pub fn signature(&self) -> [i64; 3] {
        match self {
            PartitionSpec::BlockCyclic(b) => [self.kind() as i64, *b as i64, 0],
            PartitionSpec::Weighted(Weights::Counts(c)) => [
                self.kind() as i64,
                c.len() as i64,
                c.iter().enumerate().fold(0i64, |h, (k, &x)| {
                    h.wrapping_mul(1_000_003).wrapping_add((k as i64 + 1).wrapping_mul(x as i64))
                }),
            ],
            PartitionSpec::Weighted(Weights::Fractions(f)) => [
                self.kind() as i64,
                f.len() as i64,
                f.iter().fold(0i64, |h, x| h.wrapping_mul(1_000_003).wrapping_add(x.to_bits() as i64)),
            ],
            _ => [self.kind() as i64, 0, 0],
        }
    }
}

/// The partition a container holds: one of the concrete policies.
#[derive(Debug, Clone, PartialEq)]
pub enum Layout {
    /// See [`Block`].
    Block(Block),
    /// See [`Cyclic`].
    Cyclic(Cyclic),
    /// See [`BlockCyclic`].
    BlockCyclic(BlockCyclic),
    /// See [`Weighted`].
    Weighted(Weighted),
    /// See [`Replicated`].
    Replicated(Replicated),
}

macro_rules! each_layout {
    ($self:expr, $p:ident => $e:expr) => {
        match $self {
            Layout::Block($p) => $e,
            Layout::Cyclic($p) => $e,
            Layout::BlockCyclic($p) => $e,
            Layout::Weighted($p) => $e,
            Layout::Replicated($p) => $e,
        }
    };
}

impl Layout {
    /// The spec that makes this layout (for re-making it at another size).
    pub fn spec(&self) -> PartitionSpec {
        match self {
            Layout::Block(_) => PartitionSpec::Block,
            Layout::Cyclic(_) => PartitionSpec::Cyclic,
            Layout::BlockCyclic(p) => PartitionSpec::BlockCyclic(p.block_size()),
            Layout::Weighted(p) => PartitionSpec::Weighted(Weights::Counts(p.counts())),
            Layout::Replicated(_) => PartitionSpec::Replicated,
        }
    }

    /// True for [`Layout::Replicated`].
    pub fn is_replicated(&self) -> bool {
        matches!(self, Layout::Replicated(_))
    }

    /// The global indices `rank` holds, in local order.
    pub fn local_indices(&self, rank: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.local_size(rank)).map(move |l| self.local_to_global(rank, l).unwrap_or(usize::MAX))
    }
}

impl Partition for Layout {
    fn global_size(&self) -> usize {
        each_layout!(self, p => p.global_size())
    }
    fn num_ranks(&self) -> usize {
        each_layout!(self, p => p.num_ranks())
    }
    fn kind(&self) -> PartitionKind {
        each_layout!(self, p => p.kind())
    }
    fn local_size(&self, rank: usize) -> usize {
        each_layout!(self, p => p.local_size(rank))
    }
    fn owner(&self, i: usize) -> Result<usize> {
        each_layout!(self, p => p.owner(i))
    }
    fn global_to_local(&self, i: usize) -> Result<(usize, usize)> {
        each_layout!(self, p => p.global_to_local(i))
    }
    fn local_to_global(&self, rank: usize, local: usize) -> Result<usize> {
        each_layout!(self, p => p.local_to_global(rank, local))
    }
    fn is_local(&self, rank: usize, i: usize) -> bool {
        each_layout!(self, p => p.is_local(rank, i))
    }
    fn is_contiguous(&self) -> bool {
        each_layout!(self, p => p.is_contiguous())
    }
    fn local_offset(&self, rank: usize) -> usize {
        each_layout!(self, p => Partition::local_offset(p, rank))
    }
    fn local_range(&self, rank: usize, global: std::ops::Range<usize>) -> std::ops::Range<usize> {
        each_layout!(self, p => p.local_range(rank, global))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute-force model: the global indices each rank holds, in local
    /// order, built by dealing indices out as the policy describes.
    fn model(spec: &PartitionSpec, n: usize, size: usize) -> Vec<Vec<usize>> {
        let mut owned = vec![Vec::new(); size];
        match spec {
            PartitionSpec::Block => {
                let mut next = 0;
                for (r, part) in owned.iter_mut().enumerate() {
                    let take = n / size + usize::from(r < n % size);
                    part.extend(next..next + take);
                    next += take;
                }
            }
            PartitionSpec::Cyclic => (0..n).for_each(|i| owned[i % size].push(i)),
            PartitionSpec::BlockCyclic(b) => (0..n).for_each(|i| owned[(i / b) % size].push(i)),
            PartitionSpec::Weighted(Weights::Counts(c)) => {
                let mut next = 0;
                for (r, part) in owned.iter_mut().enumerate() {
                    part.extend(next..next + c[r]);
                    next += c[r];
                }
            }
            PartitionSpec::Weighted(Weights::Fractions(_)) => unreachable!(),
            PartitionSpec::Replicated => owned.iter_mut().for_each(|p| p.extend(0..n)),
        }
        owned
    }

    fn specs(n: usize, size: usize) -> Vec<PartitionSpec> {
        let mut v = vec![
            PartitionSpec::Block,
            PartitionSpec::Cyclic,
            PartitionSpec::BlockCyclic(1),
            PartitionSpec::BlockCyclic(2),
            PartitionSpec::BlockCyclic(3),
            PartitionSpec::BlockCyclic(7),
            PartitionSpec::BlockCyclic(64),
            PartitionSpec::Replicated,
        ];
        // Weighted: everything on the last rank, and an uneven deal.
        let mut last = vec![0; size];
        last[size - 1] = n;
        v.push(PartitionSpec::Weighted(Weights::Counts(last)));
        let mut uneven: Vec<usize> = (0..size).map(|r| (n * (r + 1)) / (size * (size + 1) / 2)).collect();
        let s: usize = uneven.iter().sum();
        uneven[0] += n - s;
        v.push(PartitionSpec::Weighted(Weights::Counts(uneven)));
        v
    }

    #[test]
    fn every_policy_matches_brute_force_model() {
        for size in 1..=5 {
            for n in 0..=40 {
                for spec in specs(n, size) {
                    let p = spec.layout(n, size).unwrap();
                    let m = model(&spec, n, size);
                    let ctx = format!("{spec:?} n={n} size={size}");
                    assert_eq!(p.global_size(), n, "{ctx}");
                    assert_eq!(p.kind(), spec.kind());
                    for (r, idx) in m.iter().enumerate() {
                        assert_eq!(p.local_size(r), idx.len(), "{ctx} r={r}");
                        assert_eq!(p.local_indices(r).collect::<Vec<_>>(), *idx, "{ctx} r={r}");
                        if let Some(&first) = idx.first() {
                            assert_eq!(p.local_offset(r), first, "{ctx} r={r}");
                        } else if !p.is_contiguous() {
                            assert_eq!(p.local_offset(r), n, "{ctx} r={r}");
                        }
                        for (l, &g) in idx.iter().enumerate() {
                            assert!(p.is_local(r, g), "{ctx}");
                            assert_eq!(p.local_to_global(r, l).unwrap(), g, "{ctx}");
                            if !spec.eq(&PartitionSpec::Replicated) {
                                assert_eq!(p.owner(g).unwrap(), r, "{ctx}");
                                assert_eq!(p.global_to_local(g).unwrap(), (r, l), "{ctx}");
                            }
                        }
                        assert!(p.local_to_global(r, idx.len()).is_err(), "{ctx}");
                        // local_range against brute force, for several windows.
                        for (a, b) in [(0, n), (n / 3, n / 2 + 1), (5, 5), (n, n + 3), (2, n.saturating_sub(1))] {
                            let b = b.max(a);
                            let want: Vec<usize> =
                                idx.iter().enumerate().filter(|(_, g)| (a..b).contains(*g)).map(|(l, _)| l).collect();
                            let got: Vec<usize> = p.local_range(r, a..b).collect();
                            assert_eq!(got, want, "{ctx} r={r} range {a}..{b}");
                        }
                        if p.is_contiguous() && !idx.is_empty() {
                            assert_eq!(*idx.last().unwrap() + 1 - idx[0], idx.len(), "{ctx}: not contiguous");
                        }
                    }
                    if spec != PartitionSpec::Replicated {
                        assert_eq!((0..size).map(|r| p.local_size(r)).sum::<usize>(), n, "{ctx}");
                        for i in 0..n {
                            assert_eq!(m.iter().filter(|v| v.contains(&i)).count(), 1);
                        }
                    }
                    assert!(matches!(p.owner(n), Err(Error::Bounds(_))), "{ctx}");
                    assert_eq!(p.local_size(size), 0);
                    assert!(p.local_to_global(size, 0).is_err());
                }
            }
        }
    }

    #[test]
    fn weighted_fractions_round_by_largest_remainder() {
        let w = Weighted::new(10, 3, &Weights::Fractions(vec![1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0])).unwrap();
        assert_eq!(w.counts(), vec![4, 3, 3]);
        let w = Weighted::new(10, 4, &Weights::Fractions(vec![0.5, 0.25, 0.25, 0.0])).unwrap();
        assert_eq!(w.counts(), vec![5, 3, 2, 0]);
        let w = Weighted::new(0, 2, &Weights::Fractions(vec![0.3, 0.7])).unwrap();
        assert_eq!(w.counts(), vec![0, 0]);
        for n in 0..50 {
            let w = Weighted::new(n, 3, &Weights::Fractions(vec![0.2, 0.0, 0.8])).unwrap();
            assert_eq!(w.counts().iter().sum::<usize>(), n);
            assert_eq!(w.counts()[1], 0);
        }
    }

    #[test]
    fn bad_parameters() {
        assert!(BlockCyclic::new(5, 2, 0).is_err());
        assert!(Weighted::new(5, 2, &Weights::Counts(vec![1, 1])).is_err());
        assert!(Weighted::new(5, 2, &Weights::Counts(vec![5])).is_err());
        assert!(Weighted::new(5, 2, &Weights::Fractions(vec![0.0, 0.0])).is_err());
        assert!(Weighted::new(5, 2, &Weights::Fractions(vec![0.5, 0.6])).is_err());
        assert!(Weighted::new(5, 2, &Weights::Fractions(vec![-1.0, 2.0])).is_err());
        assert!(Weighted::new(5, 2, &Weights::Fractions(vec![f64::NAN, 2.0])).is_err());
        assert!(PartitionSpec::from_kind(PartitionKind::Hash, None, None).is_err());
        assert!(PartitionSpec::from_kind(PartitionKind::BlockCyclic, None, None).is_err());
        assert!(PartitionSpec::from_kind(PartitionKind::BlockCyclic, Some(0), None).is_err());
        assert!(PartitionSpec::from_kind(PartitionKind::Block, Some(4), None).is_err());
        assert!(PartitionSpec::from_kind(PartitionKind::Weighted, None, None).is_err());
        assert_eq!(
            PartitionSpec::from_kind(PartitionKind::BlockCyclic, Some(4), None).unwrap(),
            PartitionSpec::BlockCyclic(4)
        );
    }
}
