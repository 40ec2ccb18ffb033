# DTL Python guide, "Example 3: Stencil Computation with Halo Exchange" (verbatim).
"""1D stencil with neighbor communication."""
import dtl
import numpy as np

with dtl.Context() as ctx:
    N = 1000
    vec = dtl.DistributedVector(ctx, size=N, dtype=np.float64)
    local = vec.local_view()
    local[:] = np.sin(np.linspace(0, 2*np.pi, vec.global_size))[vec.local_offset:vec.local_offset+len(local)]

    # Simple 3-point stencil: new[i] = 0.25*old[i-1] + 0.5*old[i] + 0.25*old[i+1]
    # (Boundary handling omitted for simplicity)
    result = np.zeros_like(local)
    for i in range(1, len(local) - 1):
        result[i] = 0.25 * local[i-1] + 0.5 * local[i] + 0.25 * local[i+1]

    # Copy boundaries
    result[0] = local[0]
    result[-1] = local[-1]

    local[:] = result
    ctx.barrier()

    if ctx.is_root:
        print("Stencil computation complete")
