//! Multi-rank tests of the `.npy` checkpoints (`dtl_core::io`): round trips
//! of every dtype and partition, the exact bytes against the format, files
//! written by hand in the shapes NumPy writes (Fortran order, big-endian),
//! chunked transfers, and the errors every rank must raise alike.
//!
//! The same tiny sequential runner as `tests/mpi.rs` (no test harness:
//! `harness = false`): one [`Environment`] and one world [`Context`] for the
//! whole run, every test in a fixed order on every rank, panics caught, and
//! after each test the ranks agree on the verdict with one
//! `MPI_Allreduce(MIN)`. Rank 0 prints `ok NAME` / `FAILED NAME: ...`, then
//! `N passed, M failed`; the exit status is non-zero if a test failed.
//! Files go to a fresh directory under `$TMPDIR` (rank 0 makes it and
//! broadcasts its name; every rank must see the same file system), removed
//! at the end.
//!
//! ```text
//! cargo test --release -p dtl-core --test mpi_io                   # np = 1
//! for np in 1 2 3 4; do cargo test --release -p dtl-core --test mpi_io \
//!   --config "target.'cfg(all())'.runner=['timeout','-k','10','300','mpirun','-np','$np']"; done
//! cargo test --release -p dtl-core --test mpi_io -- errors         # only names containing a word
//! ```
//!
//! Set `DTL_MPI_TEST_TIMES=1` to append each test's wall time to its line.

#[macro_use]
mod common;

use common::{fail, Suite};
use std::path::{Path, PathBuf};

use dtl_core::io::{self, npy};
use dtl_core::partition::{PartitionSpec, Weights};
use dtl_core::{Context, DType, DistributedArray, DistributedTensor, DistributedVector, Element, ReduceOp};
use ndarray::{ArrayD, Dimension, IxDyn};

// ------------------------------------------------------------------ helpers

static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// A file name in the shared test directory.
fn path(name: &str) -> PathBuf {
    DIR.get().expect("test directory").join(name)
}

/// Rank 0 makes a fresh directory; every rank learns its name.
fn make_shared_dir(ctx: &Context) -> PathBuf {
    let mut name = Vec::new();
    if ctx.is_root() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let d = std::env::temp_dir().join(format!("dtl-mpi-io-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&d).expect("cannot create the test directory");
        name = d.to_str().expect("UTF-8 temp dir").as_bytes().to_vec();
    }
    let name = ctx.broadcast_vec(&name, 0).expect("broadcast of the directory name");
    PathBuf::from(String::from_utf8(name).unwrap())
}

/// A deterministic value per global index that fits every dtype.
fn pat<T: Element>(i: usize) -> T {
    T::from_f64((i % 100) as f64 + if T::DTYPE.is_float() { 0.25 } else { 0.0 })
}

fn pattern<T: Element>(n: usize) -> Vec<T> {
    (0..n).map(pat::<T>).collect()
}

fn bytes_of<T: Element>(v: &[T]) -> Vec<u8> {
    // SAFETY: primitive numbers without padding.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }.to_vec()
}

/// Every layout a container can take over `size` ranks for `n` elements.
fn specs(n: usize, size: usize) -> Vec<PartitionSpec> {
    let mut counts = vec![0; size];
    // Uneven: everything on the last rank but one element on rank 0.
    counts[size - 1] = n;
    if n > 0 && size > 1 {
        counts[size - 1] -= 1;
        counts[0] = 1;
    }
    vec![
        PartitionSpec::Block,
        PartitionSpec::Cyclic,
        PartitionSpec::BlockCyclic(3),
        PartitionSpec::Weighted(Weights::Counts(counts)),
        PartitionSpec::Replicated,
    ]
}

/// Rank 0 checks that the file holds exactly `numpy.save`'s bytes.
fn check_file_bytes<T: Element>(ctx: &Context, p: &Path, shape: &[usize], data: &[T], what: &str) {
    if ctx.is_root() {
        let mut want = npy::header_bytes(T::DTYPE, shape, false);
        want.extend(bytes_of(data));
        match std::fs::read(p) {
            Ok(got) => check!(got == want, "{what}: file bytes differ ({} bytes, expected {})", got.len(), want.len()),
            Err(e) => fail(format!("{what}: cannot read back {}: {e}", p.display())),
        }
    }
}

/// The error is the same (status and message) on every rank, has status
/// `status`, and its message contains `needle`. Collective.
fn expect_err<R>(ctx: &Context, r: dtl_core::Result<R>, status: i32, needle: &str, what: &str) {
    let (code, hash) = match &r {
        Ok(_) => (0, 0u64),
        Err(e) => (
            e.status(),
            e.to_string().bytes().fold(1469598103934665603u64, |h, b| (h ^ b as u64).wrapping_mul(1099511628211)),
        ),
    };
    let lo = ctx.allreduce_scalar(code, ReduceOp::Min).unwrap();
    let hi = ctx.allreduce_scalar(code, ReduceOp::Max).unwrap();
    let hlo = ctx.allreduce_scalar(hash, ReduceOp::Min).unwrap();
    let hhi = ctx.allreduce_scalar(hash, ReduceOp::Max).unwrap();
    check!(lo == hi, "{what}: status differs across ranks ({lo}..{hi})");
    check!(hlo == hhi, "{what}: the message differs across ranks");
    match r {
        Ok(_) => fail(format!("{what}: expected an error with status {status}, got Ok")),
        Err(e) => {
            check_eq!(e.status(), status, "{what}: status of {e}");
            check!(e.to_string().contains(needle), "{what}: message {e:?} does not contain {needle:?}");
        }
    }
}

/// Writes a `.npy` file by hand on rank 0 (any header dict, raw data bytes,
/// padded as NumPy pads it), then waits for it on every rank.
fn write_raw(ctx: &Context, p: &Path, dict: &str, data: &[u8]) {
    if ctx.is_root() {
        let hlen = dict.len() + 1;
        let pad = 64 - (10 + hlen) % 64;
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&((hlen + pad) as u16).to_le_bytes());
        b.extend_from_slice(dict.as_bytes());
        b.extend(std::iter::repeat_n(b' ', pad));
        b.push(b'\n');
        b.extend_from_slice(data);
        std::fs::write(p, b).unwrap();
    }
    ctx.barrier().unwrap();
}

fn write_bytes(ctx: &Context, p: &Path, bytes: &[u8]) {
    if ctx.is_root() {
        std::fs::write(p, bytes).unwrap();
    }
    ctx.barrier().unwrap();
}

// ------------------------------------------------------------------ tests

fn t_roundtrip_1d<T: Element>(ctx: &Context) {
    let size = ctx.size();
    for n in [0usize, 1, 7, 100] {
        let full = pattern::<T>(n);
        for (k, spec) in specs(n, size).into_iter().enumerate() {
            let what = format!("n={n} save from {spec:?}");
            let p = path(&format!("v1d-{}-{n}-{k}.npy", T::DTYPE));
            let v = DistributedVector::<T>::from_global_with(ctx, &full, &spec).unwrap();
            v.save(&p).unwrap();
            check_file_bytes(ctx, &p, &[n], &full, &what);
            // Unchanged by the save (cyclic layouts save a copy).
            check_eq!(v.gather_all().unwrap(), full, "{what}: container changed");
            for spec2 in specs(n, size) {
                let w = DistributedVector::<T>::load(ctx, &p, &spec2).unwrap();
                check_eq!(w.partition().spec(), spec2.layout(n, size).unwrap().spec(), "{what}: layout");
                check_eq!(w.gather_all().unwrap(), full, "{what}, load into {spec2:?}");
                let a = DistributedArray::<T>::load(ctx, &p, &spec2).unwrap();
                check_eq!(a.gather_all().unwrap(), full, "{what}, array load into {spec2:?}");
            }
            let a = DistributedArray::<T>::from_global_with(ctx, &full, &spec).unwrap();
            let pa = path(&format!("a1d-{}-{n}-{k}.npy", T::DTYPE));
            a.save(&pa).unwrap();
            check_file_bytes(ctx, &pa, &[n], &full, &format!("{what} (array)"));
        }
    }
}

fn t_roundtrip_tensor<T: Element>(ctx: &Context) {
    let size = ctx.size();
    for shape in [vec![5usize], vec![0, 3], vec![7, 3, 2], vec![4, 5], vec![2, 0, 3], vec![3, 1, 2, 2]] {
        let n: usize = shape.iter().product();
        let full = ArrayD::from_shape_vec(IxDyn(&shape), pattern::<T>(n)).unwrap();
        let flat_data = pattern::<T>(n);
        for axis in 0..shape.len() {
            for (k, spec) in specs(shape[axis], size).into_iter().enumerate() {
                let what = format!("shape {shape:?} save from axis {axis} {spec:?}");
                let p = path(&format!("t-{}-{}-{axis}-{k}.npy", T::DTYPE, shape.len() * 100 + n));
                let t = DistributedTensor::<T>::scatter_from_with(ctx, Some(full.view()), 0, axis, &spec).unwrap();
                t.save(&p).unwrap();
                check_file_bytes(ctx, &p, &shape, &flat_data, &what);
                check_eq!(t.gather_all().unwrap(), full, "{what}: tensor changed");
                // Load into a few axes and layouts (every one for axis 0).
                for axis2 in 0..shape.len() {
                    for spec2 in specs(shape[axis2], size) {
                        if axis2 != 0 && !matches!(spec2, PartitionSpec::Cyclic | PartitionSpec::Block) {
                            continue;
                        }
                        let w = DistributedTensor::<T>::load(ctx, &p, axis2, &spec2).unwrap();
                        check_eq!(w.split_axis(), axis2, "{what}: axis");
                        check_eq!(w.shape(), &shape[..], "{what}: shape");
                        check_eq!(w.gather_all().unwrap(), full, "{what}, load along {axis2} into {spec2:?}");
                    }
                }
            }
        }
    }
}

/// Fortran-order and big-endian files, as NumPy writes them, into every axis.
fn t_foreign_layouts(ctx: &Context) {
    let size = ctx.size();
    for shape in [vec![6usize], vec![3, 4], vec![5, 2, 3], vec![2, 3, 0], vec![1, 7, 2, 3]] {
        let n: usize = shape.iter().product();
        let full: Vec<f64> = (0..n).map(|i| i as f64 * 0.5 - 3.0).collect();
        let want = ArrayD::from_shape_vec(IxDyn(&shape), full.clone()).unwrap();
        // Fortran order: element (i0..ik) at position sum_j i_j * prod(shape[..j]).
        let mut fdata = vec![0.0f64; n];
        for (idx, g) in want.indexed_iter() {
            let mut pos = 0;
            let mut stride = 1;
            for (j, &i) in idx.slice().iter().enumerate() {
                pos += i * stride;
                stride *= shape[j];
            }
            fdata[pos] = *g;
        }
        let shape_s = match shape.len() {
            1 => format!("({},)", shape[0]),
            _ => format!("({})", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
        };
        let pf = path(&format!("fortran-{n}-{}.npy", shape.len()));
        write_raw(
            ctx,
            &pf,
            &format!("{{'descr': '<f8', 'fortran_order': True, 'shape': {shape_s}, }}"),
            &bytes_of(&fdata),
        );
        let be: Vec<u8> = full.iter().flat_map(|x| x.to_be_bytes()).collect();
        let pb = path(&format!("bigendian-{n}-{}.npy", shape.len()));
        write_raw(ctx, &pb, &format!("{{'descr': '>f8', 'fortran_order': False, 'shape': {shape_s}, }}"), &be);
        let mut bef = Vec::new();
        fdata.iter().for_each(|x| bef.extend_from_slice(&x.to_be_bytes()));
        let pbf = path(&format!("bigendian-fortran-{n}-{}.npy", shape.len()));
        write_raw(ctx, &pbf, &format!("{{'descr': '>f8', 'fortran_order': True, 'shape': {shape_s}, }}"), &bef);
        for p in [&pf, &pb, &pbf] {
            let h = io::read_header(ctx, p).unwrap();
            check_eq!(h.shape, shape, "header of {}", p.display());
            for (axis, &len) in shape.iter().enumerate() {
                for spec in specs(len, size) {
                    let t = DistributedTensor::<f64>::load(ctx, p, axis, &spec).unwrap();
                    check_eq!(t.gather_all().unwrap(), want, "{} along {axis} into {spec:?}", p.display());
                }
            }
            if shape.len() == 1 {
                let v = DistributedVector::<f64>::load(ctx, p, &PartitionSpec::Cyclic).unwrap();
                check_eq!(v.gather_all().unwrap(), full, "{} as a vector", p.display());
            }
        }
    }
    // Big-endian integers of every width, and an old-style header.
    let v: Vec<i32> = (0..11).map(|i| i * 1_000_003 - 7).collect();
    let p = path("be-i4.npy");
    write_raw(
        ctx,
        &p,
        "{'descr': '>i4', 'fortran_order': False, 'shape': (11L,)}",
        &v.iter().flat_map(|x| x.to_be_bytes()).collect::<Vec<_>>(),
    );
    let w = DistributedVector::<i32>::load(ctx, &p, &PartitionSpec::BlockCyclic(2)).unwrap();
    check_eq!(w.gather_all().unwrap(), v, "big-endian int32");
    let v: Vec<u16> = (0..9).map(|i| i * 7001).collect();
    let p = path("be-u2.npy");
    write_raw(
        ctx,
        &p,
        "{'descr': '>u2', 'fortran_order': False, 'shape': (9,), }",
        &v.iter().flat_map(|x| x.to_be_bytes()).collect::<Vec<_>>(),
    );
    check_eq!(
        DistributedVector::<u16>::load(ctx, &p, &PartitionSpec::Block).unwrap().gather_all().unwrap(),
        v,
        "big-endian uint16"
    );
}

/// Transfers split into many small MPI-IO calls (odd sizes, so elements
/// straddle chunk boundaries and ranks need different numbers of calls).
fn t_chunked(ctx: &Context) {
    let old = io::set_max_transfer_bytes(7);
    for n in [0usize, 1, 13, 101] {
        let full = pattern::<f64>(n);
        for spec in specs(n, ctx.size()) {
            let p = path(&format!("chunked-{n}.npy"));
            let v = DistributedVector::<f64>::from_global_with(ctx, &full, &spec).unwrap();
            v.save(&p).unwrap();
            check_file_bytes(ctx, &p, &[n], &full, &format!("chunked n={n} {spec:?}"));
            let w = DistributedVector::<f64>::load(ctx, &p, &spec).unwrap();
            check_eq!(w.gather_all().unwrap(), full, "chunked load n={n} {spec:?}");
        }
    }
    let full = ArrayD::from_shape_vec(IxDyn(&[9, 5]), pattern::<u8>(45)).unwrap();
    let t = DistributedTensor::<u8>::scatter_from_with(ctx, Some(full.view()), 0, 1, &PartitionSpec::Cyclic).unwrap();
    let p = path("chunked-t.npy");
    t.save(&p).unwrap();
    let w = DistributedTensor::<u8>::load(
        ctx,
        &p,
        0,
        &PartitionSpec::Weighted(Weights::Fractions(vec![1.0 / ctx.size() as f64; ctx.size()])),
    )
    .unwrap();
    check_eq!(w.gather_all().unwrap(), full, "chunked tensor");
    io::set_max_transfer_bytes(old);
}

/// Saving over an existing (longer) file leaves exactly the new content.
fn t_overwrite(ctx: &Context) {
    let p = path("overwrite.npy");
    let big = DistributedVector::<f64>::from_global(ctx, &pattern::<f64>(1000)).unwrap();
    big.save(&p).unwrap();
    let small_data = pattern::<i16>(5);
    let small = DistributedVector::<i16>::from_global(ctx, &small_data).unwrap();
    small.save(&p).unwrap();
    check_file_bytes(ctx, &p, &[5], &small_data, "overwrite");
    // No temporary files are left behind.
    if ctx.is_root() {
        let left: Vec<String> = std::fs::read_dir(DIR.get().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("dtl-tmp"))
            .collect();
        check!(left.is_empty(), "temporary files left: {left:?}");
    }
}

fn t_read_header(ctx: &Context) {
    let p = path("header.npy");
    let t = DistributedTensor::<u32>::new(ctx, &[4, 3, 2]).unwrap();
    t.save(&p).unwrap();
    let h = io::read_header(ctx, &p).unwrap();
    check_eq!(h.dtype, DType::UInt32, "dtype");
    check_eq!(h.shape, vec![4, 3, 2], "shape");
    check_eq!((h.version, h.fortran_order, h.big_endian, h.data_offset), ((1, 0), false, false, 128), "header");
}

fn t_errors_load(ctx: &Context) {
    const INV: i32 = dtl_core::error::status::INVALID_ARGUMENT;
    let good = path("good-f64.npy");
    DistributedVector::<f64>::from_global(ctx, &pattern::<f64>(10)).unwrap().save(&good).unwrap();
    let missing = path("no-such-file.npy");
    expect_err(
        ctx,
        DistributedVector::<f64>::load(ctx, &missing, &PartitionSpec::Block),
        INV,
        "no-such-file.npy",
        "missing file",
    );
    expect_err(
        ctx,
        DistributedTensor::<f64>::load(ctx, &missing, 0, &PartitionSpec::Block),
        INV,
        "no-such-file.npy",
        "missing file (tensor)",
    );
    expect_err(ctx, io::read_header(ctx, &missing), INV, "no-such-file.npy", "missing file (header)");
    let text = path("text.npy");
    write_bytes(ctx, &text, b"hello, this is not a numpy file\n");
    expect_err(
        ctx,
        DistributedVector::<f64>::load(ctx, &text, &PartitionSpec::Block),
        INV,
        "text.npy': not a .npy file",
        "text file",
    );
    let dir = path("a-dir.npy");
    if ctx.is_root() {
        std::fs::create_dir_all(&dir).unwrap();
    }
    ctx.barrier().unwrap();
    expect_err(
        ctx,
        DistributedVector::<f64>::load(ctx, &dir, &PartitionSpec::Block),
        INV,
        "a-dir.npy': it is a directory",
        "a directory",
    );
    let empty = path("empty.npy");
    write_bytes(ctx, &empty, b"");
    expect_err(ctx, DistributedVector::<f64>::load(ctx, &empty, &PartitionSpec::Block), INV, "empty.npy", "empty file");
    // Truncated: the header says 10 float64, the file holds 9 and a half.
    let full = std::fs::read(&good).unwrap();
    let trunc = path("truncated.npy");
    write_bytes(ctx, &trunc, &full[..full.len() - 4]);
    expect_err(
        ctx,
        DistributedVector::<f64>::load(ctx, &trunc, &PartitionSpec::Cyclic),
        INV,
        "truncated.npy': the file is truncated",
        "truncated data",
    );
    write_bytes(ctx, &trunc, &full[..40]);
    expect_err(
        ctx,
        DistributedVector::<f64>::load(ctx, &trunc, &PartitionSpec::Cyclic),
        INV,
        "truncated",
        "truncated header",
    );
    let complex = path("complex.npy");
    write_raw(ctx, &complex, "{'descr': '<c16', 'fortran_order': False, 'shape': (2,), }", &[0u8; 32]);
    expect_err(
        ctx,
        DistributedVector::<f64>::load(ctx, &complex, &PartitionSpec::Block),
        INV,
        "complex.npy': unsupported dtype '<c16'",
        "complex",
    );
    let boolean = path("bool.npy");
    write_raw(ctx, &boolean, "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", &[1u8, 0]);
    expect_err(ctx, DistributedTensor::<u8>::load(ctx, &boolean, 0, &PartitionSpec::Block), INV, "bool.npy", "bool");
    expect_err(
        ctx,
        DistributedVector::<f32>::load(ctx, &good, &PartitionSpec::Block),
        INV,
        "holds float64 elements, not the requested float32",
        "wrong dtype",
    );
    let two_d = path("two-d.npy");
    DistributedTensor::<f64>::new(ctx, &[3, 2]).unwrap().save(&two_d).unwrap();
    expect_err(
        ctx,
        DistributedArray::<f64>::load(ctx, &two_d, &PartitionSpec::Block),
        INV,
        "two-d.npy",
        "2-d into a vector",
    );
    expect_err(
        ctx,
        DistributedTensor::<f64>::load(ctx, &two_d, 2, &PartitionSpec::Block),
        INV,
        "axis",
        "axis out of range",
    );
    let zero_d = path("zero-d.npy");
    write_raw(ctx, &zero_d, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", &[0u8; 8]);
    expect_err(ctx, DistributedTensor::<f64>::load(ctx, &zero_d, 0, &PartitionSpec::Block), INV, "zero-d.npy", "0-d");
    let wrong = PartitionSpec::Weighted(Weights::Counts(vec![1; ctx.size()]));
    expect_err(ctx, DistributedVector::<f64>::load(ctx, &good, &wrong), INV, "good-f64.npy", "weights that do not fit");
    expect_err(
        ctx,
        DistributedVector::<f64>::load(ctx, "bad\0path.npy", &PartitionSpec::Block),
        INV,
        "NUL",
        "NUL in the path",
    );
    // A path that differs across ranks.
    if ctx.size() > 1 {
        let mine = path(&format!("rank{}.npy", ctx.rank()));
        expect_err(
            ctx,
            DistributedVector::<f64>::load(ctx, &mine, &PartitionSpec::Block),
            dtl_core::error::status::MISMATCH,
            "path",
            "different paths",
        );
    }
    // Still in step, and the good file still loads.
    let v = DistributedVector::<f64>::load(ctx, &good, &PartitionSpec::Block).unwrap();
    check_eq!(v.gather_all().unwrap(), pattern::<f64>(10), "after the errors");
}

fn t_errors_save(ctx: &Context) {
    const INV: i32 = dtl_core::error::status::INVALID_ARGUMENT;
    let v = DistributedVector::<f64>::from_global(ctx, &pattern::<f64>(10)).unwrap();
    let nodir = path("no/such/dir/out.npy");
    expect_err(ctx, v.save(&nodir), INV, "out.npy", "missing directory");
    expect_err(ctx, v.save(DIR.get().unwrap().join("")), INV, "does not name a file", "a directory path");
    // The target is a directory: the data is written, the rename fails, the
    // temporary file is removed and the directory is untouched.
    let d = path("a-directory.npy");
    if ctx.is_root() {
        std::fs::create_dir_all(d.join("inside")).unwrap();
    }
    ctx.barrier().unwrap();
    expect_err(ctx, v.save(&d), INV, "a-directory.npy", "rename over a directory");
    if ctx.is_root() {
        check!(d.join("inside").is_dir(), "the directory was touched");
        let left: Vec<String> = std::fs::read_dir(DIR.get().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("dtl-tmp"))
            .collect();
        check!(left.is_empty(), "temporary files left: {left:?}");
    }
    if ctx.size() > 1 {
        let mine = path(&format!("save-rank{}.npy", ctx.rank()));
        expect_err(ctx, v.save(&mine), dtl_core::error::status::MISMATCH, "path", "different paths");
    }
    let p = path("after-errors.npy");
    v.save(&p).unwrap();
    check_file_bytes(ctx, &p, &[10], &pattern::<f64>(10), "after the errors");
}

// ------------------------------------------------------------------ main

fn main() {
    common::run(
        |_, ctx| {
            DIR.set(make_shared_dir(ctx)).expect("set once");
            all_tests()
        },
        |ctx| {
            ctx.barrier().expect("barrier");
            if ctx.is_root() {
                let _ = std::fs::remove_dir_all(DIR.get().expect("set in main"));
            }
        },
    );
}

fn all_tests() -> Suite {
    let mut s = Suite { tests: Vec::new() };
    per_dtype!(s, "io::roundtrip_1d", t_roundtrip_1d);
    s.add("io::roundtrip_tensor<f64>", t_roundtrip_tensor::<f64>);
    s.add("io::roundtrip_tensor<i8>", t_roundtrip_tensor::<i8>);
    s.add("io::roundtrip_tensor<u32>", t_roundtrip_tensor::<u32>);
    s.add("io::fortran_and_big_endian", t_foreign_layouts);
    s.add("io::chunked_transfers", t_chunked);
    s.add("io::overwrite", t_overwrite);
    s.add("io::read_header", t_read_header);
    s.add("io::errors_load", t_errors_load);
    s.add("io::errors_save", t_errors_save);
    s
}
