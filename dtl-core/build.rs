//! Compiles `src/rma/shim.c` (MPI handles rsmpi does not export) with the
//! MPI library's compiler wrapper, found the way `mpi-sys` finds it.

fn main() {
    println!("cargo:rerun-if-changed=src/rma/shim.c");
    let lib = match build_probe_mpi::probe() {
        Ok(lib) => lib,
        Err(errs) => {
            for e in errs {
                println!("cargo:warning=MPI probe: {e}");
            }
            panic!("dtl-core: no MPI library found (install Open MPI: see the README)");
        }
    };
    let mut cc = cc::Build::new();
    cc.file("src/rma/shim.c");
    match lib.mpicc {
        Some(mpicc) => {
            cc.compiler(mpicc);
        }
        None => {
            for inc in &lib.include_paths {
                cc.include(inc);
            }
        }
    }
    cc.compile("dtl_mpi_shim");
}
