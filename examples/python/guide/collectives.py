# DTL Python guide, "Collective Operations / Examples" (verbatim).
import dtl
import numpy as np

with dtl.Context() as ctx:
    # Allreduce: global sum
    local_value = np.array([ctx.rank * 10.0])
    global_sum = dtl.allreduce(ctx, local_value, op=dtl.SUM)

    # Reduce to root
    global_max = dtl.reduce(ctx, local_value, op=dtl.MAX, root=0)

    # Broadcast from root
    if ctx.is_root:
        data = np.array([1.0, 2.0, 3.0])
    else:
        data = np.zeros(3)
    data = dtl.broadcast(ctx, data, root=0)

    # Gather: collect arrays at root
    my_data = np.array([ctx.rank])
    gathered = dtl.gather(ctx, my_data, root=0)
    # On root: gathered.shape = (size, 1)

    # Scatter: distribute from root
    if ctx.is_root:
        all_data = np.arange(ctx.size * 3).reshape(ctx.size, 3)
    else:
        all_data = np.empty((ctx.size, 3))
    my_chunk = dtl.scatter(ctx, all_data, root=0)
    # my_chunk.shape = (3,)

    # Allgather: gather to all
    all_gathered = dtl.allgather(ctx, my_data)
    # all_gathered.shape = (size, 1)
