//! The director daemon behind `ldirectord-rs` and `ipvs-director`: probes, the event loop, the
//! command lines, logging, and `lvs-prep`'s decisions.
//!
//! ```text
//! config file ──parser (ipvs_core::director)──> DirectorConfig ──> Director (the machine)
//!                                                                   │ poll_probe  -> probe::Prober (one task per probe)
//!                                                                   │ poll_event  -> log / run a command
//!                                                                   └ desired()   -> plan -> netlink Client
//! ```
//!
//! * [`probe`]: one file per probe kind (TCP/UDP connect, HTTP(S), DNS, SMTP, simple TCP,
//!   ICMP, UDP, external command, fixed), each under its check's own timeout.
//! * [`daemon`]: the event loop ([`daemon::Daemon`]), generic over the backend so tests run it
//!   on the in-memory table.
//! * [`cli`]: both command lines (ldirectord's and `--keepalived`), the pid file, daemonizing.
//! * [`source`]: the filesystem and name resolution the parsers read through.
//! * [`log`]: standard error, a log file or syslog.
//! * [`status`]: the status snapshot (one serde struct) that the status socket, `/status.json`,
//!   `/metrics` ([`metrics`]) and the `status` commands show; [`telemetry`]: what the daemon
//!   measures and how a snapshot is built; [`observe`]: the HTTP server and the status socket;
//!   [`page`]: the status page at `/` (HTML, from the same snapshot).
//! * [`prep`]: `lvs-prep` (real-server and director preparation): the pure decisions and their
//!   application through rtnetlink and `/proc/sys`.

pub mod cli;
pub mod daemon;
pub mod log;
pub mod metrics;
pub mod observe;
pub mod page;
pub mod prep;
pub mod probe;
pub mod source;
pub mod status;
pub mod telemetry;
