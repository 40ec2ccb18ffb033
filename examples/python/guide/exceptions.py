# DTL Python guide, "Exception Handling" (verbatim, inside a context).
import dtl

with dtl.Context() as ctx:
    try:
        vec = dtl.DistributedVector(ctx, -1)  # Invalid size
    except dtl.InvalidArgumentError as e:
        print(f"Invalid argument: {e}")
    except dtl.DTLError as e:
        print(f"DTL error: {e}")
