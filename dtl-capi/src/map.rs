//! `dtl_map_t`: a hash-partitioned distributed map (see DistributedMap).
