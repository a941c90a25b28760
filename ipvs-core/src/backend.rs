//! The one interface to an IPVS table, with two implementations: the kernel over netlink
//! (`ipvs-sys-netlink`) and the in-memory reference table.

use std::fmt;
use std::ops::ControlFlow;

use crate::dest::{Destination, DestinationKey};
use crate::error::{Error, Object, Result, ValidationError};
use crate::fmt_util::SockAddr;
use crate::service::{Service, ServiceKey};
use crate::status::{DestinationStatus, Info, ServiceStatus, SyncDaemon, SyncRole, Timeouts};

/// One change to an IPVS table: what one ipvsadm command does.
///
/// `Display` writes the operation as an ipvsadm command line (without the program name):
/// ```
/// use ipvs_core::{Destination, ForwardMethod, Operation, Service, ServiceKey, Scheduler};
/// let key = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
/// let op = Operation::AddService(Service::new(key).with_scheduler(Scheduler::Wrr));
/// assert_eq!(op.to_string(), "-A -t 10.0.0.1:80 -s wrr");
/// let d = Destination::new("192.168.1.10:80".parse().unwrap()).with_forward(ForwardMethod::Masquerade);
/// assert_eq!(Operation::AddDestination(key, d).to_string(), "-a -t 10.0.0.1:80 -r 192.168.1.10:80 -m -w 1");
/// assert_eq!(Operation::DeleteService(key).to_string(), "-D -t 10.0.0.1:80");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// Add a virtual service (`-A`).
    AddService(Service),
    /// Change a virtual service's settings in place (`-E`).
    EditService(Service),
    /// Delete a virtual service and its real servers (`-D`).
    DeleteService(ServiceKey),
    /// Add a real server to a service (`-a`).
    AddDestination(ServiceKey, Destination),
    /// Change a real server's settings in place (`-e`).
    EditDestination(ServiceKey, Destination),
    /// Remove a real server from a service (`-d`).
    DeleteDestination(ServiceKey, DestinationKey),
    /// Delete every service (`-C`).
    Flush,
    /// Zero the counters of one service, or of everything (`-Z`).
    Zero(Option<ServiceKey>),
    /// Set connection timeouts; zeros leave values unchanged (`--set`).
    SetTimeouts(Timeouts),
    /// Start a connection-sync daemon (`--start-daemon`).
    StartDaemon(SyncDaemon),
    /// Stop a connection-sync daemon (`--stop-daemon`).
    StopDaemon(SyncRole),
}

impl Operation {
    /// Checks the operation's values against the kernel's limits, as every backend does before
    /// sending anything.
    pub fn validate(&self) -> Result<(), ValidationError> {
        match self {
            Operation::AddService(s) | Operation::EditService(s) => s.validate(),
            // These only name an existing service, whatever created it (a service of another
            // protocol number, made by another program, can have its real servers managed and
            // be deleted; it cannot be created).
            Operation::DeleteService(k) | Operation::Zero(Some(k)) => k.validate_lookup(),
            Operation::AddDestination(k, d) | Operation::EditDestination(k, d) => {
                k.validate_lookup()?;
                d.validate_for(k)
            }
            Operation::DeleteDestination(k, _) => k.validate_lookup(),
            Operation::SetTimeouts(t) => t.validate(),
            Operation::StartDaemon(d) => d.validate(),
            Operation::Flush | Operation::Zero(None) | Operation::StopDaemon(_) => Ok(()),
        }
    }

    /// The service the operation is about, if it is about one.
    pub fn service_key(&self) -> Option<&ServiceKey> {
        match self {
            Operation::AddService(s) | Operation::EditService(s) => Some(&s.key),
            Operation::DeleteService(k)
            | Operation::Zero(Some(k))
            | Operation::AddDestination(k, _)
            | Operation::EditDestination(k, _)
            | Operation::DeleteDestination(k, _) => Some(k),
            _ => None,
        }
    }
}

fn write_dest(f: &mut fmt::Formatter<'_>, cmd: &str, key: &ServiceKey, d: &Destination) -> fmt::Result {
    write!(f, "{cmd} {key} {d}")?;
    if d.upper_threshold != 0 {
        write!(f, " -x {}", d.upper_threshold)?;
    }
    if d.lower_threshold != 0 {
        write!(f, " -y {}", d.lower_threshold)?;
    }
    Ok(())
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operation::AddService(s) => s.fmt(f),
            Operation::EditService(s) => {
                let line = s.to_string();
                write!(f, "-E{}", line.strip_prefix("-A").unwrap_or(&line))
            }
            Operation::DeleteService(k) => write!(f, "-D {k}"),
            Operation::AddDestination(k, d) => write_dest(f, "-a", k, d),
            Operation::EditDestination(k, d) => write_dest(f, "-e", k, d),
            Operation::DeleteDestination(k, d) => write!(f, "-d {k} -r {}", SockAddr(d.addr, d.port)),
            Operation::Flush => f.write_str("-C"),
            Operation::Zero(None) => f.write_str("-Z"),
            Operation::Zero(Some(k)) => write!(f, "-Z {k}"),
            Operation::SetTimeouts(t) => write!(f, "--set {} {} {}", t.tcp, t.tcp_fin, t.udp),
            Operation::StartDaemon(d) => {
                write!(
                    f,
                    "--start-daemon {} --mcast-interface {} --syncid {}",
                    d.role, d.interface, d.sync_id
                )?;
                if d.max_len != 0 {
                    write!(f, " --sync-maxlen {}", d.max_len)?;
                }
                if let Some(g) = d.group {
                    write!(f, " --mcast-group {g}")?;
                }
                if d.port != 0 {
                    write!(f, " --mcast-port {}", d.port)?;
                }
                if d.ttl != 0 {
                    write!(f, " --mcast-ttl {}", d.ttl)?;
                }
                Ok(())
            }
            Operation::StopDaemon(r) => write!(f, "--stop-daemon {r}"),
        }
    }
}

/// What [`Backend::apply_all`] does after an operation fails.
///
/// ```
/// use ipvs_core::table::MemoryBackend;
/// use ipvs_core::{Backend, OnError, Operation, Service, ServiceKey};
///
/// let k = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
/// let add = Operation::AddService(Service::new(k));
/// let mut table = MemoryBackend::new();
/// // The second add fails (the service exists); the third operation still runs.
/// let r = table.apply_all(&[add.clone(), add.clone(), Operation::DeleteService(k)], OnError::Continue);
/// assert_eq!(r.len(), 3);
/// assert!(r[0].is_ok() && r[1].is_err() && r[2].is_ok());
/// // With Stop, nothing after the first failure is attempted.
/// let r = table.apply_all(&[Operation::DeleteService(k), add], OnError::Stop);
/// assert_eq!(r.len(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OnError {
    /// Attempt every operation; each has a result. The kernel backend pipelines the batch.
    #[default]
    Continue,
    /// Stop at the first failure: the operations after it are not attempted and have no
    /// result. The kernel backend then sends one request per round trip (generic netlink
    /// cannot abort the rest of a batch already sent).
    Stop,
}

/// An IPVS table: the kernel's (over netlink) or the in-memory reference. Both validate every
/// operation before acting and return the same [`Error`] kinds for the same failures.
///
/// Reads return services and real servers in the backend's own order (the kernel's hash order
/// for services, newest-first for real servers); sort them if you need an order.
///
/// # Threads
///
/// Every method takes `&mut self`: a backend is used by one thread at a time. The kernel
/// backend (`ipvs_sys_netlink::Client`) is `Send`, so it can move between threads; to share one,
/// put it behind a `Mutex`, or open one client per thread (each has its own socket, and the
/// kernel serialises their changes).
pub trait Backend {
    /// Version and connection table size.
    fn info(&mut self) -> Result<Info>;
    /// Every service with its statistics.
    fn services(&mut self) -> Result<Vec<ServiceStatus>>;
    /// One service.
    fn service(&mut self, key: &ServiceKey) -> Result<ServiceStatus>;
    /// The real servers of a service, newest first.
    fn destinations(&mut self, key: &ServiceKey) -> Result<Vec<DestinationStatus>>;

    /// Walks the table: hands each service with its real servers to `f`, in the backend's
    /// order, until `f` returns [`ControlFlow::Break`]. Backends that can read one service's
    /// real servers at a time (the kernel's) hold only the service list and one service's real
    /// servers at once, whatever the size of the table. A service deleted while the walk goes
    /// on is left out or shown without real servers, depending on the backend. The default
    /// reads the services, then each one's real servers, and leaves out a service that is gone
    /// by then.
    ///
    /// This is the object-safe form; [`Backend::try_for_each_service_with_destinations`] takes
    /// a closure that returns the caller's own error.
    fn for_each_service_with_destinations(
        &mut self,
        f: &mut dyn FnMut(ServiceStatus, Vec<DestinationStatus>) -> ControlFlow<()>,
    ) -> Result<()> {
        for svc in self.services()? {
            match self.destinations(&svc.service.key) {
                Ok(dests) => {
                    if f(svc, dests).is_break() {
                        break;
                    }
                }
                Err(Error::NotFound { object: Object::Service, .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// [`Backend::for_each_service_with_destinations`] with a fallible callback: the walk stops
    /// at the first error, the backend's (converted with `From`) or the callback's own, and
    /// returns it. A Python binding stops the walk with the exception the callback raised, a C
    /// binding with the callback's result code.
    ///
    /// ```
    /// use ipvs_core::table::MemoryBackend;
    /// use ipvs_core::{Backend, Error, Service, ServiceKey};
    ///
    /// #[derive(Debug)]
    /// enum MyError { Ipvs(Error), TooMany }
    /// impl From<Error> for MyError {
    ///     fn from(e: Error) -> Self { MyError::Ipvs(e) }
    /// }
    ///
    /// let mut table = MemoryBackend::new();
    /// for port in 1..=3 {
    ///     table.add_service(&Service::new(ServiceKey::tcp("10.0.0.1".parse().unwrap(), port))).unwrap();
    /// }
    /// let mut seen = 0;
    /// let r = table.try_for_each_service_with_destinations(|_svc, _dests| {
    ///     seen += 1;
    ///     if seen == 2 { Err(MyError::TooMany) } else { Ok(()) }
    /// });
    /// assert!(matches!(r, Err(MyError::TooMany)));
    /// assert_eq!(seen, 2);
    /// ```
    fn try_for_each_service_with_destinations<E, F>(&mut self, mut f: F) -> Result<(), E>
    where
        Self: Sized,
        E: From<Error>,
        F: FnMut(ServiceStatus, Vec<DestinationStatus>) -> Result<(), E>,
    {
        let mut failed = None;
        self.for_each_service_with_destinations(&mut |svc, dests| match f(svc, dests) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                failed = Some(e);
                ControlFlow::Break(())
            }
        })?;
        failed.map_or(Ok(()), Err)
    }

    /// Every service with its real servers (what `ipvsadm -S` and `-L` show), from
    /// [`Backend::for_each_service_with_destinations`].
    fn services_with_destinations(&mut self) -> Result<Vec<(ServiceStatus, Vec<DestinationStatus>)>> {
        let mut out = Vec::new();
        self.for_each_service_with_destinations(&mut |svc, dests| {
            out.push((svc, dests));
            ControlFlow::Continue(())
        })?;
        Ok(out)
    }
    /// The connection timeouts.
    fn timeouts(&mut self) -> Result<Timeouts>;
    /// The running sync daemons (master first).
    fn daemons(&mut self) -> Result<Vec<SyncDaemon>>;
    /// Carries out one operation.
    fn apply(&mut self, op: &Operation) -> Result<()>;

    /// Carries out operations in order and returns one result per operation attempted; see
    /// [`OnError`] for what happens after a failure. Backends may override this to send many
    /// requests at once.
    fn apply_all(&mut self, ops: &[Operation], on_error: OnError) -> Vec<Result<()>> {
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            let r = self.apply(op);
            let failed = r.is_err();
            out.push(r);
            if failed && on_error == OnError::Stop {
                break;
            }
        }
        out
    }

    /// Adds a service (`ipvsadm -A`).
    fn add_service(&mut self, service: &Service) -> Result<()> {
        self.apply(&Operation::AddService(service.clone()))
    }
    /// Edits a service in place (`ipvsadm -E`).
    fn edit_service(&mut self, service: &Service) -> Result<()> {
        self.apply(&Operation::EditService(service.clone()))
    }
    /// Deletes a service and its real servers (`ipvsadm -D`).
    fn delete_service(&mut self, key: &ServiceKey) -> Result<()> {
        self.apply(&Operation::DeleteService(*key))
    }
    /// Adds a real server (`ipvsadm -a`).
    fn add_destination(&mut self, key: &ServiceKey, dest: &Destination) -> Result<()> {
        self.apply(&Operation::AddDestination(*key, dest.clone()))
    }
    /// Edits a real server in place (`ipvsadm -e`).
    fn edit_destination(&mut self, key: &ServiceKey, dest: &Destination) -> Result<()> {
        self.apply(&Operation::EditDestination(*key, dest.clone()))
    }
    /// Removes a real server (`ipvsadm -d`).
    fn delete_destination(&mut self, key: &ServiceKey, dest: &DestinationKey) -> Result<()> {
        self.apply(&Operation::DeleteDestination(*key, *dest))
    }
    /// Deletes every service (`ipvsadm -C`).
    fn flush(&mut self) -> Result<()> {
        self.apply(&Operation::Flush)
    }
    /// Zeroes counters of one service or of all (`ipvsadm -Z`).
    fn zero(&mut self, key: Option<&ServiceKey>) -> Result<()> {
        self.apply(&Operation::Zero(key.copied()))
    }
    /// Sets timeouts; zeros leave values unchanged (`ipvsadm --set`).
    fn set_timeouts(&mut self, timeouts: &Timeouts) -> Result<()> {
        self.apply(&Operation::SetTimeouts(*timeouts))
    }
    /// Starts a sync daemon (`ipvsadm --start-daemon`).
    fn start_daemon(&mut self, daemon: &SyncDaemon) -> Result<()> {
        self.apply(&Operation::StartDaemon(daemon.clone()))
    }
    /// Stops a sync daemon (`ipvsadm --stop-daemon`).
    fn stop_daemon(&mut self, role: SyncRole) -> Result<()> {
        self.apply(&Operation::StopDaemon(role))
    }
}
