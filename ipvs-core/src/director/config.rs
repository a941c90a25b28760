//! The director's configuration: one model that both front ends (`ldirectord.cf`,
//! `keepalived.conf`) produce and the state machine ([`super::machine`]) runs.
//!
//! Values carry the reference tools' meaning, made explicit: where ldirectord and keepalived
//! differ (what a real server starts as, when the sorry server goes in, what happens on stop),
//! the difference is a field here, set by the front end, never a branch on the file format
//! inside the machine. [`Dialect`] only records where a configuration came from (for messages
//! and the status page).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::dest::Destination;
use crate::service::Service;

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
        DirectorConfig { dialect, virtuals: Vec::new(), options: GlobalOptions::new(dialect), warnings: Vec::new() }
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
}

impl RealServer {
    /// A real server without checks (always up).
    pub fn new(dest: Destination, origin: Origin) -> Self {
        RealServer { dest, checks: Vec::new(), on_failure: None, notify_up: None, notify_down: None, origin }
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
    /// The first probe comes after a random delay up to this (keepalived `warmup`; the
    /// director spreads checks over their interval anyway).
    pub warmup: Option<Duration>,
    /// Where the check was written.
    pub origin: Origin,
}

impl Check {
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
}

impl UrlCheck {
    /// `path`, any 2xx status, no body checks.
    pub fn new(path: impl Into<String>) -> Self {
        UrlCheck { path: path.into(), status: vec![StatusRange { low: 200, high: 299 }], regex: None, digest: None }
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
