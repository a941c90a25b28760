//! Declarative apply: from the table as it is and the table as it should be, the minimal list
//! of operations that turns one into the other.
//!
//! [`plan`] compares two tables (services with their real servers) by key and returns a
//! [`Plan`]:
//!
//! * a service or real server whose key is in both tables but whose settings differ is
//!   **edited in place** (`-E`, `-e`), never deleted and re-added (that would drop its live
//!   connections and reset its counters);
//! * a service that is no longer wanted is deleted with one operation (its real servers go with
//!   it);
//! * nothing else is emitted: a plan from a table to itself is empty.
//!
//! The order is deterministic and one the kernel accepts: first the deletions of services that
//! are no longer wanted (in the order of the current table), then each wanted service in the
//! order of the desired table: its addition or edit, then the removal of the real servers it no
//! longer has, then the edits, then the additions.
//!
//! Each step of a plan carries its **undo**: the operations that restore what the step changed,
//! computed from the current table at planning time. [`Plan::rollback`] applies the undos of
//! the steps that succeeded and of those whose effect is unknown
//! ([`Error::may_have_applied`]), newest first: a best-effort return to the table as it was
//! (statistics and connections of deleted objects cannot come back).
//!
//! Everything here is pure: reading the current table and applying the plan go through a
//! [`Backend`], the kernel's or the in-memory one.
//!
//! ```
//! use ipvs_core::plan::plan;
//! use ipvs_core::table::MemoryBackend;
//! use ipvs_core::{Backend, Destination, ForwardMethod, OnError, Scheduler, Service, ServiceKey};
//!
//! let vip = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
//! let rs = |a: &str, w| Destination::new(a.parse().unwrap()).with_forward(ForwardMethod::Masquerade).with_weight(w);
//! let mut kernel = MemoryBackend::new();
//! kernel.add_service(&Service::new(vip).with_scheduler(Scheduler::Rr)).unwrap();
//! kernel.add_destination(&vip, &rs("192.168.1.1:80", 1)).unwrap();
//! kernel.add_destination(&vip, &rs("192.168.1.2:80", 1)).unwrap();
//!
//! // Wanted: wrr, .1 with weight 3, .2 gone, .3 new.
//! let desired = vec![(
//!     Service::new(vip).with_scheduler(Scheduler::Wrr),
//!     vec![rs("192.168.1.1:80", 3), rs("192.168.1.3:80", 1)],
//! )];
//! let current = kernel.services_with_destinations().unwrap();
//! let p = plan(&current, &desired).unwrap();
//! assert_eq!(
//!     p.to_string(),
//!     "-E -t 10.0.0.1:80 -s wrr\n\
//!      -d -t 10.0.0.1:80 -r 192.168.1.2:80\n\
//!      -e -t 10.0.0.1:80 -r 192.168.1.1:80 -m -w 3\n\
//!      -a -t 10.0.0.1:80 -r 192.168.1.3:80 -m -w 1\n"
//! );
//! assert!(p.apply(&mut kernel, OnError::Continue).is_ok());
//! let now = kernel.services_with_destinations().unwrap();
//! assert!(plan(&now, &desired).unwrap().is_empty());
//! ```

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::backend::{Backend, OnError, Operation};
use crate::dest::{Destination, DestinationKey};
use crate::error::{Error, Object, Result, ValidationError};
use crate::service::{Service, ServiceKey};
use crate::status::{DestinationStatus, ServiceStatus};

/// One service of a table with its real servers, as [`plan`] reads it: implemented for the
/// configuration pairs of a desired table (`(Service, Vec<Destination>)`, as in
/// [`RuleSet::services`](crate::ipvsadm::rules::RuleSet::services)) and for what a backend
/// reports (`(ServiceStatus, Vec<DestinationStatus>)`, from
/// [`Backend::services_with_destinations`]).
pub trait TableEntry {
    /// The service's configuration.
    fn service(&self) -> &Service;
    /// Its real servers' configurations.
    fn destinations(&self) -> impl Iterator<Item = &Destination>;
}

impl TableEntry for (Service, Vec<Destination>) {
    fn service(&self) -> &Service {
        &self.0
    }
    fn destinations(&self) -> impl Iterator<Item = &Destination> {
        self.1.iter()
    }
}

impl TableEntry for (ServiceStatus, Vec<DestinationStatus>) {
    fn service(&self) -> &Service {
        &self.0.service
    }
    fn destinations(&self) -> impl Iterator<Item = &Destination> {
        self.1.iter().map(|d| &d.dest)
    }
}

/// Why a desired table cannot be planned. Nothing is applied when planning fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The desired table lists a service twice.
    #[error("service {0} is listed twice in the desired table")]
    DuplicateService(ServiceKey),
    /// The desired table lists a real server of a service twice.
    #[error("real server {dest} is listed twice for service {service} in the desired table")]
    DuplicateDestination {
        /// The service.
        service: ServiceKey,
        /// The real server listed twice.
        dest: DestinationKey,
    },
    /// A desired service has a value the kernel would refuse.
    #[error("service {service}: {error}")]
    InvalidService {
        /// The service.
        service: ServiceKey,
        /// What is wrong.
        error: ValidationError,
    },
    /// A desired real server has a value the kernel would refuse.
    #[error("real server {dest} of service {service}: {error}")]
    InvalidDestination {
        /// The service.
        service: ServiceKey,
        /// The real server.
        dest: DestinationKey,
        /// What is wrong.
        error: ValidationError,
    },
}

impl From<PlanError> for Error {
    /// The error applying the desired table operation by operation would have given: a
    /// duplicate is [`Error::Exists`], a bad value [`Error::Validation`].
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::DuplicateService(_) => Error::exists(Object::Service),
            PlanError::DuplicateDestination { .. } => Error::exists(Object::Destination),
            PlanError::InvalidService { error, .. } | PlanError::InvalidDestination { error, .. } => {
                Error::Validation(error)
            }
        }
    }
}

/// One operation of a [`Plan`] and what undoes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The change.
    pub op: Operation,
    /// The operations that restore what `op` changed, in order (empty never: every step can be
    /// undone, if only approximately; see [`Plan::rollback`]).
    pub undo: Vec<Operation>,
}

/// The minimal operations that turn one table into another; see the [module docs](self).
///
/// `Display` writes one operation per line as ipvsadm command lines without the program name:
/// the text `ipvsadm -R` reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    steps: Vec<Step>,
}

/// What [`Plan::apply`] did: one result per step, in order. With [`OnError::Stop`], the steps
/// after the first failure were not attempted and have no result.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplyReport {
    /// The result of each attempted step, in the plan's order.
    pub results: Vec<Result<()>>,
}

impl ApplyReport {
    /// Whether every attempted step succeeded (an empty plan is ok).
    pub fn is_ok(&self) -> bool {
        self.results.iter().all(Result::is_ok)
    }

    /// The failed steps: (index in the plan, error).
    pub fn failures(&self) -> impl Iterator<Item = (usize, &Error)> {
        self.results.iter().enumerate().filter_map(|(i, r)| r.as_ref().err().map(|e| (i, e)))
    }

    /// How many steps succeeded.
    pub fn succeeded(&self) -> usize {
        self.results.iter().filter(|r| r.is_ok()).count()
    }
}

/// How many operations of each kind a plan holds (for logs and dry runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlanSummary {
    /// Services added.
    pub services_added: usize,
    /// Services edited in place.
    pub services_edited: usize,
    /// Services deleted (with their real servers).
    pub services_deleted: usize,
    /// Real servers added.
    pub destinations_added: usize,
    /// Real servers edited in place.
    pub destinations_edited: usize,
    /// Real servers removed.
    pub destinations_deleted: usize,
}

impl fmt::Display for PlanSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "services: {} added, {} edited, {} deleted; real servers: {} added, {} edited, {} deleted",
            self.services_added,
            self.services_edited,
            self.services_deleted,
            self.destinations_added,
            self.destinations_edited,
            self.destinations_deleted
        )
    }
}

impl Plan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// How many operations the plan holds.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// The steps (operation and undo), in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The operations, in order.
    pub fn operations(&self) -> impl ExactSizeIterator<Item = &Operation> {
        self.steps.iter().map(|s| &s.op)
    }

    /// The operations, by value.
    pub fn into_operations(self) -> Vec<Operation> {
        self.steps.into_iter().map(|s| s.op).collect()
    }

    /// Counts of each kind of operation.
    pub fn summary(&self) -> PlanSummary {
        let mut s = PlanSummary::default();
        for op in self.operations() {
            match op {
                Operation::AddService(_) => s.services_added += 1,
                Operation::EditService(_) => s.services_edited += 1,
                Operation::DeleteService(_) => s.services_deleted += 1,
                Operation::AddDestination(..) => s.destinations_added += 1,
                Operation::EditDestination(..) => s.destinations_edited += 1,
                Operation::DeleteDestination(..) => s.destinations_deleted += 1,
                _ => {}
            }
        }
        s
    }

    /// Applies the plan through `backend` ([`Backend::apply_all`]: the kernel backend pipelines
    /// the operations). With [`OnError::Continue`] every step is attempted and has a result;
    /// with [`OnError::Stop`], the steps after the first failure are not attempted.
    pub fn apply<B: Backend + ?Sized>(&self, backend: &mut B, on_error: OnError) -> ApplyReport {
        let ops: Vec<Operation> = self.operations().cloned().collect();
        ApplyReport { results: backend.apply_all(&ops, on_error) }
    }

    /// The operations that undo what `report` says may have changed, newest first: the steps
    /// that succeeded, and those whose effect is unknown ([`Error::may_have_applied`]: the
    /// request was sent and its answer was lost, as with [`Error::Timeout`]). A step the kernel
    /// refused changed nothing (IPVS commands are all-or-nothing), and neither did one that was
    /// never sent ([`Error::NotSent`]): they need no undo. The undo of a step that in fact did
    /// not apply fails harmlessly (deleting what is not there, adding what is): its result in
    /// [`Plan::rollback`] is then an error such as [`Error::NotFound`] or [`Error::Exists`].
    pub fn undo_operations(&self, report: &ApplyReport) -> Vec<Operation> {
        let mut out = Vec::new();
        for (step, r) in self.steps.iter().zip(&report.results).rev() {
            if r.as_ref().err().is_none_or(Error::may_have_applied) {
                out.extend(step.undo.iter().cloned());
            }
        }
        out
    }

    /// Best-effort rollback of what an [`apply`](Plan::apply) did: applies
    /// [`undo_operations`](Plan::undo_operations), going on after failures, and returns their
    /// results. Re-added services and real servers start with zero counters and no connections.
    pub fn rollback<B: Backend + ?Sized>(&self, backend: &mut B, report: &ApplyReport) -> Vec<Result<()>> {
        backend.apply_all(&self.undo_operations(report), OnError::Continue)
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for op in self.operations() {
            writeln!(f, "{op}")?;
        }
        Ok(())
    }
}

/// The service as it is written (the kernel's own HASHED bit and unknown bits dropped), which is
/// also how it compares.
fn normalized(s: &Service) -> Service {
    let mut s = s.clone();
    s.flags = s.flags_to_write();
    s
}

/// Whether two services with the same key have the same settings.
fn same_settings(a: &Service, b: &Service) -> bool {
    a.scheduler.name() == b.scheduler.name()
        && a.flags_to_write() == b.flags_to_write()
        && a.timeout == b.timeout
        && a.netmask == b.netmask
        && a.pe_name == b.pe_name
}

/// Checks the desired table: valid values, no duplicates.
fn check_desired<D: TableEntry>(desired: &[D]) -> Result<(), PlanError> {
    let mut keys = HashSet::with_capacity(desired.len());
    for entry in desired {
        let svc = entry.service();
        let key = svc.key;
        svc.validate().map_err(|error| PlanError::InvalidService { service: key, error })?;
        if !keys.insert(key) {
            return Err(PlanError::DuplicateService(key));
        }
        let mut dests = HashSet::new();
        for d in entry.destinations() {
            let dk = d.key();
            d.validate_for(&key).map_err(|error| PlanError::InvalidDestination {
                service: key,
                dest: dk,
                error,
            })?;
            if !dests.insert(dk) {
                return Err(PlanError::DuplicateDestination { service: key, dest: dk });
            }
        }
    }
    Ok(())
}

/// The undo of deleting a service: add it back with its real servers, oldest first, so that the
/// kernel lists them in their old order again (it lists the newest first).
fn restore_service<C: TableEntry>(entry: &C) -> Vec<Operation> {
    let svc = normalized(entry.service());
    let key = svc.key;
    let dests: Vec<&Destination> = entry.destinations().collect();
    let mut undo = Vec::with_capacity(dests.len() + 1);
    undo.push(Operation::AddService(svc));
    undo.extend(dests.into_iter().rev().map(|d| Operation::AddDestination(key, d.clone())));
    undo
}

/// The minimal plan that turns `current` into `desired`; see the [module docs](self).
///
/// `desired` is checked first (every value valid, no service or real server twice); nothing
/// about `current` is checked: it is what a backend reported, real servers newest first (the
/// undo of a service deletion re-adds them oldest first to restore that order). Real servers are
/// compared as sets: their order in the kernel's list is not part of the configuration.
///
/// ```
/// use ipvs_core::plan::plan;
/// use ipvs_core::{Service, ServiceKey, Scheduler};
/// let a = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
/// let b = ServiceKey::udp("10.0.0.1".parse().unwrap(), 53);
/// let current = vec![(Service::new(a), vec![])];
/// let desired = vec![(Service::new(b).with_scheduler(Scheduler::Sh), vec![])];
/// let p = plan(&current, &desired).unwrap();
/// assert_eq!(p.to_string(), "-D -t 10.0.0.1:80\n-A -u 10.0.0.1:53 -s sh\n");
/// assert!(plan(&desired, &desired).unwrap().is_empty());
/// ```
pub fn plan<C: TableEntry, D: TableEntry>(current: &[C], desired: &[D]) -> Result<Plan, PlanError> {
    check_desired(desired)?;
    Ok(plan_checked(current, desired))
}

/// [`plan`] for a desired table that [`check_desired`] accepted.
fn plan_checked<C: TableEntry, D: TableEntry>(current: &[C], desired: &[D]) -> Plan {
    let wanted: HashSet<ServiceKey> = desired.iter().map(|e| e.service().key).collect();
    let existing: HashMap<ServiceKey, &C> = current.iter().map(|e| (e.service().key, e)).collect();
    let mut steps = Vec::new();

    // 1. Services no longer wanted: one deletion each (their real servers go with them).
    for entry in current {
        let key = entry.service().key;
        if !wanted.contains(&key) {
            steps.push(Step { op: Operation::DeleteService(key), undo: restore_service(entry) });
        }
    }

    // 2. Wanted services in the desired order: add or edit, then their real servers.
    for entry in desired {
        let svc = entry.service();
        let key = svc.key;
        let Some(cur) = existing.get(&key) else {
            steps.push(Step {
                op: Operation::AddService(normalized(svc)),
                undo: vec![Operation::DeleteService(key)],
            });
            for d in entry.destinations() {
                steps.push(Step {
                    op: Operation::AddDestination(key, d.clone()),
                    undo: vec![Operation::DeleteDestination(key, d.key())],
                });
            }
            continue;
        };
        if !same_settings(cur.service(), svc) {
            steps.push(Step {
                op: Operation::EditService(normalized(svc)),
                undo: vec![Operation::EditService(normalized(cur.service()))],
            });
        }
        let want: HashMap<DestinationKey, &Destination> =
            entry.destinations().map(|d| (d.key(), d)).collect();
        let have: HashMap<DestinationKey, &Destination> = cur.destinations().map(|d| (d.key(), d)).collect();
        for d in cur.destinations() {
            if !want.contains_key(&d.key()) {
                steps.push(Step {
                    op: Operation::DeleteDestination(key, d.key()),
                    undo: vec![Operation::AddDestination(key, d.clone())],
                });
            }
        }
        for d in entry.destinations() {
            if let Some(old) = have.get(&d.key()).filter(|old| **old != d) {
                steps.push(Step {
                    op: Operation::EditDestination(key, d.clone()),
                    undo: vec![Operation::EditDestination(key, (*old).clone())],
                });
            }
        }
        for d in entry.destinations() {
            if !have.contains_key(&d.key()) {
                steps.push(Step {
                    op: Operation::AddDestination(key, d.clone()),
                    undo: vec![Operation::DeleteDestination(key, d.key())],
                });
            }
        }
    }
    Plan { steps }
}

/// Reads `backend`'s services and real servers and plans the change to `desired`.
///
/// ```
/// use ipvs_core::plan::plan_for;
/// use ipvs_core::table::MemoryBackend;
/// use ipvs_core::{OnError, Service, ServiceKey};
/// let mut mem = MemoryBackend::new();
/// let desired = vec![(Service::new(ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80)), vec![])];
/// let p = plan_for(&mut mem, &desired).unwrap();
/// assert_eq!(p.to_string(), "-A -t 10.0.0.1:80 -s wlc\n");
/// assert!(p.apply(&mut mem, OnError::Stop).is_ok());
/// assert!(plan_for(&mut mem, &desired).unwrap().is_empty());
/// ```
pub fn plan_for<B: Backend + ?Sized, D: TableEntry>(backend: &mut B, desired: &[D]) -> Result<Plan> {
    check_desired(desired)?;
    let current = backend.services_with_destinations()?;
    Ok(plan_checked(&current, desired))
}
