//! Criterion micro-benchmarks of the partition index maps (no MPI: the
//! partitions are pure functions of `n`, the rank count and the policy).
//!
//! For every policy (block, cyclic, block-cyclic with blocks of 64,
//! weighted with uneven counts) and a few `(n, ranks)` pairs, one
//! iteration is a whole pass over the `n` global indices through
//! `owner(i)`, through `global_to_local(i)`, over rank 0's local indices
//! through `local_to_global(0, l)`, and over every rank's
//! `Layout::local_indices` (the bulk walk); the hash partition maps `n`
//! 8-byte keys to owners. Criterion reports the time of one pass and the
//! throughput in elements per second. Run with `make bench-rust` (or
//! `cargo bench -p dtl-core --bench partition`); `bench/criterion_json.py`
//! turns the results into `bench/results/rust_criterion.json`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use dtl_core::partition::{HashPartition, Layout, Partition, PartitionSpec, Weights};

/// The `(n, ranks)` pairs measured.
const SHAPES: [(usize, usize); 3] = [(1_000, 4), (1_000_000, 4), (1_000_000, 64)];

fn layouts(n: usize, p: usize) -> Vec<(&'static str, Layout)> {
    // Uneven weighted counts: rank r gets a share proportional to r % 3 + 1.
    let w: Vec<usize> = (0..p).map(|r| r % 3 + 1).collect();
    let total: usize = w.iter().sum();
    let mut counts: Vec<usize> = w.iter().map(|x| x * n / total).collect();
    counts[0] += n - counts.iter().sum::<usize>();
    vec![
        ("block", PartitionSpec::Block.layout(n, p).expect("block")),
        ("cyclic", PartitionSpec::Cyclic.layout(n, p).expect("cyclic")),
        ("block-cyclic(64)", PartitionSpec::BlockCyclic(64).layout(n, p).expect("block-cyclic")),
        ("weighted", PartitionSpec::Weighted(Weights::Counts(counts)).layout(n, p).expect("weighted")),
    ]
}

fn bench_maps(c: &mut Criterion) {
    for (n, p) in SHAPES {
        for (name, layout) in layouts(n, p) {
            let mut g = c.benchmark_group(format!("partition {name} p={p}"));
            g.throughput(Throughput::Elements(n as u64));
            g.bench_with_input(BenchmarkId::new("owner", n), &layout, |b, l| {
                b.iter(|| {
                    let mut acc = 0usize;
                    for i in 0..n {
                        acc = acc.wrapping_add(l.owner(black_box(i)).unwrap_or(0));
                    }
                    acc
                })
            });
            g.bench_with_input(BenchmarkId::new("global_to_local", n), &layout, |b, l| {
                b.iter(|| {
                    let mut acc = 0usize;
                    for i in 0..n {
                        let (r, k) = l.global_to_local(black_box(i)).unwrap_or((0, 0));
                        acc = acc.wrapping_add(r ^ k);
                    }
                    acc
                })
            });
            let n0 = layout.local_size(0);
            g.bench_with_input(BenchmarkId::new("local_to_global (rank 0)", n), &layout, |b, l| {
                b.iter(|| {
                    let mut acc = 0usize;
                    for k in 0..n0 {
                        acc = acc.wrapping_add(l.local_to_global(0, black_box(k)).unwrap_or(0));
                    }
                    acc
                })
            });
            g.bench_with_input(BenchmarkId::new("local_indices (all ranks)", n), &layout, |b, l| {
                b.iter(|| {
                    (0..p).map(|r| l.local_indices(r).fold(0usize, usize::wrapping_add)).fold(0, usize::wrapping_add)
                })
            });
            g.finish();
        }
        let h = HashPartition::new(p);
        let mut g = c.benchmark_group(format!("partition hash p={p}"));
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("owner_of_bytes (u64 keys)", n), |b| {
            b.iter(|| {
                let mut acc = 0usize;
                for i in 0..n as u64 {
                    acc = acc.wrapping_add(h.owner_of_bytes(&black_box(i).to_le_bytes()));
                }
                acc
            })
        });
        g.finish();
    }
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20)
        .configure_from_args();
    bench_maps(&mut c);
    c.final_summary();
}
