//! The director's decisions, sans-IO (quinn-proto's shape): a deterministic state machine
//! that never sleeps, reads no clock and opens nothing. The daemon feeds it (`handle_*`, with
//! the current time) and asks it (`poll_*`): which probe to start now, when to come back, what
//! the table should be, what to log and which commands to run. Time and randomness are inputs,
//! so tests replay years of flapping servers in milliseconds.
//!
//! ```text
//! loop {
//!     while let Some(p) = director.poll_probe(now) { spawn the probe p; its outcome comes back
//!                                                    as handle_outcome(p.id, outcome, now) }
//!     while let Some(e) = director.poll_event() { log it / run its command }
//!     if director.table_changed() { plan(kernel table of owned keys, director.desired()) and apply }
//!     sleep until director.poll_timeout(), an outcome, a signal or a reload
//! }
//! ```
//!
//! STATUS: the API below is the contract the daemon is written against; the implementation is
//! being filled in (see `docs/director.md`).

use crate::dest::{Destination, DestinationKey};
use crate::sched::Time;
use crate::service::{Service, ServiceKey};
use crate::status::{DestinationStatus, ServiceStatus};

use super::config::{Check, Command, DirectorConfig, Origin, Probe};

/// Identifies one scheduled probe run, to match its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProbeId(pub u64);

/// A probe the daemon must start now.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProbeRequest {
    /// Quote it in [`Director::handle_outcome`].
    pub id: ProbeId,
    /// What to run (for [`Probe::Alternate`], the machine has already chosen this turn's kind).
    pub probe: Probe,
    /// The check it belongs to (target, bind, fwmark, timeout).
    pub check: Check,
    /// The virtual service and real server it is for (ldirectord's external checks get them as
    /// arguments; several services may share one probe).
    pub service: ServiceKey,
    /// The real server it is for.
    pub real: DestinationKey,
    /// When its result stops counting (start + the check's timeout): the daemon must report an
    /// outcome by then; a late outcome is a failure.
    pub deadline: Time,
}

/// What a probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The server answered as expected.
    Up,
    /// The server answered, with this weight (keepalived `misc_dynamic`).
    UpWithWeight(u32),
    /// It did not: why, in words for the log.
    Down(String),
}

/// The health of a real server as the director sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Health {
    /// Its checks pass: in the table with its weight.
    Up,
    /// Its checks fail: out of the table, or in with weight 0 when quiesced.
    Down,
    /// Not checked yet, and starting down.
    Unknown,
    /// Forced down by the maintenance directory.
    Maintenance,
}

/// Something the daemon should log or do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A decision, with its reason: one log line.
    Decision {
        /// When.
        at: Time,
        /// The virtual service.
        service: ServiceKey,
        /// The real server, if the decision is about one.
        real: Option<DestinationKey>,
        /// What was decided and why ("real server 192.168.1.2:80 down after 3 failures:
        /// connection refused").
        message: String,
    },
    /// A command to run now, without waiting for it (`fallbackcommand`, `notify_up`, ...).
    Run {
        /// The command.
        command: Command,
        /// Arguments to append (ldirectord's `start 10.0.0.1:80 tcp`), already split.
        args: Vec<String>,
    },
    /// A soft failure or other note that changes nothing: one log line.
    Note {
        /// When.
        at: Time,
        /// Where in the configuration it belongs.
        origin: Origin,
        /// The text.
        message: String,
    },
}

/// One real server as the status snapshot shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RealStatus {
    /// Its key.
    pub key: DestinationKey,
    /// Its health.
    pub health: Health,
    /// The weight configured.
    pub configured_weight: u32,
    /// The weight the director wants in the table (0 when quiesced; `None` when it wants it out).
    pub desired_weight: Option<u32>,
    /// Failures in a row so far.
    pub failures: u32,
    /// The last outcome, if any, and when.
    pub last: Option<(Time, Outcome)>,
}

/// One virtual service as the status snapshot shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VirtualStatus {
    /// Its key.
    pub key: ServiceKey,
    /// Its real servers.
    pub reals: Vec<RealStatus>,
    /// Whether the sorry server is in.
    pub sorry_in: bool,
}

/// The director: configuration, per-server state, the probe schedule and pending events.
#[derive(Debug)]
pub struct Director {
    config: DirectorConfig,
    seed: u64,
    started: Time,
}

impl Director {
    /// A director for `config`, started at `now`; `seed` drives the spreading of probes over
    /// their intervals (and `warmup`).
    pub fn new(config: DirectorConfig, now: Time, seed: u64) -> Self {
        Director { config, seed, started: now }
    }

    /// The configuration in force.
    pub fn config(&self) -> &DirectorConfig {
        &self.config
    }

    /// The kernel's table as the daemon read it at start or at a reload (owned services only),
    /// for real servers that start [`StartState::FromTable`](super::config::StartState).
    pub fn handle_table(&mut self, _table: &[(ServiceStatus, Vec<DestinationStatus>)], _now: Time) {}

    /// A new configuration (a reload that parsed): services and real servers that did not
    /// change keep their state; the next [`Director::desired`] is the new table.
    pub fn handle_reload(&mut self, config: DirectorConfig, _now: Time) {
        self.config = config;
    }

    /// The outcome of probe `id`. Outcomes of probes the machine no longer knows (the server
    /// was removed by a reload) are ignored.
    pub fn handle_outcome(&mut self, _id: ProbeId, _outcome: Outcome, _now: Time) {}

    /// The real servers the maintenance directory currently names (ldirectord's
    /// `maintenancedir`), as (address, optional port): they are forced down until left out.
    pub fn handle_maintenance(&mut self, _down: &[(std::net::IpAddr, Option<u16>)], _now: Time) {}

    /// Time passed: probes whose deadline is past count as failed.
    pub fn handle_timeout(&mut self, _now: Time) {}

    /// The next probe to start at `now`, if one is due.
    pub fn poll_probe(&mut self, _now: Time) -> Option<ProbeRequest> {
        None
    }

    /// When the machine next needs to be called (the next probe due or deadline), if ever.
    pub fn poll_timeout(&self) -> Option<Time> {
        None
    }

    /// The next thing to log or do.
    pub fn poll_event(&mut self) -> Option<Event> {
        None
    }

    /// Whether [`Director::desired`] changed since the last call of this method.
    pub fn table_changed(&mut self) -> bool {
        false
    }

    /// The table the director wants for the services it owns, in configuration order: the
    /// input of [`crate::plan::plan`] (against the kernel's entries for
    /// [`Director::owned`]).
    pub fn desired(&self) -> Vec<(Service, Vec<Destination>)> {
        Vec::new()
    }

    /// The keys of the services the director owns now, and of those it owned before the last
    /// reload and must remove.
    pub fn owned(&self) -> Vec<ServiceKey> {
        Vec::new()
    }

    /// The table to leave behind on stop ([`OnStop`](super::config::OnStop)): empty for
    /// `Remove`, the current desired table for `Keep`.
    pub fn on_stop(&self) -> Vec<(Service, Vec<Destination>)> {
        Vec::new()
    }

    /// A snapshot for status dumps and the status page.
    pub fn status(&self) -> Vec<VirtualStatus> {
        let _ = (self.seed, self.started);
        Vec::new()
    }
}
