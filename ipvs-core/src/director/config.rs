//! The director's configuration: one model that both front ends (`ldirectord.cf`,
//! `keepalived.conf`) produce and the state machine ([`super::machine`]) runs.
//!
//! Values carry the reference tools' meaning, made explicit: where ldirectord and keepalived
//! differ (what a real server starts as, when the sorry server goes in, what happens on stop),
//! the difference is a field here, set by the front end, never a branch on the file format
//! inside the machine. [`Dialect`] only records where a configuration came from (for messages
//! and the status page).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::dest::Destination;
use crate::service::{AddressFamily, Protocol, Service};
use crate::status::{SyncDaemon, Timeouts};

/// Where a piece of configuration was written: for error messages, warnings and decisions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Origin {
    /// The file (after `include` expansion, the file that holds the line).
    pub file: PathBuf,
    /// The line, from 1.
    pub line: u32,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// Which reference tool's file the configuration came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// `ldirectord.cf`.
    Ldirectord,
    /// `keepalived.conf` (its `virtual_server` part).
    Keepalived,
}

/// A whole director configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DirectorConfig {
    /// Where it came from.
    pub dialect: Dialect,
    /// The virtual services the director owns, in file order.
    pub virtuals: Vec<VirtualService>,
    /// Settings of the whole director.
    pub options: GlobalOptions,
    /// Directives accepted without effect (unimplemented features such as e-mail alerts,
    /// keepalived's VRRP blocks), each with where it was written.
    pub warnings: Vec<ConfigWarning>,
}

impl DirectorConfig {
    /// An empty configuration of `dialect` with that tool's defaults.
    pub fn new(dialect: Dialect) -> Self {
        DirectorConfig {
            dialect,
            virtuals: Vec::new(),
            options: GlobalOptions::new(dialect),
            warnings: Vec::new(),
        }
    }
}

/// What the director does with its virtual services when it stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OnStop {
    /// Delete them (ldirectord's `cleanstop = yes`, its default; keepalived's default).
    Remove,
    /// Leave the table as it is (`cleanstop = no`; keepalived started with `-I`/`--dont-release-ipvs`).
    Keep,
}

/// Where log lines go.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LogTarget {
    /// Standard error (`supervised`, `-d`, keepalived in the foreground).
    Stderr,
    /// A file (ldirectord `logfile = /path`).
    File(PathBuf),
    /// Syslog with this facility (ldirectord `logfile = local0`).
    Syslog(String),
}

/// Settings of the whole director.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GlobalOptions {
    /// What happens to the virtual services on stop.
    pub on_stop: OnStop,
    /// ldirectord's `readdquiescent`: a quiesced real server (weight 0) that someone deleted by
    /// hand is added back (`true`) or left out until it recovers (`false`, the default: an
    /// operator may delete it to cut off its persistent clients).
    pub readd_quiescent: bool,
    /// ldirectord's `maintenancedir`: a file there named `ip`, `ip:port`, `host` or
    /// `host:port` forces that real server down.
    pub maintenance_dir: Option<PathBuf>,
    /// Where log lines go.
    pub log: LogTarget,
    /// Stay in the foreground (ldirectord `supervised = yes` or `-d`).
    pub supervised: bool,
    /// ldirectord's `autoreload`: reload when the file changes.
    pub autoreload: bool,
    /// ldirectord's `callback`: run when the file changed and was reloaded.
    pub callback: Option<Command>,
    /// keepalived's `global_defs { lvs_sync_daemon ... }`: the kernel's connection
    /// synchronisation daemon, whose role follows a VRRP instance. `None` when not configured.
    pub sync_daemon: Option<SyncDaemonConfig>,
    /// keepalived's `global_defs { lvs_timeouts ... }`: the kernel's connection timeouts to set
    /// at start. A field left at 0 is not changed (as `ipvsadm --set` treats 0).
    pub timeouts: Option<Timeouts>,
    /// How long a real server that a reload removes, or that goes into maintenance, is drained
    /// before it leaves the table: it is set to weight 0 at once (no new connections) and
    /// deleted when its connections are gone or when this much time has passed. Zero (the
    /// default here, and what both reference tools do) deletes it at once. Neither file format
    /// has a directive for it; the daemon's command lines set it (`--drain-timeout`).
    pub drain_timeout: Duration,
}

impl GlobalOptions {
    /// The defaults of `dialect`.
    pub fn new(_dialect: Dialect) -> Self {
        GlobalOptions {
            on_stop: OnStop::Remove,
            readd_quiescent: false,
            maintenance_dir: None,
            log: LogTarget::Stderr,
            supervised: false,
            autoreload: false,
            callback: None,
            sync_daemon: None,
            timeouts: None,
            drain_timeout: Duration::ZERO,
        }
    }
}

/// A shell command line, run with `/bin/sh -c` (its arguments, if any, appended as the tool
/// that defines it does; see where it is used).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Command {
    /// The command line as written.
    pub line: String,
    /// Where it was written.
    pub origin: Origin,
}

/// What happens to a real server whose checks fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum OnFailure {
    /// It is deleted from the table (ldirectord's `quiescent = no`, keepalived's default).
    #[default]
    Remove,
    /// It stays with weight 0, so established connections keep going and no new one comes
    /// (ldirectord's `quiescent = yes`, keepalived's `inhibit_on_failure`).
    Quiesce,
}

/// What a real server is before its first check has answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum StartState {
    /// Up (keepalived without `alpha`).
    #[default]
    Up,
    /// Down until a check passes (keepalived's `alpha`; ldirectord adds the fallback first and
    /// the real servers after their first checks pass).
    Down,
    /// As the kernel's table has it when the director starts or reloads: a real server present
    /// with a weight above 0 is up, any other is down until checked (ldirectord's reload, and
    /// a restart that keeps live connections).
    FromTable,
}

/// When the sorry server goes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Quorum {
    /// When no real server is up (ldirectord's `fallback`).
    AnyUp,
    /// When the sum of the live real servers' weights falls below `quorum - hysteresis`; out
    /// again when it reaches `quorum + hysteresis` (keepalived; `quorum` defaults to 1,
    /// `hysteresis` to 0).
    Weight {
        /// The weight the live servers must sum to.
        quorum: u32,
        /// The margin around `quorum` that keeps the state from flapping.
        hysteresis: u32,
    },
}

/// A virtual service and everything the director does for it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VirtualService {
    /// Its IPVS settings: key, scheduler, flags, persistence, netmask, engine.
    pub service: Service,
    /// Its real servers, in file order.
    pub reals: Vec<RealServer>,
    /// The sorry server (ldirectord `fallback`, keepalived `sorry_server`), with its
    /// forwarding method and weight.
    pub sorry: Option<Destination>,
    /// When the sorry server goes in.
    pub quorum: Quorum,
    /// keepalived's `sorry_server_inhibit`: the sorry server is added with weight 0 while the
    /// real servers are up, rather than absent (so the table always holds it).
    pub sorry_inhibit: bool,
    /// What happens to its real servers when their checks fail (a real server may override).
    pub on_failure: OnFailure,
    /// What its real servers are before their first check answers.
    pub start: StartState,
    /// ldirectord's `fallbackcommand` (arguments `start|stop VIP:PORT PROTOCOL` appended) and
    /// keepalived's `quorum_up` / `quorum_down`.
    pub hooks: VirtualHooks,
    /// Where the virtual service was written.
    pub origin: Origin,
    /// Overrides [`GlobalOptions::on_stop`] for this virtual service (ldirectord's `cleanstop`
    /// written in a virtual section).
    pub on_stop: Option<OnStop>,
    /// keepalived's `virtual_server group NAME`: the `virtual_server_group` this service was
    /// expanded from. Every service of a group has the same real servers and checks, which
    /// keepalived runs once for the whole group (so should the director: the checks are alike).
    pub group: Option<String>,
}

impl VirtualService {
    /// A virtual service with no real servers, ldirectord's defaults otherwise.
    pub fn new(service: Service, origin: Origin) -> Self {
        VirtualService {
            service,
            reals: Vec::new(),
            sorry: None,
            quorum: Quorum::AnyUp,
            sorry_inhibit: false,
            on_failure: OnFailure::Remove,
            start: StartState::Up,
            hooks: VirtualHooks::default(),
            origin,
            on_stop: None,
            group: None,
        }
    }
}

/// Commands run when a virtual service gains or loses its live servers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct VirtualHooks {
    /// ldirectord's `fallbackcommand`: run with `start VIP:PORT PROTOCOL` when the fallback goes
    /// in, with `stop ...` when it goes out.
    pub fallback_command: Option<Command>,
    /// keepalived's `quorum_up`: run when the quorum is gained.
    pub quorum_up: Option<Command>,
    /// keepalived's `quorum_down`: run when the quorum is lost.
    pub quorum_down: Option<Command>,
    /// keepalived's `omega`: on stop, run `quorum_down` and the real servers' `notify_down`
    /// as if everything went down (otherwise stopping runs no hook).
    pub notify_on_stop: bool,
}

/// A real server and its checks.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RealServer {
    /// Its IPVS settings: address, port, forwarding method, weight, thresholds.
    pub dest: Destination,
    /// Its checks: it is up when every one is (keepalived); none means always up. ldirectord
    /// gives each real server its virtual's one check.
    pub checks: Vec<Check>,
    /// Overrides the virtual's [`VirtualService::on_failure`] (keepalived's per-real-server
    /// `inhibit_on_failure`).
    pub on_failure: Option<OnFailure>,
    /// keepalived's `notify_up` / `notify_down`.
    pub notify_up: Option<Command>,
    /// keepalived's `notify_down`.
    pub notify_down: Option<Command>,
    /// Where the real server was written.
    pub origin: Origin,
    /// Overrides [`VirtualService::start`] for this real server (keepalived's `alpha` written
    /// in a `real_server` block or its checkers: it starts down when one of its checks does).
    pub start: Option<StartState>,
}

impl RealServer {
    /// A real server without checks (always up).
    pub fn new(dest: Destination, origin: Origin) -> Self {
        RealServer {
            dest,
            checks: Vec::new(),
            on_failure: None,
            notify_up: None,
            notify_down: None,
            origin,
            start: None,
        }
    }
}

/// One check of a real server: what to probe, where, how often, and when its verdict changes.
///
/// ```
/// use std::time::Duration;
/// use ipvs_core::director::config::{Check, Probe, Transport};
/// let mut c = Check::new(Probe::Connect(Transport::Tcp), "192.168.1.2:80".parse().unwrap());
/// assert_eq!((c.interval, c.timeout, c.failures_to_down), (Duration::from_secs(10), Duration::from_secs(5), 1));
/// c.failures_to_down = 3; // the fields are public: front ends set them
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Check {
    /// What the probe does.
    pub probe: Probe,
    /// Where it connects (ldirectord `checkport`, keepalived `connect_ip`/`connect_port`):
    /// by default the real server's address and port.
    pub target: SocketAddr,
    /// The local address to bind (keepalived `bindto`/`bind_port`).
    pub bind: Option<SocketAddr>,
    /// keepalived's checker `fwmark`: the probe's packets carry this mark.
    pub fwmark: Option<u32>,
    /// Time between two probes (ldirectord `checkinterval`, keepalived `delay_loop`).
    pub interval: Duration,
    /// How long one probe may take (ldirectord `checktimeout`/`negotiatetimeout`, keepalived
    /// `connect_timeout`, `misc_timeout`).
    pub timeout: Duration,
    /// Failures in a row that make the check fail (ldirectord `failurecount`, keepalived
    /// `retry` + 1). One success makes it pass again.
    pub failures_to_down: u32,
    /// While the check is failing but not yet down, the next probe comes after this delay
    /// instead of `interval` (keepalived `delay_before_retry`).
    pub retry_delay: Option<Duration>,
    /// The first probe comes after a random delay up to this, on top of the start window
    /// (keepalived `warmup`, which keepalived defaults to `delay_loop`; without it the first
    /// probe comes within a second, and the later ones are spread over the interval anyway).
    pub warmup: Option<Duration>,
    /// Where the check was written.
    pub origin: Origin,
}

impl Check {
    /// The check without where it was written ([`Check::origin`] and the origins of its
    /// commands): two checks with equal identities do the same thing. The director shares
    /// and keeps the state of checks by this identity.
    ///
    /// ```
    /// # use ipvs_core::director::config::Check;
    /// # fn demo(a: &Check) {
    /// let mut b = a.clone();
    /// b.origin = Default::default();
    /// assert_eq!(a.identity(), b.identity());
    /// # }
    /// ```
    pub fn identity(&self) -> Check {
        let mut c = self.clone();
        c.origin = Default::default();
        c.probe = c.probe.without_origins();
        c
    }

    /// A check running `probe` against `target` with ldirectord's defaults: every 10 s
    /// (`checkinterval`), 5 s to answer (`checktimeout`), down at the first failure
    /// (`failurecount = 1`), no retry delay, no warm-up, no bind address or mark, no origin.
    pub fn new(probe: Probe, target: SocketAddr) -> Self {
        Check {
            probe,
            target,
            bind: None,
            fwmark: None,
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(5),
            failures_to_down: 1,
            retry_delay: None,
            warmup: None,
            origin: Origin::default(),
        }
    }
}

/// The transport a connect probe uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// TCP: the connection is set up and closed.
    Tcp,
    /// UDP: a datagram is sent; an ICMP port unreachable is a failure.
    Udp,
}

/// The HTTP method of an HTTP probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum HttpMethod {
    /// `GET` (the default).
    #[default]
    Get,
    /// `HEAD` (ldirectord `httpmethod = HEAD`): only the status is checked.
    Head,
}

/// A status code range a response must fall in (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusRange {
    /// The lowest code.
    pub low: u16,
    /// The highest code.
    pub high: u16,
}

/// One URL an HTTP probe fetches, and what its response must be.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct UrlCheck {
    /// The request path (ldirectord `request`, keepalived `path`).
    pub path: String,
    /// Accepted status codes (keepalived `status_code`, default 200-299; ldirectord: 2xx).
    pub status: Vec<StatusRange>,
    /// A regular expression the body must match (ldirectord `receive`, keepalived `regex`).
    pub regex: Option<String>,
    /// The MD5 of the body, lower-case hex (keepalived `digest`).
    pub digest: Option<String>,
    /// The `Host` header for this URL only (keepalived's `virtualhost` in a `url` block),
    /// overriding [`Probe::Http`]'s `host`; keepalived also sends it as the TLS server name
    /// when the probe has one.
    pub host: Option<String>,
    /// keepalived's `regex_no_match`: the body must *not* match `regex`.
    pub regex_no_match: bool,
}

impl UrlCheck {
    /// `path`, any 2xx status, no body checks.
    pub fn new(path: impl Into<String>) -> Self {
        UrlCheck {
            path: path.into(),
            status: vec![StatusRange { low: 200, high: 299 }],
            regex: None,
            digest: None,
            host: None,
            regex_no_match: false,
        }
    }
}

/// What a probe does. Each kind is one small probe in the daemon; the machine only schedules
/// them and judges their outcomes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Probe {
    /// Connect (TCP) or send a datagram (UDP): ldirectord `checktype = connect`, keepalived
    /// `TCP_CHECK`.
    Connect(Transport),
    /// HTTP or HTTPS: ldirectord `service = http|https` with `request`/`receive`/`httpmethod`/
    /// `virtualhost`, keepalived `HTTP_GET`/`SSL_GET`. Every URL must pass.
    Http {
        /// Whether the connection is TLS (HTTPS). Certificates are not verified (neither
        /// reference tool verifies them by default).
        tls: bool,
        /// The TLS server name to send (keepalived `enable_sni`/`virtualhost`), if any.
        sni: Option<String>,
        /// `GET` or `HEAD`.
        method: HttpMethod,
        /// The `Host` header (ldirectord `virtualhost`, keepalived `virtualhost`); by default
        /// the target address.
        host: Option<String>,
        /// The URLs to fetch.
        urls: Vec<UrlCheck>,
    },
    /// A DNS query (ldirectord `service = dns`: an A or PTR query for `request` whose answer
    /// matches `receive`; keepalived `DNS_CHECK`: `type` and `name`, any answer with RCODE 0).
    Dns {
        /// The query name.
        name: String,
        /// The query type (`A`, `AAAA`, `PTR`, `SOA`, ...), as written.
        qtype: String,
        /// A regular expression an answer's data must match, if any.
        expect: Option<String>,
    },
    /// SMTP: a 220 greeting, then `HELO` answered with 250 (keepalived `SMTP_CHECK` with
    /// `helo_name`; ldirectord `service = smtp`: the greeting only).
    Smtp {
        /// The `HELO` name, or `None` to check the greeting only.
        helo: Option<String>,
    },
    /// Send a string and match the reply (ldirectord `service = simpletcp`, also its other
    /// greeting-based services: `nntp`, `pop`, `imap`, `ftp` without login).
    SimpleTcp {
        /// What to send first (may be empty: just read the greeting).
        send: String,
        /// A regular expression a reply line must match.
        expect: Option<String>,
    },
    /// ICMP echo (ldirectord `checktype = ping`, keepalived `PING_CHECK`).
    Ping,
    /// A datagram, and a reply if `require_reply` (keepalived `UDP_CHECK`).
    Udp {
        /// The payload.
        payload: Vec<u8>,
        /// Whether a reply is needed (otherwise only an ICMP error fails).
        require_reply: bool,
    },
    /// An external command: exit 0 is up (ldirectord `checktype = external` with
    /// `checkcommand`, run with `VIP VPORT RIP RPORT` appended; keepalived `MISC_CHECK` with
    /// `misc_path`, run as written).
    Command {
        /// The command.
        command: Command,
        /// Whether ldirectord's four arguments are appended.
        ldirectord_args: bool,
        /// keepalived's `misc_dynamic`: exit 1 is down, 0 up at the configured weight, 2..=255
        /// up with weight `code - 2`.
        dynamic_weight: bool,
    },
    /// Always passes (`checktype = on`) or always fails (`checktype = off`).
    Fixed(bool),
    /// ldirectord's `checktype = N`: `connects` connect probes, then one of `then`, in turn.
    Alternate {
        /// Connect probes between two `then` probes.
        connects: u32,
        /// The probe every `connects + 1`-th time.
        then: Box<Probe>,
    },
}

impl Probe {
    /// The probe with the origins of its commands cleared (where a line is written is not
    /// what it does).
    pub fn without_origins(&self) -> Probe {
        match self {
            Probe::Command { command, ldirectord_args, dynamic_weight } => {
                let mut command = command.clone();
                command.origin = Default::default();
                Probe::Command { command, ldirectord_args: *ldirectord_args, dynamic_weight: *dynamic_weight }
            }
            Probe::Alternate { connects, then } => {
                Probe::Alternate { connects: *connects, then: Box::new(then.without_origins()) }
            }
            p => p.clone(),
        }
    }
}

/// A directive accepted without effect, and where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigWarning {
    /// Where it was written.
    pub origin: Origin,
    /// What it was and why it has no effect.
    pub message: String,
}

/// A configuration that cannot be used: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {message}")]
#[non_exhaustive]
pub struct ConfigError {
    /// Where the mistake is.
    pub origin: Origin,
    /// What is wrong, in the reference tool's terms.
    pub message: String,
}

impl ConfigError {
    /// An error at `origin`.
    pub fn new(origin: Origin, message: impl Into<String>) -> Self {
        ConfigError { origin, message: message.into() }
    }
}

/// How the parsers read files (the main file, keepalived's `include`s), so that they stay
/// free of I/O: the daemon passes one that reads the filesystem, tests an in-memory map.
pub trait Source {
    /// The contents of `path`.
    fn read(&self, path: &std::path::Path) -> std::io::Result<String>;
    /// The paths matching a shell glob (keepalived `include` takes one), sorted.
    fn glob(&self, pattern: &str) -> std::io::Result<Vec<PathBuf>>;
}

/// keepalived's `lvs_sync_daemon`: the kernel's connection synchronisation daemon, run as
/// master while a VRRP instance is MASTER and as backup otherwise.
///
/// ```
/// use ipvs_core::director::config::{MemorySource, NumericNames};
/// use ipvs_core::director::keepalived;
/// use ipvs_core::SyncRole;
/// let conf = "global_defs {\n  lvs_sync_daemon eth1 VI_1 id 7 maxlen 1400\n}\n";
/// let src = MemorySource::new().with("/etc/keepalived/keepalived.conf", conf);
/// let cfg = keepalived::parse("/etc/keepalived/keepalived.conf".as_ref(), &src).unwrap();
/// let sync = cfg.options.sync_daemon.unwrap();
/// assert_eq!(sync.vrrp_instance.as_deref(), Some("VI_1"));
/// assert_eq!((sync.daemon.role, sync.daemon.sync_id, sync.daemon.max_len), (SyncRole::Backup, 7, 1400));
/// # let _ = NumericNames;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncDaemonConfig {
    /// The daemon's settings: interface, sync id, and the optional `maxlen`, `port`, `ttl` and
    /// `group`. Its `role` is the one it starts in (backup, until the VRRP instance is MASTER).
    pub daemon: SyncDaemon,
    /// The VRRP instance whose state chooses the role (`inst NAME`, or the second word).
    pub vrrp_instance: Option<String>,
    /// Whether the sync id was written (`id N`); otherwise it is the VRRP instance's
    /// `virtual_router_id` when the file has that instance, else 0.
    pub sync_id_written: bool,
    /// Where it was written.
    pub origin: Origin,
}

/// A [`Source`] that holds its files in memory: for tests, examples and documentation.
///
/// [`Source::glob`] matches the stored paths against the pattern component by component,
/// as the C library's `glob` does: `*` (not across `/`, nor over a leading `.`), `?`,
/// `[abc]`, `[a-z]`, `[!a]` and `\` escapes; the result is sorted.
///
/// ```
/// use std::path::PathBuf;
/// use ipvs_core::director::config::{MemorySource, Source};
/// let src = MemorySource::new()
///     .with("/etc/keepalived/conf.d/b.conf", "! b")
///     .with("/etc/keepalived/conf.d/a.conf", "! a")
///     .with("/etc/keepalived/conf.d/.hidden.conf", "! hidden");
/// assert_eq!(src.read("/etc/keepalived/conf.d/a.conf".as_ref()).unwrap(), "! a");
/// assert!(src.read("/nowhere".as_ref()).is_err());
/// assert_eq!(
///     src.glob("/etc/keepalived/conf.d/*.conf").unwrap(),
///     [PathBuf::from("/etc/keepalived/conf.d/a.conf"), PathBuf::from("/etc/keepalived/conf.d/b.conf")]
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemorySource {
    files: std::collections::BTreeMap<PathBuf, String>,
}

impl MemorySource {
    /// An empty source (every read fails with `NotFound`).
    ///
    /// ```
    /// use ipvs_core::director::config::{MemorySource, Source};
    /// let err = MemorySource::new().read("/etc/keepalived/keepalived.conf".as_ref()).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// ```
    pub fn new() -> Self {
        MemorySource::default()
    }

    /// The same source with one more file.
    ///
    /// ```
    /// use ipvs_core::director::config::{MemorySource, Source};
    /// let src = MemorySource::new().with("/a.conf", "! a");
    /// assert_eq!(src.read("/a.conf".as_ref()).unwrap(), "! a");
    /// ```
    pub fn with(mut self, path: impl Into<PathBuf>, contents: impl Into<String>) -> Self {
        self.insert(path, contents);
        self
    }

    /// Adds or replaces a file.
    ///
    /// ```
    /// use ipvs_core::director::config::{MemorySource, Source};
    /// let mut src = MemorySource::new();
    /// src.insert("/a.conf", "! one");
    /// src.insert("/a.conf", "! two");
    /// assert_eq!(src.read("/a.conf".as_ref()).unwrap(), "! two");
    /// ```
    pub fn insert(&mut self, path: impl Into<PathBuf>, contents: impl Into<String>) {
        self.files.insert(path.into(), contents.into());
    }
}

impl Source for MemorySource {
    fn read(&self, path: &std::path::Path) -> std::io::Result<String> {
        self.files.get(path).cloned().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, format!("{}: no such file", path.display()))
        })
    }

    fn glob(&self, pattern: &str) -> std::io::Result<Vec<PathBuf>> {
        let want: Vec<&str> = pattern.split('/').collect();
        // The map is sorted, so the matches are too.
        Ok(self
            .files
            .keys()
            .filter(|p| {
                let Some(s) = p.to_str() else { return false };
                let have: Vec<&str> = s.split('/').collect();
                have.len() == want.len() && want.iter().zip(&have).all(|(w, h)| glob_component(w, h))
            })
            .cloned()
            .collect())
    }
}

/// Whether one path component matches one glob component (`*`, `?`, `[...]`, `\`).
fn glob_component(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // A leading dot is matched only by a literal dot, as glob() does without GLOB_PERIOD.
    if n.first() == Some(&'.') && !matches!(p.first(), Some('.')) && !pattern.starts_with("\\.") {
        return false;
    }
    glob_match(&p, &n)
}

fn glob_match(p: &[char], n: &[char]) -> bool {
    match p.split_first() {
        None => n.is_empty(),
        Some(('*', rest)) => (0..=n.len()).any(|i| glob_match(rest, &n[i..])),
        Some(('?', rest)) => !n.is_empty() && glob_match(rest, &n[1..]),
        Some(('[', rest)) => {
            let Some((&c, n_rest)) = n.split_first() else { return false };
            match bracket(rest, c) {
                Some((true, after)) => glob_match(after, n_rest),
                Some((false, _)) => false,
                // An unclosed `[` is an ordinary character.
                None => c == '[' && glob_match(rest, n_rest),
            }
        }
        Some(('\\', rest)) if !rest.is_empty() => {
            n.first() == Some(&rest[0]) && glob_match(&rest[1..], &n[1..])
        }
        Some((&c, rest)) => n.first() == Some(&c) && glob_match(rest, &n[1..]),
    }
}

/// Matches `c` against a bracket expression whose `[` is already consumed: whether it
/// matched, and the pattern after the `]`; `None` when there is no closing `]`.
fn bracket(p: &[char], c: char) -> Option<(bool, &[char])> {
    let (negate, mut i) = match p.first() {
        Some('!') | Some('^') => (true, 1),
        _ => (false, 0),
    };
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negate, &p[i + 1..]));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

/// Host and service names in a configuration (ldirectord's `host:service` forms), looked up
/// by the caller so the parsers stay free of I/O. The daemon passes the system's resolver
/// (`getaddrinfo`, `getservbyname`); [`NumericNames`] knows no names.
///
/// ```
/// use std::net::IpAddr;
/// use ipvs_core::{AddressFamily, Protocol};
/// use ipvs_core::director::config::NameResolver;
/// struct Hosts;
/// impl NameResolver for Hosts {
///     fn host(&self, name: &str, family: AddressFamily) -> Option<IpAddr> {
///         (name == "www" && family == AddressFamily::Inet).then(|| "192.168.1.10".parse().unwrap())
///     }
///     fn service(&self, name: &str, _protocol: Option<Protocol>) -> Option<u16> {
///         (name == "http").then_some(80)
///     }
/// }
/// assert_eq!(Hosts.host("www", AddressFamily::Inet), Some("192.168.1.10".parse().unwrap()));
/// assert_eq!(Hosts.service("http", None), Some(80));
/// ```
pub trait NameResolver {
    /// The address of host `name` in `family` (the first that `getaddrinfo` gives), if any.
    fn host(&self, name: &str, family: AddressFamily) -> Option<IpAddr>;
    /// The port of service `name` for `protocol`, or for any protocol when `None`
    /// (`getservbyname(name, "")`), if any.
    fn service(&self, name: &str, protocol: Option<Protocol>) -> Option<u16>;
}

/// The [`NameResolver`] that knows no names: only numeric addresses and ports parse.
///
/// ```
/// use ipvs_core::AddressFamily;
/// use ipvs_core::director::config::{NameResolver, NumericNames};
/// assert_eq!(NumericNames.host("localhost", AddressFamily::Inet), None);
/// assert_eq!(NumericNames.service("http", None), None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NumericNames;

impl NameResolver for NumericNames {
    fn host(&self, _name: &str, _family: AddressFamily) -> Option<IpAddr> {
        None
    }
    fn service(&self, _name: &str, _protocol: Option<Protocol>) -> Option<u16> {
        None
    }
}

/// A [`NameResolver`] over an [`ipvsadm::Resolver`](crate::ipvsadm::Resolver) (the one
/// `ipvsadm` command lines use): IPv4 host names and service names; an IPv6 host name is not
/// found. A service name looked up for any protocol is tried for TCP, then UDP.
///
/// ```
/// use ipvs_core::AddressFamily;
/// use ipvs_core::director::config::{Ipv4Names, NameResolver};
/// use ipvs_core::ipvsadm::NumericResolver;
/// let names = Ipv4Names(&NumericResolver);
/// assert_eq!(names.host("www", AddressFamily::Inet), None);
/// ```
#[derive(Clone, Copy)]
pub struct Ipv4Names<'a>(pub &'a dyn crate::ipvsadm::Resolver);

impl std::fmt::Debug for Ipv4Names<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ipv4Names(..)")
    }
}

impl NameResolver for Ipv4Names<'_> {
    fn host(&self, name: &str, family: AddressFamily) -> Option<IpAddr> {
        match family {
            AddressFamily::Inet => self.0.host_addr(name).map(IpAddr::V4),
            AddressFamily::Inet6 => None,
        }
    }
    fn service(&self, name: &str, protocol: Option<Protocol>) -> Option<u16> {
        match protocol {
            Some(p) => self.0.service_port(name, p),
            None => {
                self.0.service_port(name, Protocol::Tcp).or_else(|| self.0.service_port(name, Protocol::Udp))
            }
        }
    }
}

/// `word` as one word of a `/bin/sh` command line: as it is when it holds only characters
/// the shell leaves alone, otherwise in single quotes. The parsers use it where the
/// reference tool runs a program with an argument vector rather than through a shell.
pub(super) fn shell_word(word: &str) -> String {
    let plain =
        !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(&b));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The origin `file:line` of line `line` of `file`.
pub(super) fn origin(file: &std::path::Path, line: u32) -> Origin {
    Origin { file: file.to_path_buf(), line }
}
