//! The deterministic reduction: bitwise the same result at every number of
//! ranks, under every partition (see
//! [`Distributed1D::reduce_deterministic`]).

use rayon::prelude::*;

use super::kernels::{parallel, reduce_chunk, reduce_slice, tree, CHUNK};
use crate::collective::ReduceOp;
use crate::containers::redistribute::redistribute_1d;
use crate::containers::Distributed1D;
use crate::element::Element;
use crate::error::Result;
use crate::partition::{Partition, PartitionSpec};

impl<T: Element> Distributed1D<T> {
    /// `op` over all elements, on every rank, **bitwise identical for any
    /// number of ranks and any partition**: exactly what one process gets
    /// for the same global sequence (`reduce` at np 1, and `Seq` or
    /// `Par`). The global index range is cut into fixed chunks of 32 768
    /// elements; each chunk is reduced whole (pairwise for sums, as
    /// `numpy.sum`) by the rank holding its first element, and the chunk
    /// results are combined in a fixed pairwise tree in chunk order.
    ///
    /// Cost, on top of [`reduce`](Self::reduce): for block and weighted
    /// partitions, one `MPI_Allgatherv` of the pieces of chunks that
    /// straddle rank boundaries (under 32 768 elements per rank) and one
    /// `MPI_Allgatherv` of the chunk results (one value per 32 768
    /// elements); cyclic and block-cyclic containers are first copied to
    /// the block layout (one `MPI_Alltoallv` of all elements, and a second
    /// local buffer). Integer reductions are exact in any order, so for
    /// integers this is [`reduce`](Self::reduce). Collective.
    ///
    /// # Errors
    /// As for [`reduce`](Self::reduce).
    pub fn reduce_deterministic(&self, op: ReduceOp) -> Result<T> {
        if !T::DTYPE.is_float() {
            return self.reduce(op);
        }
        self.collective_with("reduce_deterministic", Some(op), &[], None)?;
        if self.local_answers() {
            return Ok(reduce_slice(&self.data, op, self.exec));
        }
        let (ctx, n) = (&self.ctx, self.global_size());
        let block;
        let (data, offset) = if self.part.is_contiguous() {
            (&self.data[..], self.part.local_offset(ctx.rank()))
        } else {
            let layout = PartitionSpec::Block.layout(n, ctx.size())?;
            block = redistribute_1d(ctx, self.data.clone(), &self.part, &layout, T::ZERO)?;
            (&block[..], layout.local_offset(ctx.rank()))
        };
        let mine = chunk_results(ctx, data, offset, n, |c| reduce_chunk(c, op), parallel(self.exec, data.len()))?;
        let (all, _) = ctx.allgatherv(&mine)?;
        Ok(tree(&all, op))
    }
}

/// `f` of every fixed chunk `[c·CHUNK, (c+1)·CHUNK) ∩ [0, n)` that starts
/// in this rank's contiguous range `[offset, offset + data.len())`, in
/// order. A chunk running past the range is completed with the heads of
/// the following ranks (one `MPI_Allgatherv` of every rank's elements
/// before its first chunk boundary). Collective.
fn chunk_results<T: Element, U: Element>(
    ctx: &crate::Context,
    data: &[T],
    offset: usize,
    n: usize,
    f: impl Fn(&[T]) -> U + Sync,
    par: bool,
) -> Result<Vec<U>> {
    let end = offset + data.len();
    let head = if data.is_empty() { 0 } else { (offset.next_multiple_of(CHUNK) - offset).min(data.len()) };
    let (heads, counts) = ctx.allgatherv(&data[..head])?;
    let first = offset.div_ceil(CHUNK);
    let last = end.div_ceil(CHUNK); // chunks first..last start in my range
    let whole = |c: usize| ((c + 1) * CHUNK).min(n) <= end;
    let inner: Vec<usize> = (first..last).filter(|&c| whole(c)).collect();
    let local = |c: usize| f(&data[c * CHUNK - offset..((c + 1) * CHUNK).min(n) - offset]);
    let mut out: Vec<U> =
        if par { inner.par_iter().map(|&c| local(c)).collect() } else { inner.iter().map(|&c| local(c)).collect() };
    if first < last && !whole(last - 1) {
        // The last chunk continues on the next ranks: my tail, then their
        // heads in rank order until it is complete.
        let c = last - 1;
        let want = ((c + 1) * CHUNK).min(n) - c * CHUNK;
        let mut buf = data[c * CHUNK - offset..].to_vec();
        let mut at: usize = counts[..=ctx.rank()].iter().sum();
        for &k in &counts[ctx.rank() + 1..] {
            let take = k.min(want - buf.len());
            buf.extend_from_slice(&heads[at..at + take]);
            at += k;
            if buf.len() == want {
                break;
            }
        }
        out.push(f(&buf));
    }
    Ok(out)
}
