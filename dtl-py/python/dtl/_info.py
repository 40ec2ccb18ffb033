"""``dtl.info()`` and ``dtl.info_text()``: the diagnostic report of dtl, MPI,
CUDA/NCCL and the ranks of a job — what to paste into a bug report.

``python -m dtl info`` (see ``dtl/__main__.py``) prints it.
"""

from __future__ import annotations

import platform
import sys
from typing import Any, Optional

import numpy

from ._dtl import Context, _info

__all__ = ["info", "info_text"]


def _python_fields() -> dict[str, Optional[str]]:
    """The interpreter and package versions of this process (local)."""
    try:
        import mpi4py

        mpi4py_version: Optional[str] = str(mpi4py.__version__)
    except ImportError:
        mpi4py_version = None
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "numpy": numpy.__version__,
        "mpi4py": mpi4py_version,
        "dtl_path": __file__.rsplit("/", 1)[0],
    }


def _collect(ctx: Optional[Context]) -> tuple[dict[str, Any], str]:
    py = _python_fields()
    extra = [("Python", [(k, v if v is not None else "not installed") for k, v in py.items()])]

    def run(c: Context) -> tuple[dict[str, Any], str]:
        fields, text = _info(c, extra)
        fields["python"] = py
        return fields, text

    if ctx is None:
        with Context() as c:
            return run(c)
    return run(ctx)


def info(ctx: Optional[Context] = None) -> dict[str, Any]:
    """The diagnostic report as a dict (JSON-serialisable).

    **Collective** over ``ctx`` (default: a new context over
    ``MPI_COMM_WORLD``, freed on return): every rank must call it. Works in
    a plain single process (an MPI singleton) as under ``mpirun``.
    Underneath: ``MPI_Get_library_version``, ``MPI_Get_version``,
    ``MPI_Query_thread``, ``MPI_Comm_split_type``, ``MPI_Allgather`` and
    ``MPI_Allgatherv`` (host names, CPU sets, process ids, CUDA probes);
    never needs a GPU.

    Keys: ``version``, ``profile`` (``"release"``/``"debug"``), ``target``,
    ``components`` (name → description of the parts compiled in),
    ``mpi_library_version``, ``mpi_version`` (``(major, minor)``),
    ``mpi_initialized_by_dtl``, ``thread_level_requested`` (``None`` when MPI
    was adopted), ``thread_level_provided`` (``"MPI_THREAD_..."``), ``size``,
    ``rank``, ``num_nodes``, ``node_hosts``, ``ranks_per_node``,
    ``node_cpus``, ``cuda_available``, ``cuda_status`` (why not, when not),
    ``cuda_device_count``, ``cuda_driver_version``, ``nccl_available``,
    ``nccl_status``, ``nvrtc_available``, ``ranks`` (one dict per rank:
    ``rank``, ``hostname``, ``node``, ``local_rank``, ``pid``, ``cpus``,
    ``gpu``, ``num_gpus``, ``cuda_status``) and ``python`` (``version``,
    ``implementation``, ``executable``, ``numpy``, ``mpi4py`` (``None`` if
    not installed), ``dtl_path``) of the calling rank. Every rank gets the
    whole ``ranks`` list.

    Raises ``BackendError`` if ``sched_getaffinity`` fails on a rank (on
    every rank).
    """
    return _collect(ctx)[0]


def info_text(ctx: Optional[Context] = None) -> str:
    """The diagnostic report as text, the same as ``python -m dtl info``
    prints and ``dtl_print_info`` in C (plus a Python section).
    **Collective**, as :func:`info`."""
    return _collect(ctx)[1]
