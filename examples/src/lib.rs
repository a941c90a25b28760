//! The library half of the example programs: the director daemon behind `ldirectord-rs` and
//! `ipvs-director` (its probes, event loop and command line), and the decisions of `lvs-prep`.
//!
//! The binaries in `src/bin/` are thin command lines over [`director`]. The decisions a
//! director makes live in `ipvs_core::director` (sans-IO); everything here is I/O: sockets,
//! processes, signals, the netlink client.

pub mod director;
