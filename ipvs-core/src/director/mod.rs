//! The director: health checks that keep an IPVS table right, as ldirectord and keepalived
//! do, from either tool's configuration file, with the decisions sans-IO.
//!
//! * [`config`]: the one model both front ends produce.
//! * [`ldirectord`]: `ldirectord.cf` into the model.
//! * [`keepalived`]: `keepalived.conf` (its LVS part) into the model.
//! * [`machine`]: the state machine that takes probe outcomes and the clock and yields the
//!   desired table, which the planner ([`crate::plan`](mod@crate::plan)) turns into minimal
//!   operations.
//!
//! The probes, the event loop and the command lines (`ldirectord-rs`, `ipvs-director`) are in
//! the `examples` crate: the only I/O.

pub mod config;
pub mod keepalived;
pub mod ldirectord;
pub mod machine;
