//! [`DistributedMap`]: a hash-partitioned key → value map.
//!
//! Each key lives on one rank, fixed by a hash of its bytes; `insert` and
//! `erase` are local (queued for keys other ranks own), `flush` and the
//! reads (`find`, `contains`, `find_many`, `global_size`, `global_view`)
//! are collective. See [`DistributedMap`] for the model and the order of
//! writes.
//!
//! ```
//! use dtl_core::{Context, DistributedMap};
//!
//! let ctx = Context::world()?;
//! let mut m = DistributedMap::<u32, i64>::new(&ctx)?;   // collective
//! m.insert(ctx.rank() as u32, 10)?;                      // local: applied or queued
//! m.flush()?;                                            // collective: MPI_Alltoallv
//! assert_eq!(m.find(&0)?, Some(10));                     // collective read
//! assert_eq!(m.global_size()?, ctx.size());              // collective: MPI_Allreduce
//! # Ok::<(), dtl_core::Error>(())
//! ```

use std::collections::HashMap;

use crate::collective::ReduceOp;
use crate::context::Context;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::partition::HashPartition;

/// Operation codes of the flush exchange (one `u8` per queued operation).
const OP_INSERT: u8 = 1;
const OP_ERASE: u8 = 2;

/// One write waiting for the next flush.
#[derive(Debug, Clone, Copy)]
struct Pending<K, V> {
    dest: usize,
    op: u8,
    key: K,
    value: V,
}

/// The little-endian bytes of `x` in `out[..n]`, `n = size_of::<T>()`.
fn le_bytes<T: Element>(x: &T, out: &mut [u8; 8]) -> usize {
    let n = std::mem::size_of::<T>();
    debug_assert!(n <= 8);
    // SAFETY: `Element` is sealed to the primitive integers and floats of at
    // most 8 bytes, which have no padding: all `n` bytes are initialised.
    let src = unsafe { std::slice::from_raw_parts((x as *const T).cast::<u8>(), n) };
    out[..n].copy_from_slice(src);
    if cfg!(target_endian = "big") {
        out[..n].reverse();
    }
    n
}

/// A hash-partitioned distributed map from `K` to `V`.
///
/// Every key lives on exactly one rank, its *owner*, given by
/// [`HashPartition::owner_of_bytes`] of the key's little-endian bytes: the
/// same on every rank, in every run and every build. Keys and values are
/// [`Element`] types (integers or floats). A float key must not be NaN
/// ([`Error::InvalidArgument`]), and `-0.0` is stored as `0.0` (they are one
/// key). Local storage is a `std::collections::HashMap` keyed by the key's
/// bit pattern.
///
/// Writes are **local and buffered**: [`insert`](Self::insert) and
/// [`erase`](Self::erase) apply at once when this rank owns the key and are
/// queued otherwise. The collective [`flush`](Self::flush) ships every
/// rank's queue to the owners in one batch (`MPI_Alltoallv`) and applies it.
/// Reads of remote keys are **collective**: [`find`](Self::find),
/// [`contains`](Self::contains) and [`find_many`](Self::find_many) flush
/// first, so a rank always sees every write issued (by any rank) before the
/// read; so do [`global_size`](Self::global_size) and
/// [`global_view`](Self::global_view).
///
/// # Order of writes
///
/// The owner's own writes take effect when they are issued. At a flush the
/// owner then applies the operations queued by the other ranks, by source
/// rank (rank 0's first) and, within one source, in the order they were
/// queued. So when several ranks write the same key between two flushes, the
/// value that remains is the one written last by the highest-ranked
/// non-owner that wrote it (or the owner's own last write if no other rank
/// wrote it).
///
/// # Example
///
/// Every rank inserts keys, some of them also inserted by other ranks, and
/// reads keys it does not own.
///
/// ```
/// use dtl_core::{Context, DistributedMap};
///
/// let ctx = Context::world()?;
/// let mut m = DistributedMap::<i64, f64>::new(&ctx)?;      // collective (one MPI_Allreduce check)
/// for k in 0..10i64 {
///     m.insert(k * (ctx.rank() as i64 + 1), k as f64)?;      // local: applied or queued
/// }
/// m.erase(0)?;                                              // local: applied or queued
/// m.flush()?;                                               // collective: MPI_Alltoallv
/// assert!(!m.contains(&0)?);                                 // collective read
/// let all = m.global_view()?;                               // collective: MPI_Allgatherv
/// assert_eq!(all.len(), m.global_size()?);                   // collective: MPI_Allreduce
/// assert!(all.windows(2).all(|w| w[0].0 < w[1].0));        // sorted by key
/// # Ok::<(), dtl_core::Error>(())
/// ```
#[derive(Debug)]
pub struct DistributedMap<K: Element, V: Element> {
    ctx: Context,
    hash: HashPartition,
    local: HashMap<u64, (K, V)>,
    queue: Vec<Pending<K, V>>,
}

impl<K: Element, V: Element> DistributedMap<K, V> {
    /// An empty map over the ranks of `ctx`. Collective: one agreement step
    /// (`MPI_Allreduce` of a few integers, unless collective checks are off)
    /// verifies that every rank uses the same key and value dtypes; no other
    /// communication.
    ///
    /// A binding that rejects its own arguments on one rank takes part with
    /// `ctx.agree_or_reject(op, &[], Some(err))` instead, and every rank
    /// fails.
    ///
    /// # Errors
    /// [`Error::Mismatch`] on every rank if the dtypes differ across ranks.
    pub fn new(ctx: &Context) -> Result<Self> {
        ctx.agree("DistributedMap::new", &Self::dtype_fields())?;
        Ok(DistributedMap {
            ctx: ctx.clone(),
            hash: HashPartition::new(ctx.size()),
            local: HashMap::new(),
            queue: Vec::new(),
        })
    }

    fn dtype_fields() -> [(&'static str, i64); 2] {
        [("key dtype code", K::DTYPE as i64), ("value dtype code", V::DTYPE as i64)]
    }

    /// The context the map lives on.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// The key as stored: NaN rejected, `-0.0` replaced by `0.0`.
    fn canonical(k: K) -> Result<K> {
        if k.is_nan() {
            return Err(Error::InvalidArgument(format!("a {} map key must not be NaN", K::DTYPE)));
        }
        // -0.0 == 0.0, so this turns -0.0 into +0.0 and leaves every other key alone.
        Ok(if k == K::ZERO { K::ZERO } else { k })
    }

    /// `(owner, bit pattern)` of a canonical key.
    fn locate(&self, k: &K) -> (usize, u64) {
        let mut b = [0u8; 8];
        let n = le_bytes(k, &mut b);
        (self.hash.owner_of_bytes(&b[..n]), u64::from_le_bytes(b))
    }

    fn bits(k: &K) -> u64 {
        let mut b = [0u8; 8];
        le_bytes(k, &mut b);
        u64::from_le_bytes(b)
    }

    /// The rank that owns `key` (the same on every rank). Not collective.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a NaN key.
    pub fn owner(&self, key: &K) -> Result<usize> {
        Ok(self.locate(&Self::canonical(*key)?).0)
    }

    /// True if this rank owns `key` (false for a NaN key). Not collective.
    pub fn is_local(&self, key: &K) -> bool {
        self.owner(key).is_ok_and(|o| o == self.ctx.rank())
    }

    fn apply(&mut self, op: u8, bits: u64, key: K, value: V) {
        if op == OP_INSERT {
            self.local.insert(bits, (key, value));
        } else {
            self.local.remove(&bits);
        }
    }

    fn write(&mut self, op: u8, key: K, value: V) {
        let (owner, bits) = self.locate(&key);
        if owner == self.ctx.rank() {
            self.apply(op, bits, key, value);
        } else {
            self.queue.push(Pending { dest: owner, op, key, value });
        }
    }

    /// Sets `key` to `value` (replacing any previous value): at once if this
    /// rank owns the key, else queued until the next [`flush`](Self::flush)
    /// (or collective read). Local (no communication).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a NaN key (nothing is changed).
    pub fn insert(&mut self, key: K, value: V) -> Result<()> {
        let k = Self::canonical(key)?;
        self.write(OP_INSERT, k, value);
        Ok(())
    }

    /// Removes `key` if present: at once if this rank owns the key, else
    /// queued until the next flush. Erasing a missing key does nothing.
    /// Local (no communication).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a NaN key (nothing is changed).
    pub fn erase(&mut self, key: K) -> Result<()> {
        let k = Self::canonical(key)?;
        self.write(OP_ERASE, k, V::ZERO);
        Ok(())
    }

    /// [`insert`](Self::insert) of `keys[i] → values[i]` for every `i`, in
    /// order. Local (no communication).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the lengths differ or a key is NaN; then
    /// nothing is changed.
    pub fn insert_many(&mut self, keys: &[K], values: &[V]) -> Result<()> {
        if keys.len() != values.len() {
            return Err(Error::InvalidArgument(format!(
                "insert_many: {} keys but {} values; pass one value per key",
                keys.len(),
                values.len()
            )));
        }
        let keys = keys.iter().map(|&k| Self::canonical(k)).collect::<Result<Vec<K>>>()?;
        for (k, &v) in keys.into_iter().zip(values) {
            self.write(OP_INSERT, k, v);
        }
        Ok(())
    }

    /// [`erase`](Self::erase) of every key of `keys`, in order. Local.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if a key is NaN; then nothing is changed.
    pub fn erase_many(&mut self, keys: &[K]) -> Result<()> {
        let keys = keys.iter().map(|&k| Self::canonical(k)).collect::<Result<Vec<K>>>()?;
        for k in keys {
            self.write(OP_ERASE, k, V::ZERO);
        }
        Ok(())
    }

    /// Number of writes this rank has queued for other ranks since the last
    /// flush. Not collective.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Sends every rank's queued writes to their owners and applies them
    /// there, by source rank and then queue order (see
    /// [Order of writes](Self#order-of-writes)). Collective: one `MPI_Allreduce` of the queue
    /// lengths; if any rank has queued writes, three `Context::alltoallv`
    /// exchanges (keys, values, op kinds; each an agreement step, an
    /// `MPI_Alltoall` of counts and an `MPI_Alltoallv`).
    ///
    /// # Errors
    /// [`Error::Communication`]/[`Error::InvalidArgument`] from the exchange
    /// (the same on every rank; e.g. more than `i32::MAX` operations for one
    /// rank); the queue is kept if the exchange fails before sending.
    pub fn flush(&mut self) -> Result<()> {
        let total = self.ctx.allreduce_scalar(self.queue.len() as u64, ReduceOp::Sum)?;
        if total == 0 {
            return Ok(());
        }
        let size = self.ctx.size();
        let mut counts = vec![0usize; size];
        for p in &self.queue {
            counts[p.dest] += 1;
        }
        let mut next = Vec::with_capacity(size);
        let mut acc = 0;
        for &c in &counts {
            next.push(acc);
            acc += c;
        }
        let n = self.queue.len();
        let (mut keys, mut values, mut ops) = (vec![K::ZERO; n], vec![V::ZERO; n], vec![0u8; n]);
        // Bucket by owner, keeping queue order inside each bucket.
        for p in &self.queue {
            let i = next[p.dest];
            next[p.dest] += 1;
            keys[i] = p.key;
            values[i] = p.value;
            ops[i] = p.op;
        }
        let (rk, _) = self.ctx.alltoallv(&keys, &counts)?;
        self.queue.clear();
        let (rv, _) = self.ctx.alltoallv(&values, &counts)?;
        let (ro, _) = self.ctx.alltoallv(&ops, &counts)?;
        // Received in source-rank order, each source's writes in queue order.
        for ((k, v), op) in rk.into_iter().zip(rv).zip(ro) {
            let (owner, bits) = self.locate(&k);
            debug_assert_eq!(owner, self.ctx.rank(), "flush delivered a key to a rank that does not own it");
            self.apply(op, bits, k, v);
        }
        Ok(())
    }

    /// Looks up one key per rank: every rank calls it, each with its own
    /// key, and gets the value of its key (`None` if absent). Collective (see
    /// [`find_many`](Self::find_many) for the MPI calls).
    ///
    /// # Errors
    /// As [`find_many`](Self::find_many).
    pub fn find(&mut self, key: &K) -> Result<Option<V>> {
        Ok(self.lookup("find", std::slice::from_ref(key))?[0])
    }

    /// True if `key` is in the map; every rank passes its own key.
    /// Collective, as [`find`](Self::find).
    ///
    /// # Errors
    /// As [`find_many`](Self::find_many).
    pub fn contains(&mut self, key: &K) -> Result<bool> {
        Ok(self.lookup("contains", std::slice::from_ref(key))?[0].is_some())
    }

    /// Looks up a batch of keys per rank (each rank its own batch, possibly
    /// empty, duplicates allowed); returns one `Option<V>` per key, in
    /// order. Collective: one agreement step (`MPI_Allreduce`) over the key
    /// validity and the dtypes, then [`flush`](Self::flush), then one
    /// `Context::alltoallv` of the queries to their owners and one of the
    /// answers back (a found flag and the value per query).
    ///
    /// A binding that rejects its own arguments on one rank takes part with
    /// `ctx.agree_or_reject(op, &[], Some(err))` instead; then every rank
    /// fails and nothing is flushed.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if any rank passes a NaN key (on that rank,
    /// and on every other rank an error of the same kind naming the
    /// rejection); [`Error::Mismatch`] if the ranks' maps have different
    /// dtypes; errors of [`flush`](Self::flush).
    pub fn find_many(&mut self, keys: &[K]) -> Result<Vec<Option<V>>> {
        self.lookup("find_many", keys)
    }

    fn lookup(&mut self, op_name: &str, keys: &[K]) -> Result<Vec<Option<V>>> {
        let canon = keys.iter().map(|&k| Self::canonical(k)).collect::<Result<Vec<K>>>();
        self.ctx.agree_or_reject(op_name, &Self::dtype_fields(), canon.as_ref().err().cloned())?;
        let keys = canon?;
        self.flush()?;
        let size = self.ctx.size();
        let owners: Vec<usize> = keys.iter().map(|k| self.locate(k).0).collect();
        let mut counts = vec![0usize; size];
        for &o in &owners {
            counts[o] += 1;
        }
        let mut next = Vec::with_capacity(size);
        let mut acc = 0;
        for &c in &counts {
            next.push(acc);
            acc += c;
        }
        // slot[i]: position of query i in the bucketed send buffer.
        let mut send = vec![K::ZERO; keys.len()];
        let mut slot = vec![0usize; keys.len()];
        for (i, (&k, &o)) in keys.iter().zip(&owners).enumerate() {
            slot[i] = next[o];
            send[next[o]] = k;
            next[o] += 1;
        }
        let (queries, qcounts) = self.ctx.alltoallv(&send, &counts)?;
        // Answers: (found flag as V::ONE / V::ZERO, value) per query, in the
        // order the queries arrived.
        let mut answers = Vec::with_capacity(2 * queries.len());
        for k in &queries {
            match self.local.get(&Self::bits(k)) {
                Some(&(_, v)) => answers.extend([V::ONE, v]),
                None => answers.extend([V::ZERO, V::ZERO]),
            }
        }
        let acounts: Vec<usize> = qcounts.iter().map(|c| 2 * c).collect();
        let (back, _) = self.ctx.alltoallv(&answers, &acounts)?;
        Ok(slot.into_iter().map(|s| (back[2 * s] == V::ONE).then_some(back[2 * s + 1])).collect())
    }

    /// Number of pairs stored on this rank (the writes it owns, applied at
    /// once, plus those delivered by past flushes; not the queued ones). Not
    /// collective.
    pub fn local_size(&self) -> usize {
        self.local.len()
    }

    /// Number of pairs over all ranks, after a [`flush`](Self::flush).
    /// Collective: the flush, then one `MPI_Allreduce`.
    ///
    /// # Errors
    /// Errors of [`flush`](Self::flush).
    pub fn global_size(&mut self) -> Result<usize> {
        self.flush()?;
        Ok(self.ctx.allreduce_scalar(self.local.len() as u64, ReduceOp::Sum)? as usize)
    }

    /// Same as [`global_size`](Self::global_size). Collective.
    pub fn size(&mut self) -> Result<usize> {
        self.global_size()
    }

    /// True if no rank holds a pair after a flush. Collective, as
    /// [`global_size`](Self::global_size).
    pub fn empty(&mut self) -> Result<bool> {
        Ok(self.global_size()? == 0)
    }

    /// This rank's pairs, in no particular order (no communication; queued
    /// writes are not included).
    pub fn local_iter(&self) -> impl Iterator<Item = (K, V)> + '_ {
        self.local.values().copied()
    }

    /// This rank's pairs, sorted by key (no communication).
    pub fn local_pairs(&self) -> Vec<(K, V)> {
        let mut v: Vec<(K, V)> = self.local_iter().collect();
        sort_by_key(&mut v);
        v
    }

    /// Every pair of the map on every rank, sorted by key. Collective: a
    /// [`flush`](Self::flush), then two `Context::allgatherv` (keys, values;
    /// each an `MPI_Allgather` of the counts and an `MPI_Allgatherv`).
    ///
    /// # Errors
    /// Errors of [`flush`](Self::flush) and of the gathers (e.g. more than
    /// `i32::MAX` pairs in all).
    pub fn global_view(&mut self) -> Result<Vec<(K, V)>> {
        self.flush()?;
        let (keys, values): (Vec<K>, Vec<V>) = self.local_iter().unzip();
        let (all_k, _) = self.ctx.allgatherv(&keys)?;
        let (all_v, _) = self.ctx.allgatherv(&values)?;
        let mut all: Vec<(K, V)> = all_k.into_iter().zip(all_v).collect();
        sort_by_key(&mut all);
        Ok(all)
    }
}

/// Sorts pairs by key (keys are never NaN, so the order is total).
fn sort_by_key<K: Element, V>(v: &mut [(K, V)]) {
    v.sort_unstable_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn le_bytes_and_bits() {
        let mut b = [0u8; 8];
        assert_eq!(le_bytes(&0x0102_0304i32, &mut b), 4);
        assert_eq!(&b[..4], &0x0102_0304i32.to_le_bytes());
        assert_eq!(le_bytes(&1.5f64, &mut b), 8);
        assert_eq!(b, 1.5f64.to_le_bytes());
        assert_eq!(DistributedMap::<u8, u8>::bits(&0xab), 0xab);
        assert_eq!(DistributedMap::<f32, u8>::bits(&1.0), u64::from(1.0f32.to_bits()));
    }

    #[test]
    fn canonical_keys() {
        assert_eq!(DistributedMap::<f64, i32>::canonical(-0.0).unwrap().to_bits(), 0.0f64.to_bits());
        assert!(matches!(DistributedMap::<f32, i32>::canonical(f32::NAN), Err(Error::InvalidArgument(_))));
        assert_eq!(DistributedMap::<i8, i32>::canonical(-3).unwrap(), -3);
        assert_eq!(DistributedMap::<f64, i32>::canonical(f64::INFINITY).unwrap(), f64::INFINITY);
    }
}
