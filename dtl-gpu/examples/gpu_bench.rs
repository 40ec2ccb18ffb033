//! GPU benchmarks of issue 7's targets, each a ratio measured in the same
//! run (median of repeated runs after a warm-up):
//!
//! 1. device `reduce` SUM of 2^28 f32 vs the device-to-device copy
//!    bandwidth of the same buffer (`cuMemcpyDtoD`, read + write bytes):
//!    target ≥ 0.8;
//! 2. 1 GiB host→device and device→host copies through dtl
//!    (`DeviceBuffer::upload`/`download`) vs raw `cuMemcpyHtoD`/`DtoH` on
//!    the same buffers: target within 10 %;
//! 3. with NCCL, `allreduce` of 64 MiB f32 through dtl (`DeviceComm`) vs
//!    `ncclAllReduce` called directly on the same communicator: target
//!    within 5 %.
//!
//! ```text
//! mpirun -np 1 target/release/examples/gpu_bench [--json bench/results/gpu.json] [--log2n 28]
//! ```
//!
//! Without CUDA it says so and exits 0.

use std::time::Instant;

use dtl_core::partition::PartitionSpec;
use dtl_core::{Context, Placement, ReduceOp};
use dtl_gpu::{DeviceBuffer, DeviceComm, DeviceContainer, NcclComm, NcclMode};

/// Median seconds of `reps` runs of `f` after two warm-up runs.
fn median(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    f();
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(|a, b| a.total_cmp(b));
    t[t.len() / 2]
}

struct Row {
    name: &'static str,
    dtl_s: f64,
    base_s: f64,
    bytes: f64,
    target: &'static str,
}

fn main() -> dtl_core::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |k: &str| args.iter().position(|a| a == k).and_then(|i| args.get(i + 1)).cloned();
    let log2n: u32 = arg("--log2n").and_then(|v| v.parse().ok()).unwrap_or(28);
    let ctx = Context::world()?;
    if !dtl_gpu::has_cuda() {
        if ctx.is_root() {
            println!("gpu_bench: skipped, CUDA is not available ({})", dtl_gpu::cuda_status());
        }
        return Ok(());
    }
    let mut rows = Vec::new();

    // 1. Device reduce vs device-to-device copy bandwidth.
    let n = 1usize << log2n;
    let v =
        DeviceContainer::<f32>::vector(&Context::self_only()?, n, 1.0, &PartitionSpec::Block, Placement::Device, None)?;
    let g = v.buffer().gpu().clone();
    let mut copy = DeviceBuffer::<f32>::zeros(&g, n, Placement::Device)?;
    let bytes = (n * 4) as f64;
    let t_reduce = median(10, || {
        let s = v.reduce_local(ReduceOp::Sum).expect("reduce");
        assert_eq!(s, n as f32, "sum of ones");
    });
    let t_copy = median(10, || {
        copy.copy_from(v.buffer()).expect("copy");
        g.synchronize().expect("sync");
    });
    // The copy moves 2 × bytes (read + write); the reduce reads `bytes`.
    rows.push(Row {
        name: "reduce SUM f32 vs DtoD copy",
        dtl_s: t_reduce,
        base_s: t_copy / 2.0,
        bytes,
        target: ">= 0.80",
    });

    // 2. 1 GiB host <-> device through dtl vs raw cuMemcpy.
    let m = (1usize << 30) / 8;
    let host: Vec<f64> = (0..m).map(|i| i as f64).collect();
    let mut back = vec![0.0f64; m];
    let mut buf = DeviceBuffer::<f64>::zeros(&g, m, Placement::Device)?;
    let dptr = buf.device_ptr();
    // The raw calls below use the current context of this thread.
    g.context().bind_to_thread().map_err(|e| dtl_core::Error::Backend(format!("cuCtxSetCurrent: {e:?}")))?;
    let t_up = median(5, || buf.upload(&host).expect("upload"));
    let t_up_raw = median(5, || {
        // SAFETY: `dptr` addresses `m` f64 on the device; `host` holds `m`.
        unsafe { cudarc::driver::result::memcpy_htod_sync(dptr, &host[..]) }.expect("cuMemcpyHtoD");
    });
    let t_down = median(5, || buf.download(&mut back).expect("download"));
    let t_down_raw = median(5, || {
        // SAFETY: as above, the other way.
        unsafe { cudarc::driver::result::memcpy_dtoh_sync(&mut back[..], dptr) }.expect("cuMemcpyDtoH");
    });
    assert_eq!(back[m - 1], (m - 1) as f64);
    let gib = (m * 8) as f64;
    rows.push(Row {
        name: "1 GiB host->device vs cuMemcpyHtoD",
        dtl_s: t_up,
        base_s: t_up_raw,
        bytes: gib,
        target: ">= 0.90",
    });
    rows.push(Row {
        name: "1 GiB device->host vs cuMemcpyDtoH",
        dtl_s: t_down,
        base_s: t_down_raw,
        bytes: gib,
        target: ">= 0.90",
    });

    // 3. NCCL allreduce through dtl vs NCCL directly.
    if dtl_gpu::has_nccl() {
        let nc = std::sync::Arc::new(NcclComm::new(&ctx, None, NcclMode::NativeOnly)?);
        let comm = DeviceComm::new(&ctx, Some(nc.clone()));
        let k = (64usize << 20) / 4;
        let mut b = DeviceBuffer::<f32>::zeros(nc.gpu(), k, Placement::Device)?;
        let p = b.device_ptr();
        ctx.barrier()?;
        let t_dtl = median(10, || comm.allreduce(&mut b, ReduceOp::Sum).expect("allreduce"));
        ctx.barrier()?;
        let t_raw = median(10, || {
            // SAFETY: `p` addresses `k` f32 on this rank's GPU.
            unsafe { nc.allreduce_raw::<f32>(p, p, k, ReduceOp::Sum) }.expect("ncclAllReduce");
        });
        rows.push(Row {
            name: "NCCL allreduce 64 MiB f32 (dtl vs ncclAllReduce)",
            dtl_s: t_dtl,
            base_s: t_raw,
            bytes: (k * 4) as f64,
            target: ">= 0.95",
        });
    }

    if ctx.is_root() {
        println!("device: {} ({}), ranks: {}", g.name(), dtl_gpu::cuda_status(), ctx.size());
        println!("{:<50} {:>12} {:>12} {:>8} {:>8}", "benchmark", "dtl GB/s", "base GB/s", "ratio", "target");
        let mut json = String::from("[\n");
        for (i, r) in rows.iter().enumerate() {
            let (a, b) = (r.bytes / r.dtl_s / 1e9, r.bytes / r.base_s / 1e9);
            println!("{:<50} {:>12.1} {:>12.1} {:>8.3} {:>8}", r.name, a, b, a / b, r.target);
            json.push_str(&format!(
                "  {{\"name\": {:?}, \"dtl_s\": {:e}, \"baseline_s\": {:e}, \"bytes\": {}, \"dtl_gbs\": {:.3}, \
                 \"baseline_gbs\": {:.3}, \"ratio\": {:.4}, \"target\": {:?}}}{}\n",
                r.name,
                r.dtl_s,
                r.base_s,
                r.bytes,
                a,
                b,
                a / b,
                r.target,
                if i + 1 < rows.len() { "," } else { "" }
            ));
        }
        json.push_str("]\n");
        if let Some(path) = arg("--json") {
            std::fs::write(&path, json).map_err(|e| dtl_core::Error::InvalidArgument(format!("--json {path}: {e}")))?;
            println!("wrote {path}");
        }
    }
    Ok(())
}
