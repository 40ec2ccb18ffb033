//! `dtl_window_t`: MPI RMA windows (see dtl_core::rma).
