//! `keepalived.conf` (its `virtual_server` part) into
//! [`DirectorConfig`].
//!
//! The file is read as keepalived 2.2 reads it (Debian's 2.2.7): `include` (globs, brace
//! alternatives, relative to the including file), comments with `#` or `!`, conditional lines
//! (`@id`, `@^id`, with [`Options::config_id`]), parameters (`$NAME=value`, `$NAME`,
//! `${NAME}`), and the block structure. Then:
//!
//! * `virtual_server` (by address and port, `fwmark`, or `group`) and `virtual_server_group`
//!   (addresses, ranges `a.b.c.d-e`, `a.b.c.d-e.f.g.h`, prefixes `a.b.c.d/n`, and firewall
//!   marks), with every real server and its checkers (`TCP_CHECK`, `HTTP_GET`, `SSL_GET`,
//!   `SMTP_CHECK` with its `host` blocks, `DNS_CHECK`, `MISC_CHECK`, `UDP_CHECK`,
//!   `PING_CHECK`; `FILE_CHECK` and `BFD_CHECK` are accepted with a warning);
//! * `global_defs`, of which `lvs_sync_daemon` and `lvs_timeouts` are kept
//!   ([`GlobalOptions::sync_daemon`](super::config::GlobalOptions::sync_daemon),
//!   [`GlobalOptions::timeouts`](super::config::GlobalOptions::timeouts)) and the rest is
//!   accepted with a warning;
//! * VRRP, BFD, static routes and the other blocks of keepalived's other processes are
//!   skipped with a warning (their `vrrp_instance` names and router ids are read, for the sync
//!   daemon).
//!
//! keepalived's semantics are made explicit: `lvs_method` (`lb_kind`) defaults to NAT, with
//! TUN's tunnel types; `persistence_timeout` without a value is 360 s; settings pass down
//! virtual server → real server → checker (`delay_loop` 60 s, `connect_timeout` 5 s, `retry`
//! 1 but 3 for `DNS_CHECK` and 0 for `MISC_CHECK`, `delay_before_retry` 1 s but 3 s for
//! `HTTP_GET`/`SSL_GET` and `delay_loop` for `DNS_CHECK`, `warmup` `delay_loop`); `retry` + 1
//! is [`Check::failures_to_down`](super::config::Check::failures_to_down); `alpha` is
//! [`StartState::Down`]; `quorum`/`hysteresis` are [`Quorum::Weight`]; `inhibit_on_failure`
//! is [`OnFailure::Quiesce`]; a real or sorry server's port is the virtual's unless NAT, and 0
//! for firewall marks.
//!
//! Where keepalived reports a mistake and goes on with the value ignored (an invalid number,
//! an unknown keyword, a bad address), this is a [`ConfigError`]: `keepalived -t` fails on it
//! too. Where keepalived repairs the configuration and says so (no scheduler: `wlc`; a real
//! server's port differing from a DR virtual's; a quorum above the real servers' total
//! weight), the repair is made and reported as a [`ConfigWarning`]. Regular expressions are
//! kept as text; the daemon compiles them when it loads the configuration.
//!
//! ```
//! use std::time::Duration;
//! use ipvs_core::director::config::{MemorySource, OnFailure, Probe, Quorum, StartState};
//! use ipvs_core::director::keepalived;
//! use ipvs_core::{ForwardMethod, Scheduler};
//!
//! let conf = r#"
//! virtual_server 10.0.0.100 80 {
//!     delay_loop 2
//!     lb_algo wrr
//!     lb_kind DR
//!     protocol TCP
//!     alpha
//!     quorum 2
//!     sorry_server 127.0.0.1 80
//!     real_server 192.168.1.10 80 {
//!         weight 2
//!         inhibit_on_failure
//!         HTTP_GET {
//!             url {
//!                 path /health
//!                 status_code 200
//!             }
//!             retry 2
//!         }
//!     }
//! }
//! "#;
//! let src = MemorySource::new().with("/etc/keepalived/keepalived.conf", conf);
//! let cfg = keepalived::parse("/etc/keepalived/keepalived.conf".as_ref(), &src).unwrap();
//! let v = &cfg.virtuals[0];
//! assert_eq!(v.service.scheduler, Scheduler::Wrr);
//! assert_eq!(v.start, StartState::Down);
//! assert_eq!(v.quorum, Quorum::Weight { quorum: 2, hysteresis: 0 });
//! let r = &v.reals[0];
//! assert_eq!((r.dest.forward, r.dest.weight), (ForwardMethod::DirectRoute, 2));
//! assert_eq!(r.on_failure, Some(OnFailure::Quiesce));
//! let c = &r.checks[0];
//! assert!(matches!(&c.probe, Probe::Http { tls: false, urls, .. } if urls[0].path == "/health"));
//! assert_eq!((c.interval, c.failures_to_down), (Duration::from_secs(2), 3));
//! assert_eq!(c.retry_delay, Some(Duration::from_secs(3))); // HTTP_GET's own default
//! ```

mod checkers;
mod lex;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use self::checkers::RawChecker;
use self::lex::{Lexer, Node};
use super::config::{
    Command, ConfigError, ConfigWarning, Dialect, DirectorConfig, OnFailure, Origin, Quorum, RealServer,
    Source, StartState, SyncDaemonConfig, VirtualService,
};
use crate::dest::{Destination, ForwardMethod, Tunnel, TunnelFlags};
use crate::service::{
    AddressFamily, Netmask, PeName, Protocol, Scheduler, Service, ServiceFlags, ServiceKey,
};
use crate::status::{SyncDaemon, SyncRole, Timeouts};

/// How to read the file, beyond the file itself.
///
/// ```
/// use ipvs_core::director::config::MemorySource;
/// use ipvs_core::director::keepalived::{self, Options};
/// let conf = "@main $PORT=80\n@^main $PORT=8080\n\
///             virtual_server 10.0.0.1 $PORT {\n protocol TCP\n real_server 10.0.0.2 $PORT {\n }\n}\n";
/// let src = MemorySource::new().with("/k.conf", conf);
/// let main = keepalived::parse_with("/k.conf".as_ref(), &src, &Options::default().with_config_id("main")).unwrap();
/// assert_eq!(main.virtuals[0].service.key.port(), 80);
/// let other = keepalived::parse("/k.conf".as_ref(), &src).unwrap();
/// assert_eq!(other.virtuals[0].service.key.port(), 8080);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// keepalived's config id (`-i`; keepalived's default is the first part of the host
    /// name): the lines starting `@ID` are read only when it is `ID`, those starting `@^ID`
    /// only when it is not. `None`: no `@ID` line is read, every `@^ID` line is.
    pub config_id: Option<String>,
}

impl Options {
    /// The same options with a config id.
    ///
    /// ```
    /// use ipvs_core::director::keepalived::Options;
    /// assert_eq!(Options::default().with_config_id("lb1").config_id.as_deref(), Some("lb1"));
    /// ```
    pub fn with_config_id(mut self, id: impl Into<String>) -> Self {
        self.config_id = Some(id.into());
        self
    }
}

/// Reads `path` (and what it includes) through `source` and parses it as a
/// `keepalived.conf`, without a config id.
///
/// ```
/// use ipvs_core::director::config::MemorySource;
/// use ipvs_core::director::keepalived;
/// let src = MemorySource::new().with("/k.conf", "virtual_server 10.0.0.1 80 {\n  lb_algo bogus\n}\n");
/// let err = keepalived::parse("/k.conf".as_ref(), &src).unwrap_err();
/// assert_eq!(err.to_string(), "/k.conf:2: Invalid lvs_scheduler 'bogus'");
/// ```
pub fn parse(path: &Path, source: &dyn Source) -> Result<DirectorConfig, ConfigError> {
    parse_with(path, source, &Options::default())
}

/// [`parse`] with [`Options`].
///
/// ```
/// use ipvs_core::director::config::MemorySource;
/// use ipvs_core::director::keepalived::{self, Options};
/// let src = MemorySource::new().with("/k.conf", "global_defs {\n  @lb2 lvs_sync_daemon eth1 VI_1\n}\n");
/// let lb1 = keepalived::parse_with("/k.conf".as_ref(), &src, &Options::default().with_config_id("lb1")).unwrap();
/// assert!(lb1.options.sync_daemon.is_none());
/// let lb2 = keepalived::parse_with("/k.conf".as_ref(), &src, &Options::default().with_config_id("lb2")).unwrap();
/// assert!(lb2.options.sync_daemon.is_some());
/// ```
pub fn parse_with(
    path: &Path,
    source: &dyn Source,
    options: &Options,
) -> Result<DirectorConfig, ConfigError> {
    let (nodes, warnings) = Lexer::new(source, options.config_id.clone()).read(path)?;
    let mut p = Parser { warnings, ..Parser::default() };
    for n in &nodes {
        p.top(n)?;
    }
    p.finish()
}

/// keepalived's schedulers (`lvs_sched` refuses any other).
const SCHEDULERS: &[&str] =
    &["rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed", "nq", "twos"];

/// keepalived's largest persistence and connection timeouts, in seconds (31 days).
const LVS_MAX_TIMEOUT: u64 = 86_400 * 31;

/// keepalived's default `delay_loop` and `connect_timeout`.
const DEFAULT_DELAY_LOOP: Duration = Duration::from_secs(60);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The settings a virtual server passes to its real servers, and they to their checkers.
#[derive(Debug, Clone, Default)]
struct Inherited {
    alpha: Option<bool>,
    inhibit: Option<bool>,
    retry: Option<u32>,
    connect_timeout: Option<Duration>,
    delay_loop: Option<Duration>,
    warmup: Option<Duration>,
    delay_before_retry: Option<Duration>,
    virtualhost: Option<String>,
}

/// A forwarding method with its tunnel settings.
#[derive(Debug, Clone, Copy)]
struct Forwarding {
    method: ForwardMethod,
    tunnel: Tunnel,
}

#[derive(Debug, Clone)]
enum VsSpec {
    Addr(IpAddr, u16),
    Fwmark(u32),
    Group(String),
}

#[derive(Debug, Clone)]
struct RawSorry {
    addr: IpAddr,
    port: u16,
    forwarding: Option<Forwarding>,
    origin: Origin,
}

#[derive(Debug, Clone)]
struct RawReal {
    addr: IpAddr,
    port: u16,
    weight: Option<u32>,
    forwarding: Option<Forwarding>,
    upper: u32,
    lower: u32,
    inherited: Inherited,
    notify_up: Option<Command>,
    notify_down: Option<Command>,
    checkers: Vec<RawChecker>,
    origin: Origin,
}

#[derive(Debug, Clone)]
struct RawVs {
    spec: VsSpec,
    family: Option<AddressFamily>,
    scheduler: Option<String>,
    flags: ServiceFlags,
    forwarding: Option<Forwarding>,
    pe: Option<PeName>,
    persistence: Option<u32>,
    granularity: Option<Netmask>,
    protocol: Option<Protocol>,
    inherited: Inherited,
    quorum: u32,
    hysteresis: u32,
    quorum_up: Option<Command>,
    quorum_down: Option<Command>,
    omega: bool,
    weight: u32,
    sorry: Option<RawSorry>,
    sorry_inhibit: bool,
    reals: Vec<RawReal>,
    origin: Origin,
}

/// One entry of a `virtual_server_group`.
#[derive(Debug, Clone)]
enum GroupEntry {
    /// Addresses from..=to (one address: from = to), a port (0: none).
    Range(IpAddr, IpAddr, u16),
    /// A mark and its family, if written.
    Fwmark(u32, Option<AddressFamily>),
}

#[derive(Debug, Clone)]
struct Group {
    name: String,
    entries: Vec<(GroupEntry, Origin)>,
    origin: Origin,
}

/// What a skipped `vrrp_instance` says that the sync daemon needs.
#[derive(Debug, Clone)]
struct VrrpInstance {
    name: String,
    vrid: Option<u32>,
    /// The deprecated `lvs_sync_daemon_interface` of the instance.
    sync_interface: Option<(String, Origin)>,
}

#[derive(Debug, Clone)]
struct RawSync {
    interface: String,
    instance: Option<String>,
    sync_id: Option<u32>,
    max_len: u16,
    port: u16,
    ttl: u8,
    group: Option<IpAddr>,
    origin: Origin,
}

#[derive(Default)]
struct Parser {
    warnings: Vec<ConfigWarning>,
    groups: Vec<Group>,
    vss: Vec<RawVs>,
    vrrp: Vec<VrrpInstance>,
    sync: Option<RawSync>,
    timeouts: Option<Timeouts>,
}

// ---------------------------------------------------------------------------------------
// Reading values the way keepalived's read_* functions do.

fn err(n: &Node, message: impl Into<String>) -> ConfigError {
    ConfigError::new(n.origin.clone(), message)
}

/// Word `i` of the line (the keyword is word 0), which must be there.
fn arg(n: &Node, i: usize) -> Result<&str, ConfigError> {
    n.words.get(i).map(String::as_str).ok_or_else(|| {
        err(
            n,
            format!(
                "Configuration line starting `{}` is missing a parameter at word position {}",
                n.keyword(),
                i + 1
            ),
        )
    })
}

/// A whole number in `min..=max` (keepalived's `read_unsigned`: digits only, no sign).
fn number(n: &Node, i: usize, min: u64, max: u64) -> Result<u64, ConfigError> {
    let s = arg(n, i)?;
    let t = s.trim_start_matches([' ', '\t']);
    if t.starts_with('-') {
        return Err(err(n, format!("negative number '{s}'")));
    }
    let v = t
        .strip_prefix('+')
        .unwrap_or(t)
        .parse::<u64>()
        .ok()
        .filter(|_| !t.is_empty() && t.trim_start_matches('+').bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| err(n, format!("invalid number '{s}'")))?;
    if v < min || v > max {
        return Err(err(n, format!("number '{s}' outside range [{min}, {max}]")));
    }
    Ok(v)
}

fn number_u32(n: &Node, i: usize, min: u32, max: u32) -> Result<u32, ConfigError> {
    // The range fits a u32, so the value does.
    number(n, i, u64::from(min), u64::from(max)).map(|v| u32::try_from(v).unwrap_or(max))
}

/// A time in seconds with up to six decimals (keepalived's `read_timer`), in
/// `min_us..=max_us` microseconds.
fn timer(n: &Node, i: usize, min_us: u64, max_us: u64) -> Result<Duration, ConfigError> {
    let s = arg(n, i)?;
    if s.starts_with('-') {
        return Err(err(n, format!("negative number '{s}'")));
    }
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && frac.is_empty() || !digits(whole) || !digits(frac) {
        return Err(err(n, format!("invalid number '{s}'")));
    }
    if frac.len() > 6 {
        return Err(err(n, format!("number '{s}' has too many decimal places")));
    }
    let secs: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| err(n, format!("number '{s}' is too large")))?
    };
    let micros: u64 = format!("{frac:0<6}").parse().unwrap_or(0);
    let total = secs
        .checked_mul(1_000_000)
        .and_then(|v| v.checked_add(micros))
        .ok_or_else(|| err(n, format!("number '{s}' is too large")))?;
    if total < min_us || total > max_us {
        let f = |us: u64| format!("{}.{:06}", us / 1_000_000, us % 1_000_000);
        return Err(err(n, format!("number '{s}' outside range [{}, {}]", f(min_us), f(max_us))));
    }
    Ok(Duration::from_micros(total))
}

/// An optional `on|off|true|false|yes|no` after a keyword (absent: true).
fn boolean(n: &Node, i: usize) -> Result<bool, ConfigError> {
    match n.words.get(i).map(String::as_str) {
        None => Ok(true),
        Some("true" | "on" | "yes") => Ok(true),
        Some("false" | "off" | "no") => Ok(false),
        Some(other) => Err(err(n, format!("Invalid {} parameter {other}", n.keyword()))),
    }
}

/// An address as keepalived's `inet_stosockaddr` reads it: IPv6 when it has a `:`.
fn address(s: &str) -> Option<IpAddr> {
    if s.contains(':') {
        s.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        s.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
    }
}

/// An optional port after an address: absent or all zeros is 0, otherwise 1..=65535.
fn port(n: &Node, i: usize) -> Result<u16, ConfigError> {
    match n.words.get(i) {
        None => Ok(0),
        Some(p) if !p.is_empty() && p.bytes().all(|b| b == b'0') => Ok(0),
        Some(_) => number(n, i, 1, 65_535).map(|v| u16::try_from(v).unwrap_or(0)),
    }
}

/// A keyword line must not have a block.
fn no_block(n: &Node) -> Result<(), ConfigError> {
    match &n.block {
        Some(_) => Err(ConfigError::new(
            n.block_origin.clone().unwrap_or_else(|| n.origin.clone()),
            format!("Unexpected '{{': `{}` takes no block", n.keyword()),
        )),
        None => Ok(()),
    }
}

/// The block a keyword line must have.
fn block(n: &Node) -> Result<&[Node], ConfigError> {
    n.block
        .as_deref()
        .ok_or_else(|| err(n, format!("Missing '{{' at beginning of configuration block `{}`", n.keyword())))
}

/// A script line (`notify_up`, `quorum_down`, `misc_path`): keepalived re-reads the line
/// with quotes and escapes, takes word 1 as the command and splits it again into the
/// program and its arguments, which it runs without a shell. As a `/bin/sh` line, each word
/// quoted as needed. Words after it are a user and group to run as.
fn script(n: &Node, warnings: &mut Vec<ConfigWarning>) -> Result<Command, ConfigError> {
    let words = lex::quoted_words(&n.raw).map_err(|m| err(n, m))?;
    let cmd = words.get(1).ok_or_else(|| err(n, format!("`{}` is missing its script", n.keyword())))?;
    let argv = lex::quoted_words(cmd).map_err(|m| err(n, m))?;
    if argv.is_empty() {
        return Err(err(n, format!("Unable to parse script '{cmd}'")));
    }
    if words.len() > 2 {
        warnings.push(ConfigWarning {
            origin: n.origin.clone(),
            message: format!(
                "{}: the user and group to run it as have no effect (it runs as the director)",
                n.keyword()
            ),
        });
    }
    let line = argv.iter().map(|w| super::config::shell_word(w)).collect::<Vec<_>>().join(" ");
    Ok(Command { line, origin: n.origin.clone() })
}

/// `lvs_method NAT|DR|TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]`.
fn forwarding(n: &Node, what: &str) -> Result<Forwarding, ConfigError> {
    let method = match arg(n, 1)? {
        "NAT" => ForwardMethod::Masquerade,
        "DR" => ForwardMethod::DirectRoute,
        "TUN" => ForwardMethod::Tunnel,
        other => return Err(err(n, format!("PARSER : unknown [{other}] routing method for {what} server."))),
    };
    let mut kind = None;
    let mut tport = 0u16;
    let mut csum = TunnelFlags::empty();
    let mut i = 2;
    while i < n.words.len() {
        match n.words[i].as_str() {
            "type" => {
                kind = Some(match n.words.get(i + 1).map(String::as_str) {
                    Some("ipip") => "ipip",
                    Some("gue") => "gue",
                    Some("gre") => "gre",
                    Some(t) => return Err(err(n, format!("Unknown tunnel type {t} for {what} server."))),
                    None => return Err(err(n, format!("Missing tunnel type for {what} server."))),
                });
                i += 2;
            }
            "port" => {
                if n.words.get(i + 1).is_none() {
                    return Err(err(n, format!("Missing port for {what} server gue tunnel.")));
                }
                tport = number(n, i + 1, 1, 65_535)
                    .map_err(|_| {
                        err(n, format!("Invalid gue tunnel port {} for {what} server.", n.words[i + 1]))
                    })?
                    .try_into()
                    .unwrap_or(0);
                i += 2;
            }
            "nocsum" => {
                csum = TunnelFlags::empty();
                i += 1;
            }
            "csum" => {
                csum = TunnelFlags::CSUM;
                i += 1;
            }
            "remcsum" => {
                csum = TunnelFlags::REMCSUM;
                i += 1;
            }
            other => return Err(err(n, format!("Invalid tunnel option {other} for {what} server."))),
        }
    }
    if n.words.len() > 2 && method != ForwardMethod::Tunnel {
        return Err(err(n, format!("tunnel options are only for TUN ({what} server)")));
    }
    let tunnel = match kind.unwrap_or("ipip") {
        "gue" if tport == 0 => return Err(err(n, "gue tunnels require port, otherwise cannot have port.")),
        "gue" => Tunnel::gue(tport),
        _ if tport != 0 => return Err(err(n, "gue tunnels require port, otherwise cannot have port.")),
        "gre" if csum == TunnelFlags::REMCSUM => {
            return Err(err(n, "gre tunnels do not support remote checksum option."))
        }
        "gre" => Tunnel::gre(),
        _ if !csum.is_empty() => return Err(err(n, "ipip tunnels do not support checksum option.")),
        _ => Tunnel::ipip(),
    };
    Ok(Forwarding { method, tunnel: tunnel.with_flags(csum) })
}

impl Parser {
    fn warn(&mut self, origin: &Origin, message: impl Into<String>) {
        self.warnings.push(ConfigWarning { origin: origin.clone(), message: message.into() });
    }

    /// Extra words keepalived ignores without a word: reported here, they are likely
    /// mistakes.
    fn extra(&mut self, n: &Node, max_args: usize) {
        if n.args().len() > max_args {
            let extra = n.args()[max_args..].join(" ");
            self.warn(&n.origin, format!("`{}`: extra words ignored: {extra}", n.keyword()));
        }
    }

    fn top(&mut self, n: &Node) -> Result<(), ConfigError> {
        match n.keyword() {
            "global_defs" => self.global_defs(n),
            "virtual_server_group" => self.group(n),
            "virtual_server" => self.virtual_server(n),
            "vrrp_instance" => {
                self.vrrp_instance(n);
                self.warn(
                    &n.origin,
                    "vrrp_instance skipped: VRRP is not part of the director (run keepalived -P for it)",
                );
                Ok(())
            }
            kw @ ("vrrp_script"
            | "vrrp_sync_group"
            | "static_ipaddress"
            | "static_routes"
            | "static_rules"
            | "track_group"
            | "garp_group"
            | "linkbeat_interfaces"
            | "vrrp_track_process"
            | "interface_up_down_delays") => {
                self.warn(
                    &n.origin,
                    format!("{kw} skipped: VRRP is not part of the director (run keepalived -P for it)"),
                );
                Ok(())
            }
            "bfd_instance" => {
                self.warn(&n.origin, "bfd_instance skipped: BFD is not part of the director");
                Ok(())
            }
            kw @ ("track_file" | "vrrp_track_file") => {
                self.warn(&n.origin, format!("{kw} skipped: FILE_CHECK is not implemented"));
                Ok(())
            }
            "SSL" => {
                for c in block(n)? {
                    match c.keyword() {
                        "password" | "ca" | "certificate" | "key" => {
                            arg(c, 1)?;
                        }
                        other => return Err(err(c, format!("Unknown keyword '{other}'"))),
                    }
                }
                self.warn(&n.origin, "SSL has no effect: SSL_GET checks present no client certificate");
                Ok(())
            }
            kw @ ("linkbeat_use_polling"
            | "net_namespace"
            | "net_namespace_ipvs"
            | "namespace_with_ipsets"
            | "use_pid_dir"
            | "instance"
            | "child_wait_time") => {
                self.warn(&n.origin, format!("{kw} has no effect"));
                Ok(())
            }
            other => Err(err(n, format!("Unknown keyword '{other}'"))),
        }
    }

    /// A skipped `vrrp_instance`: its name, `virtual_router_id` and deprecated
    /// `lvs_sync_daemon_interface`.
    fn vrrp_instance(&mut self, n: &Node) {
        let name = n.words.get(1).cloned().unwrap_or_default();
        let mut inst = VrrpInstance { name, vrid: None, sync_interface: None };
        for c in n.block.as_deref().unwrap_or(&[]) {
            match c.keyword() {
                "virtual_router_id" => inst.vrid = c.words.get(1).and_then(|v| v.parse().ok()),
                "lvs_sync_daemon_interface" => {
                    inst.sync_interface = c.words.get(1).map(|i| (i.clone(), c.origin.clone()));
                }
                _ => {}
            }
        }
        self.vrrp.push(inst);
    }

    fn global_defs(&mut self, n: &Node) -> Result<(), ConfigError> {
        for c in block(n)? {
            match c.keyword() {
                "lvs_sync_daemon" => {
                    no_block(c)?;
                    self.lvs_sync_daemon(c)?;
                }
                "lvs_timeouts" => {
                    no_block(c)?;
                    self.lvs_timeouts(c)?;
                }
                kw if GLOBAL_DEFS.contains(&kw) => {
                    let what = if kw.starts_with("vrrp") || kw == "router_id" || kw.contains("garp") {
                        "a VRRP setting"
                    } else if kw.contains("smtp") || kw.contains("email") || kw.contains("notification") {
                        "the director sends no e-mail"
                    } else if kw.starts_with("lvs_flush") {
                        "the director removes only the virtual services it manages"
                    } else {
                        "not implemented"
                    };
                    self.warn(&c.origin, format!("global_defs {kw} has no effect ({what})"));
                }
                other => return Err(err(c, format!("Unknown keyword '{other}'"))),
            }
        }
        Ok(())
    }

    /// `lvs_sync_daemon IFNAME [inst] VRRP_INSTANCE [id N] [maxlen N] [port N] [ttl N] [group IP]`.
    fn lvs_sync_daemon(&mut self, n: &Node) -> Result<(), ConfigError> {
        if let Some(s) = &self.sync {
            return Err(err(
                n,
                format!("lvs_sync_daemon has already been specified as {} (at {})", s.interface, s.origin),
            ));
        }
        let interface = arg(n, 1).map_err(|_| err(n, "lvs_sync_daemon requires interface"))?.to_owned();
        if interface.len() >= 16 {
            return Err(err(n, format!("lvs_sync_daemon interface name '{interface}' too long")));
        }
        let mut s = RawSync {
            interface,
            instance: None,
            sync_id: None,
            max_len: 0,
            port: 0,
            ttl: 0,
            group: None,
            origin: n.origin.clone(),
        };
        let mut i = 2;
        while i < n.words.len() {
            let word = n.words[i].as_str();
            let value = |what: &str| {
                n.words
                    .get(i + 1)
                    .map(String::as_str)
                    .ok_or_else(|| err(n, format!("No value specified for lvs_sync_daemon {what}")))
            };
            match word {
                "inst" => {
                    if s.instance.is_some() {
                        return Err(err(n, "lvs_sync_daemon vrrp instance has already been specified"));
                    }
                    s.instance = Some(value("inst")?.to_owned());
                }
                "id" => {
                    value("id")?;
                    s.sync_id = Some(
                        number_u32(n, i + 1, 0, 255)
                            .map_err(|_| err(n, format!("Invalid syncid ({})", n.words[i + 1])))?,
                    );
                }
                "maxlen" => {
                    value("maxlen")?;
                    let v = number(n, i + 1, 1, 65_535 - 20 - 8).map_err(|_| {
                        err(n, format!("Invalid lvs_sync_daemon maxlen ({})", n.words[i + 1]))
                    })?;
                    s.max_len = u16::try_from(v).unwrap_or(0);
                }
                "port" => {
                    value("port")?;
                    let v = number(n, i + 1, 1, 65_535)
                        .map_err(|_| err(n, format!("Invalid lvs_sync_daemon port ({})", n.words[i + 1])))?;
                    s.port = u16::try_from(v).unwrap_or(0);
                }
                "ttl" => {
                    value("ttl")?;
                    let v = number(n, i + 1, 1, 255)
                        .map_err(|_| err(n, format!("Invalid lvs_sync_daemon ttl ({})", n.words[i + 1])))?;
                    s.ttl = u8::try_from(v).unwrap_or(0);
                }
                "group" => {
                    let g = address(value("group")?).ok_or_else(|| {
                        err(n, format!("Invalid lvs_sync_daemon group ({})", n.words[i + 1]))
                    })?;
                    if !g.is_multicast() {
                        return Err(err(n, format!("lvs_sync_daemon group address {g} is not multicast")));
                    }
                    s.group = Some(g);
                }
                // The older form: lvs_sync_daemon IF VRRP_INSTANCE [SYNC_ID].
                _ if i == 2 => {
                    s.instance = Some(word.to_owned());
                    i += 1;
                    continue;
                }
                _ if i == 3 => {
                    s.sync_id = Some(
                        number_u32(n, 3, 0, 255).map_err(|_| err(n, format!("Invalid syncid ({word})")))?,
                    );
                    self.warn(&n.origin, "Please use keyword \"id\" before lvs_sync_daemon SYNCID");
                    i += 1;
                    continue;
                }
                other => return Err(err(n, format!("Unknown option {other} specified for lvs_sync_daemon"))),
            }
            i += 2;
        }
        self.sync = Some(s);
        Ok(())
    }

    /// `lvs_timeouts [tcp N] [tcpfin N] [udp N]`.
    fn lvs_timeouts(&mut self, n: &Node) -> Result<(), ConfigError> {
        if n.words.len() < 3 {
            return Err(err(n, "lvs_timeouts requires at least one option"));
        }
        let mut t = self.timeouts.unwrap_or(Timeouts { tcp: 0, tcp_fin: 0, udp: 0 });
        let mut i = 1;
        while i < n.words.len() {
            let slot = match n.words[i].as_str() {
                "tcp" => &mut t.tcp,
                "tcpfin" => &mut t.tcp_fin,
                "udp" => &mut t.udp,
                other => return Err(err(n, format!("Unknown option {other} specified for lvs_timeouts"))),
            };
            if n.words.get(i + 1).is_none() {
                return Err(err(n, format!("No value specified for lvs_timeout {}", n.words[i])));
            }
            *slot = u32::try_from(number(n, i + 1, 0, LVS_MAX_TIMEOUT)?).unwrap_or(0);
            i += 2;
        }
        self.timeouts = Some(t);
        Ok(())
    }

    /// `virtual_server_group NAME { entries }`.
    fn group(&mut self, n: &Node) -> Result<(), ConfigError> {
        let name = arg(n, 1)?.to_owned();
        if let Some(g) = self.groups.iter().find(|g| g.name == name) {
            return Err(err(n, format!("virtual_server_group {name} already defined at {}", g.origin)));
        }
        let mut entries = Vec::new();
        for e in block(n)? {
            no_block(e)?;
            entries.push((self.group_entry(e, &name)?, e.origin.clone()));
        }
        if entries.is_empty() {
            return Err(err(n, format!("virtual server group {name} has no entries")));
        }
        self.groups.push(Group { name, entries, origin: n.origin.clone() });
        Ok(())
    }

    fn group_entry(&mut self, e: &Node, group: &str) -> Result<GroupEntry, ConfigError> {
        if e.keyword() == "fwmark" {
            let mark = number_u32(e, 1, 0, u32::MAX).map_err(|_| {
                err(
                    e,
                    format!(
                        "({group}): fwmark '{}' must be in [0, {}]",
                        e.words.get(1).map_or("", |s| s),
                        u32::MAX
                    ),
                )
            })?;
            let family = match e.words.get(2).map(String::as_str) {
                None => None,
                Some("inet") => Some(AddressFamily::Inet),
                Some("inet6") => Some(AddressFamily::Inet6),
                Some(f) => return Err(err(e, format!("({group}): fwmark '{mark}' family {f} unknown"))),
            };
            self.extra(e, 2);
            return Ok(GroupEntry::Fwmark(mark, family));
        }
        let text = e.keyword();
        let port =
            port(e, 1).map_err(|_| err(e, format!("Invalid virtual server group IP address {text} port")))?;
        self.extra(e, 1);
        let bad = || err(e, format!("Invalid virtual server group IP address {text}"));
        if let Some((base, mask)) = text.split_once('/') {
            let a = address(base).ok_or_else(bad)?;
            let bits: u32 = mask
                .parse()
                .ok()
                .filter(|_| mask.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| err(e, format!("Invalid netmask - {text}")))?;
            let (lo, hi) = match a {
                IpAddr::V4(v4) if (1..=32).contains(&bits) => {
                    let host = if bits == 32 { 0 } else { u32::MAX >> bits };
                    let n = u32::from(v4);
                    if n & host != 0 {
                        return Err(err(e, format!("Address mask bits not empty - {text}")));
                    }
                    (IpAddr::V4(v4), IpAddr::V4(Ipv4Addr::from(n | host)))
                }
                IpAddr::V6(v6) if (1..=128).contains(&bits) => {
                    let host = if bits == 128 { 0 } else { u128::MAX >> bits };
                    let n = u128::from(v6);
                    if n & host != 0 {
                        return Err(err(e, format!("Address mask bits not empty - {text}")));
                    }
                    (IpAddr::V6(v6), IpAddr::V6(Ipv6Addr::from(n | host)))
                }
                _ => return Err(err(e, format!("Invalid netmask - {text}"))),
            };
            return Ok(GroupEntry::Range(lo, hi, port));
        }
        if let Some((base, end)) = text.split_once('-') {
            let a = address(base).ok_or_else(bad)?;
            let full_end = match a {
                IpAddr::V4(_) => end.contains('.'),
                IpAddr::V6(_) => end.contains(':'),
            };
            let b = if full_end {
                let b = address(end).ok_or_else(|| err(e, format!("Invalid range end {text}")))?;
                if AddressFamily::of(&a) != AddressFamily::of(&b) {
                    return Err(err(e, format!("Range address families do not match {text}")));
                }
                b
            } else {
                // The last byte (IPv4, decimal) or the last 16 bits (IPv6, hexadecimal).
                match a {
                    IpAddr::V4(v4) => {
                        let last: u8 = end.parse().ok().filter(|_| end.bytes().all(|b| b.is_ascii_digit())).ok_or_else(|| {
                            err(e, format!("Virtual server group range '{text}' end '{end}' is not a number from 0 to 255"))
                        })?;
                        let mut o = v4.octets();
                        if o[3] >= last {
                            return Err(err(
                                e,
                                format!("Address range end is not greater than address range start - {text}"),
                            ));
                        }
                        o[3] = last;
                        IpAddr::V4(Ipv4Addr::from(o))
                    }
                    IpAddr::V6(v6) => {
                        let last = u16::from_str_radix(end, 16).map_err(|_| {
                            err(e, format!("Virtual server group range '{text}' end '{end}' is not a hexadecimal number to ffff"))
                        })?;
                        let mut s = v6.segments();
                        if s[7] >= last {
                            return Err(err(
                                e,
                                format!("Address range end is not greater than address range start - {text}"),
                            ));
                        }
                        s[7] = last;
                        IpAddr::V6(Ipv6Addr::from(s))
                    }
                }
            };
            let (lo, hi) = (ip_number(a), ip_number(b));
            if lo > hi {
                return Err(err(e, format!("Address range end is less than address range start - {text}")));
            }
            return Ok(GroupEntry::Range(a, b, port));
        }
        let a = address(text).ok_or_else(bad)?;
        Ok(GroupEntry::Range(a, a, port))
    }

    /// `virtual_server IP [PORT] | fwmark N | group NAME { ... }`.
    fn virtual_server(&mut self, n: &Node) -> Result<(), ConfigError> {
        let spec = match arg(n, 1)? {
            "group" => VsSpec::Group(arg(n, 2)?.to_owned()),
            "fwmark" => VsSpec::Fwmark(number_u32(n, 2, 0, u32::MAX).map_err(|_| {
                err(
                    n,
                    format!(
                        "virtual server fwmark '{}' must be in [0, {}]",
                        n.words.get(2).map_or("", |s| s),
                        u32::MAX
                    ),
                )
            })?),
            a => {
                let addr =
                    address(a).ok_or_else(|| err(n, format!("Invalid virtual server IP address {a}")))?;
                let p = port(n, 2).map_err(|_| {
                    err(n, format!("Invalid virtual server IP address/port {a}/{}", n.words[2]))
                })?;
                VsSpec::Addr(addr, p)
            }
        };
        self.extra(n, 2);
        let family = match spec {
            VsSpec::Addr(a, _) => Some(AddressFamily::of(&a)),
            _ => None,
        };
        let mut vs = RawVs {
            spec,
            family,
            scheduler: None,
            flags: ServiceFlags::empty(),
            forwarding: None,
            pe: None,
            persistence: None,
            granularity: None,
            protocol: None,
            inherited: Inherited::default(),
            quorum: 1,
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            omega: false,
            weight: 1,
            sorry: None,
            sorry_inhibit: false,
            reals: Vec::new(),
            origin: n.origin.clone(),
        };
        for c in block(n)? {
            if c.keyword() != "real_server" {
                no_block(c)?;
            }
            self.vs_keyword(&mut vs, c)?;
        }
        self.vss.push(vs);
        Ok(())
    }

    fn vs_keyword(&mut self, vs: &mut RawVs, c: &Node) -> Result<(), ConfigError> {
        let max_args = match c.keyword() {
            "lb_kind" | "lvs_method" | "sorry_server_lvs_method" | "quorum_up" | "quorum_down" => usize::MAX,
            "sorry_server" | "real_server" => 2,
            "ip_family"
            | "retry"
            | "delay_before_retry"
            | "warmup"
            | "connect_timeout"
            | "delay_loop"
            | "lb_algo"
            | "lvs_sched"
            | "persistence_engine"
            | "persistence_timeout"
            | "persistence_granularity"
            | "protocol"
            | "smtp_alert"
            | "virtualhost"
            | "snmp_name"
            | "quorum"
            | "hysteresis"
            | "weight" => 1,
            _ => 0,
        };
        self.extra(c, max_args);
        let d = &mut vs.inherited;
        match c.keyword() {
            "ip_family" => {
                let f = match arg(c, 1)? {
                    "inet" => AddressFamily::Inet,
                    "inet6" => AddressFamily::Inet6,
                    other => return Err(err(c, format!("unknown address family {other}"))),
                };
                if vs.family.is_some_and(|v| v != f) {
                    return Err(err(
                        c,
                        format!(
                            "Virtual server specified family {} conflicts with server family",
                            c.words[1]
                        ),
                    ));
                }
                vs.family = Some(f);
            }
            "retry" => {
                d.retry = Some(
                    number_u32(c, 1, 1, u32::MAX)
                        .map_err(|e| err(c, format!("retry value invalid - {}", e.message)))?,
                )
            }
            "delay_before_retry" => d.delay_before_retry = Some(timer(c, 1, 0, u64::MAX / 2)?),
            "warmup" => d.warmup = Some(timer(c, 1, 0, u64::MAX / 2)?),
            "connect_timeout" => d.connect_timeout = Some(timer(c, 1, 1, u64::from(u32::MAX))?),
            "delay_loop" => d.delay_loop = Some(timer(c, 1, 1, u64::MAX / 2)?),
            "inhibit_on_failure" => d.inhibit = Some(true),
            "lb_algo" | "lvs_sched" => {
                let s = arg(c, 1)?;
                if !SCHEDULERS.contains(&s) {
                    return Err(err(c, format!("Invalid lvs_scheduler '{s}'")));
                }
                vs.scheduler = Some(s.to_owned());
            }
            "hashed" => self.warn(&c.origin, "hashed has no effect"),
            "ops" => vs.flags |= ServiceFlags::ONEPACKET,
            "flag-1" => vs.flags |= ServiceFlags::SCHED1,
            "flag-2" => vs.flags |= ServiceFlags::SCHED2,
            "flag-3" => vs.flags |= ServiceFlags::SCHED3,
            kw @ ("sh-port" | "sh-fallback" | "mh-port" | "mh-fallback") => {
                let (sched, bit) = match kw {
                    "sh-port" => ("sh", ServiceFlags::SH_PORT),
                    "sh-fallback" => ("sh", ServiceFlags::SH_FALLBACK),
                    "mh-port" => ("mh", ServiceFlags::MH_PORT),
                    _ => ("mh", ServiceFlags::MH_FALLBACK),
                };
                // keepalived looks at the scheduler set so far: lvs_sched must come first.
                if vs.scheduler.as_deref() != Some(sched) {
                    return Err(err(
                        c,
                        format!("{kw} only applies to {sched} scheduler (set lvs_sched {sched} before it)"),
                    ));
                }
                vs.flags |= bit;
            }
            "lb_kind" | "lvs_method" => vs.forwarding = Some(forwarding(c, "virtual")?),
            "persistence_engine" => {
                let name = arg(c, 1)?;
                vs.pe = Some(PeName::new(name).map_err(|e| err(c, format!("persistence_engine: {e}")))?);
            }
            "persistence_timeout" => {
                vs.persistence = Some(match c.words.get(1) {
                    None => Service::DEFAULT_TIMEOUT,
                    Some(_) => u32::try_from(
                        number(c, 1, 1, LVS_MAX_TIMEOUT)
                            .map_err(|e| err(c, format!("persistence_timeout invalid: {}", e.message)))?,
                    )
                    .unwrap_or(0),
                });
            }
            "persistence_granularity" => {
                let s = arg(c, 1)?;
                let family = vs.family.unwrap_or(if s.contains('.') {
                    AddressFamily::Inet
                } else {
                    AddressFamily::Inet6
                });
                let mask = match family {
                    AddressFamily::Inet6 => Netmask::V6(
                        u8::try_from(number(c, 1, 1, 128).map_err(|_| {
                            err(c, format!("Invalid IPv6 persistence_granularity specified - {s}"))
                        })?)
                        .unwrap_or(128),
                    ),
                    AddressFamily::Inet => Netmask::V4(s.parse().map_err(|_| {
                        err(c, format!("Invalid IPv4 persistence_granularity specified - {s}"))
                    })?),
                };
                vs.family.get_or_insert(family);
                vs.granularity = Some(mask);
                vs.persistence.get_or_insert(Service::DEFAULT_TIMEOUT);
            }
            "protocol" => {
                vs.protocol = Some(match arg(c, 1)?.to_ascii_uppercase().as_str() {
                    "TCP" => Protocol::Tcp,
                    "UDP" => Protocol::Udp,
                    "SCTP" => Protocol::Sctp,
                    _ => return Err(err(c, format!("Unknown protocol {}", c.words[1]))),
                });
            }
            "ha_suspend" => self.warn(
                &c.origin,
                "ha_suspend has no effect: checks run whether the virtual address is up or not",
            ),
            "smtp_alert" => {
                boolean(c, 1)?;
                self.warn(&c.origin, "smtp_alert has no effect: the director sends no e-mail");
            }
            "virtualhost" => {
                d.virtualhost =
                    Some(arg(c, 1).map_err(|_| err(c, "virtual server virtualhost missing"))?.to_owned())
            }
            "snmp_name" => {
                arg(c, 1)?;
                self.warn(&c.origin, "snmp_name has no effect: the director has no SNMP agent");
            }
            "alpha" => d.alpha = Some(true),
            "omega" => vs.omega = true,
            kw @ ("quorum_up" | "quorum_down") => {
                let slot = if kw == "quorum_up" { &mut vs.quorum_up } else { &mut vs.quorum_down };
                if let Some(first) = slot {
                    return Err(err(c, format!("{kw} script already specified (at {})", first.origin)));
                }
                *slot = Some(script(c, &mut self.warnings)?);
            }
            "quorum" => {
                vs.quorum = number_u32(c, 1, 1, u32::MAX).map_err(|_| {
                    err(
                        c,
                        format!("Quorum {} must be in [1, {}]", c.words.get(1).map_or("", |s| s), u32::MAX),
                    )
                })?
            }
            "hysteresis" => {
                vs.hysteresis = number_u32(c, 1, 0, u32::MAX).map_err(|_| {
                    err(
                        c,
                        format!(
                            "Hysteresis {} must be in [0, {}]",
                            c.words.get(1).map_or("", |s| s),
                            u32::MAX
                        ),
                    )
                })?
            }
            "weight" => {
                vs.weight = number_u32(c, 1, 1, Destination::MAX_WEIGHT).map_err(|_| {
                    err(
                        c,
                        format!(
                            "Virtual server weight {} is outside range 1-{}",
                            c.words.get(1).map_or("", |s| s),
                            Destination::MAX_WEIGHT
                        ),
                    )
                })?
            }
            "sorry_server" => {
                let a = arg(c, 1)?;
                let addr =
                    address(a).ok_or_else(|| err(c, format!("Invalid sorry server IP address {a}")))?;
                let p = port(c, 2).map_err(|_| err(c, format!("Invalid sorry server IP address {a}")))?;
                vs.sorry = Some(RawSorry { addr, port: p, forwarding: None, origin: c.origin.clone() });
            }
            "sorry_server_inhibit" => {
                if vs.sorry.is_none() {
                    return Err(err(c, "sorry_server_inhibit used before or without sorry_server"));
                }
                vs.sorry_inhibit = true;
            }
            "sorry_server_lvs_method" => {
                let f = forwarding(c, "sorry")?;
                match &mut vs.sorry {
                    Some(s) => s.forwarding = Some(f),
                    None => return Err(err(c, "sorry_server forwarding used without sorry_server")),
                }
            }
            "real_server" => {
                let r = self.real_server(c)?;
                vs.reals.push(r);
            }
            other => return Err(err(c, format!("Unknown keyword '{other}'"))),
        }
        Ok(())
    }

    /// `real_server IP [PORT] { ... }`.
    fn real_server(&mut self, n: &Node) -> Result<RawReal, ConfigError> {
        let a = arg(n, 1)?;
        let addr = address(a).ok_or_else(|| err(n, format!("Invalid real server ip address/port {a}")))?;
        let p = port(n, 2)
            .map_err(|_| err(n, format!("Invalid real server ip address/port {a}/{}", n.words[2])))?;
        let mut r = RawReal {
            addr,
            port: p,
            weight: None,
            forwarding: None,
            upper: 0,
            lower: 0,
            inherited: Inherited::default(),
            notify_up: None,
            notify_down: None,
            checkers: Vec::new(),
            origin: n.origin.clone(),
        };
        let Some(children) = n.block.as_deref() else {
            return Err(err(n, "Missing '{' at beginning of configuration block `real_server`"));
        };
        for c in children {
            if checkers::is_checker(c.keyword()) {
                let target = SocketAddr::new(addr, p);
                let mut found = checkers::checker(c, target, &mut self.warnings)?;
                r.checkers.append(&mut found);
                continue;
            }
            no_block(c)?;
            let max_args = match c.keyword() {
                "lvs_method" | "notify_up" | "notify_down" => usize::MAX,
                _ => 1,
            };
            self.extra(c, max_args);
            let d = &mut r.inherited;
            match c.keyword() {
                "weight" => {
                    r.weight = Some(number_u32(c, 1, 0, Destination::MAX_WEIGHT).map_err(|_| {
                        err(
                            c,
                            format!(
                                "Real server weight {} is outside range 0-{}",
                                c.words.get(1).map_or("", |s| s),
                                Destination::MAX_WEIGHT
                            ),
                        )
                    })?)
                }
                "lvs_method" => r.forwarding = Some(forwarding(c, "real")?),
                "uthreshold" => {
                    r.upper = number_u32(c, 1, 0, u32::MAX).map_err(|_| {
                        err(
                            c,
                            format!("Invalid real_server uthreshold '{}'", c.words.get(1).map_or("", |s| s)),
                        )
                    })?
                }
                "lthreshold" => {
                    r.lower = number_u32(c, 1, 0, u32::MAX).map_err(|_| {
                        err(
                            c,
                            format!("Invalid real_server lthreshold '{}'", c.words.get(1).map_or("", |s| s)),
                        )
                    })?
                }
                "inhibit_on_failure" => d.inhibit = Some(boolean(c, 1)?),
                kw @ ("notify_up" | "notify_down") => {
                    let slot = if kw == "notify_up" { &mut r.notify_up } else { &mut r.notify_down };
                    if let Some(first) = slot {
                        return Err(err(c, format!("{kw} script already specified (at {})", first.origin)));
                    }
                    *slot = Some(script(c, &mut self.warnings)?);
                }
                "alpha" => d.alpha = Some(boolean(c, 1)?),
                "retry" => {
                    d.retry = Some(
                        number_u32(c, 1, 1, u32::MAX)
                            .map_err(|e| err(c, format!("retry value invalid - {}", e.message)))?,
                    )
                }
                "delay_before_retry" => d.delay_before_retry = Some(timer(c, 1, 0, u64::MAX / 2)?),
                "warmup" => d.warmup = Some(timer(c, 1, 0, u64::MAX / 2)?),
                "connect_timeout" => d.connect_timeout = Some(timer(c, 1, 1, u64::from(u32::MAX))?),
                "delay_loop" => d.delay_loop = Some(timer(c, 1, 1, u64::MAX / 2)?),
                "smtp_alert" => {
                    boolean(c, 1)?;
                    self.warn(&c.origin, "smtp_alert has no effect: the director sends no e-mail");
                }
                "virtualhost" => {
                    d.virtualhost =
                        Some(arg(c, 1).map_err(|_| err(c, "real server virtualhost missing"))?.to_owned())
                }
                "snmp_name" => {
                    arg(c, 1)?;
                    self.warn(&c.origin, "snmp_name has no effect: the director has no SNMP agent");
                }
                other => return Err(err(c, format!("Unknown keyword '{other}'"))),
            }
        }
        Ok(r)
    }

    fn finish(mut self) -> Result<DirectorConfig, ConfigError> {
        let mut cfg = DirectorConfig::new(Dialect::Keepalived);
        let vss = std::mem::take(&mut self.vss);
        for vs in vss {
            for v in self.resolve(vs)? {
                if let Some(first) = cfg.virtuals.iter().find(|o| o.service.key == v.service.key) {
                    return Err(ConfigError::new(
                        v.origin.clone(),
                        format!("duplicate virtual server {} (first at {})", v.service.key, first.origin),
                    ));
                }
                cfg.virtuals.push(v);
            }
        }
        cfg.options.timeouts = self.timeouts;
        cfg.options.sync_daemon = self.sync_daemon()?;
        cfg.warnings = self.warnings;
        Ok(cfg)
    }

    fn sync_daemon(&mut self) -> Result<Option<SyncDaemonConfig>, ConfigError> {
        let raw = match self.sync.clone() {
            Some(s) => s,
            None => {
                // The deprecated form, in a vrrp_instance.
                let Some((inst, (interface, origin))) =
                    self.vrrp.iter().find_map(|v| v.sync_interface.clone().map(|s| (v.name.clone(), s)))
                else {
                    return Ok(None);
                };
                self.warn(&origin, "Specifying lvs_sync_daemon_interface against a vrrp is deprecated. Please use global lvs_sync_daemon");
                RawSync {
                    interface,
                    instance: Some(inst),
                    sync_id: None,
                    max_len: 0,
                    port: 0,
                    ttl: 0,
                    group: None,
                    origin,
                }
            }
        };
        let vrid = raw
            .instance
            .as_ref()
            .and_then(|name| self.vrrp.iter().find(|v| &v.name == name))
            .and_then(|v| v.vrid);
        if raw.instance.is_none() {
            self.warn(&raw.origin, "lvs_sync_daemon names no VRRP instance: the daemon stays backup");
        }
        let sync_id = match (raw.sync_id, vrid) {
            (Some(id), _) => id,
            (None, Some(vrid)) => vrid,
            (None, None) => {
                self.warn(
                    &raw.origin,
                    "lvs_sync_daemon: no id and no virtual_router_id for its VRRP instance: sync id 0",
                );
                0
            }
        };
        let mut daemon = SyncDaemon::new(SyncRole::Backup, raw.interface.as_str(), sync_id)
            .with_max_len(raw.max_len)
            .with_port(raw.port)
            .with_ttl(raw.ttl);
        if let Some(g) = raw.group {
            daemon = daemon.with_group(g);
        }
        daemon
            .validate()
            .map_err(|e| ConfigError::new(raw.origin.clone(), format!("lvs_sync_daemon: {e}")))?;
        Ok(Some(SyncDaemonConfig {
            daemon,
            vrrp_instance: raw.instance,
            sync_id_written: raw.sync_id.is_some(),
            origin: raw.origin,
        }))
    }

    /// keepalived's `validate_check_config` for one `virtual_server`: defaults, inherited
    /// values, ports, quorum; then one [`VirtualService`] per service (a group has several).
    fn resolve(&mut self, vs: RawVs) -> Result<Vec<VirtualService>, ConfigError> {
        let label = match &vs.spec {
            VsSpec::Addr(a, p) => format!("{}", SocketAddr::new(*a, *p)),
            VsSpec::Fwmark(m) => format!("FWM {m}"),
            VsSpec::Group(g) => format!("group {g}"),
        };
        if vs.reals.is_empty() {
            self.warn(&vs.origin, format!("Virtual server {label} has no real servers - ignoring"));
            return Ok(Vec::new());
        }
        let group = match &vs.spec {
            VsSpec::Group(name) => {
                Some(self.groups.iter().find(|g| &g.name == name).cloned().ok_or_else(|| {
                    ConfigError::new(
                        vs.origin.clone(),
                        format!("Virtual server group {name} specified but not configured"),
                    )
                })?)
            }
            _ => None,
        };
        // The services: (key template without protocol, origin).
        let has_addresses = match (&vs.spec, &group) {
            (VsSpec::Addr(..), _) => true,
            (VsSpec::Group(_), Some(g)) => g.entries.iter().any(|(e, _)| matches!(e, GroupEntry::Range(..))),
            _ => false,
        };
        let mut persistence = vs.persistence;
        let protocol = match vs.protocol {
            Some(p) if has_addresses => p,
            Some(_) => {
                self.warn(&vs.origin, format!("Warning: Virtual server {label}: protocol specified for fwmark - protocol will be ignored"));
                Protocol::Tcp
            }
            None if has_addresses => {
                self.warn(&vs.origin, format!("Virtual server {label}: no protocol set - defaulting to UDP"));
                Protocol::Udp
            }
            None => Protocol::Tcp,
        };
        let mut flags = vs.flags;
        if flags.contains(ServiceFlags::ONEPACKET) && has_addresses && protocol != Protocol::Udp {
            self.warn(
                &vs.origin,
                format!("Virtual server {label}: one packet scheduling requires UDP - resetting"),
            );
            flags.remove(ServiceFlags::ONEPACKET);
        }
        let zero_port = match (&vs.spec, &group) {
            (VsSpec::Addr(_, 0), _) => true,
            (VsSpec::Group(_), Some(g)) => {
                g.entries.iter().any(|(e, _)| matches!(e, GroupEntry::Range(_, _, 0)))
            }
            _ => false,
        };
        if persistence.is_none() && zero_port {
            self.warn(
                &vs.origin,
                format!("Virtual server {label}: zero port only valid for persistent services - setting"),
            );
            persistence = Some(Service::DEFAULT_TIMEOUT);
        }
        let scheduler = match &vs.scheduler {
            Some(s) => Scheduler::from(s.as_str()),
            None => {
                self.warn(
                    &vs.origin,
                    format!("Virtual server {label}: no scheduler set, setting default 'wlc'"),
                );
                Scheduler::Wlc
            }
        };
        let vs_fwd =
            vs.forwarding.unwrap_or(Forwarding { method: ForwardMethod::Masquerade, tunnel: Tunnel::ipip() });
        // The family of a firewall-mark service: ip_family, else the real (and sorry)
        // servers' that do not tunnel, else the tunnelled ones' when all alike, else IPv4.
        let family = vs.family.unwrap_or_else(|| {
            let fwd_of = |f: Option<Forwarding>| f.unwrap_or(vs_fwd).method;
            let untunnelled = vs
                .sorry
                .iter()
                .filter(|s| fwd_of(s.forwarding) != ForwardMethod::Tunnel)
                .map(|s| AddressFamily::of(&s.addr))
                .chain(
                    vs.reals
                        .iter()
                        .filter(|r| fwd_of(r.forwarding) != ForwardMethod::Tunnel)
                        .map(|r| AddressFamily::of(&r.addr)),
                )
                .next();
            untunnelled.unwrap_or_else(|| {
                let mut all = vs
                    .sorry
                    .iter()
                    .map(|s| AddressFamily::of(&s.addr))
                    .chain(vs.reals.iter().map(|r| AddressFamily::of(&r.addr)));
                let first = all.next().unwrap_or(AddressFamily::Inet);
                if all.all(|f| f == first) {
                    first
                } else {
                    AddressFamily::Inet
                }
            })
        });
        let keys: Vec<(ServiceKey, Origin)> = match (&vs.spec, &group) {
            (VsSpec::Addr(a, p), _) => {
                vec![(ServiceKey::Addr { protocol, addr: *a, port: *p }, vs.origin.clone())]
            }
            (VsSpec::Fwmark(m), _) => vec![(ServiceKey::fwmark(*m, family), vs.origin.clone())],
            (VsSpec::Group(_), Some(g)) => {
                let mut keys = Vec::new();
                for (entry, origin) in &g.entries {
                    match entry {
                        GroupEntry::Fwmark(m, f) => {
                            keys.push((ServiceKey::fwmark(*m, f.unwrap_or(family)), origin.clone()))
                        }
                        GroupEntry::Range(lo, hi, p) => {
                            let (l, h) = (ip_number(*lo), ip_number(*hi));
                            if h - l >= 65_536 {
                                return Err(ConfigError::new(
                                    origin.clone(),
                                    "a range of more than 65536 addresses",
                                ));
                            }
                            for n in l..=h {
                                let addr = match lo {
                                    IpAddr::V4(_) => {
                                        IpAddr::V4(Ipv4Addr::from(u32::try_from(n).unwrap_or(0)))
                                    }
                                    IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(n)),
                                };
                                keys.push((ServiceKey::Addr { protocol, addr, port: *p }, origin.clone()));
                            }
                        }
                    }
                }
                keys
            }
            (VsSpec::Group(_), None) => Vec::new(),
        };
        let group_name = match &vs.spec {
            VsSpec::Group(g) => Some(g.clone()),
            _ => None,
        };

        // Real servers: inherited values, weight, forwarding; duplicates removed.
        let vsd = &vs.inherited;
        let mut weight_sum: u64 = 0;
        struct Resolved {
            raw: RawReal,
            weight: u32,
            fwd: Forwarding,
            inhibit: bool,
            alpha: bool,
            d: Inherited,
        }
        let mut reals: Vec<Resolved> = Vec::new();
        for r in vs.reals.iter().cloned() {
            if let Some(first) = reals.iter().find(|o| o.raw.addr == r.addr && o.raw.port == r.port) {
                self.warn(
                    &r.origin,
                    format!(
                        "VS {label}: real server {} is duplicated (first at {}) - removing second rs",
                        SocketAddr::new(r.addr, r.port),
                        first.raw.origin
                    ),
                );
                continue;
            }
            let d = Inherited {
                alpha: r.inherited.alpha.or(vsd.alpha),
                inhibit: r.inherited.inhibit.or(vsd.inhibit),
                retry: r.inherited.retry.or(vsd.retry),
                connect_timeout: r
                    .inherited
                    .connect_timeout
                    .or(vsd.connect_timeout)
                    .or(Some(DEFAULT_CONNECT_TIMEOUT)),
                delay_loop: r.inherited.delay_loop.or(vsd.delay_loop).or(Some(DEFAULT_DELAY_LOOP)),
                warmup: r.inherited.warmup.or(vsd.warmup),
                delay_before_retry: r.inherited.delay_before_retry.or(vsd.delay_before_retry),
                virtualhost: r.inherited.virtualhost.clone().or(vsd.virtualhost.clone()),
            };
            let weight = r.weight.unwrap_or(vs.weight);
            weight_sum += u64::from(weight);
            reals.push(Resolved {
                fwd: r.forwarding.unwrap_or(vs_fwd),
                inhibit: d.inhibit.unwrap_or(false),
                alpha: d.alpha.unwrap_or(false),
                weight,
                d,
                raw: r,
            });
        }
        let mut quorum = vs.quorum;
        if u64::from(quorum) > weight_sum {
            let sum = u32::try_from(weight_sum).unwrap_or(u32::MAX);
            self.warn(&vs.origin, format!("Warning - quorum {quorum} for {label} exceeds total weight of real servers {sum}, reducing quorum to {sum}"));
            quorum = sum;
        }
        let mut hysteresis = vs.hysteresis;
        if hysteresis >= quorum && hysteresis > 0 {
            let h = quorum.saturating_sub(1);
            self.warn(&vs.origin, format!("Virtual server {label}: hysteresis {hysteresis} >= quorum {quorum}; setting hysteresis to {h}"));
            hysteresis = h;
        }
        let vs_alpha = vsd.alpha.unwrap_or(false);
        let vs_inhibit = vsd.inhibit.unwrap_or(false);

        let mut out = Vec::new();
        for (key, origin) in keys {
            let mut service = Service::new(key).with_scheduler(scheduler.clone()).with_flags(flags);
            if let Some(t) = persistence {
                service = service.with_persistence(t, None);
            }
            if let Some(m) = vs.granularity {
                service = service.with_netmask(m);
            }
            if let Some(pe) = &vs.pe {
                service = service.with_pe(pe.clone());
            }
            service
                .validate()
                .map_err(|e| ConfigError::new(origin.clone(), format!("virtual server {key}: {e}")))?;
            let mut v = VirtualService::new(service, origin.clone());
            v.group = group_name.clone();
            v.quorum = Quorum::Weight { quorum, hysteresis };
            v.sorry_inhibit = vs.sorry_inhibit;
            v.on_failure = if vs_inhibit { OnFailure::Quiesce } else { OnFailure::Remove };
            v.start = if vs_alpha { StartState::Down } else { StartState::Up };
            v.hooks.quorum_up = vs.quorum_up.clone();
            v.hooks.quorum_down = vs.quorum_down.clone();
            v.hooks.notify_on_stop = vs.omega;
            if let Some(s) = &vs.sorry {
                let fwd = s.forwarding.unwrap_or(vs_fwd);
                let dest = self.place(&key, s.addr, s.port, fwd, 1, 0, 0, &s.origin, "sorry server")?;
                v.sorry = Some(dest);
            }
            let mut seen: Vec<(IpAddr, u16, Origin)> = Vec::new();
            for r in &reals {
                let dest = self.place(
                    &key,
                    r.raw.addr,
                    r.raw.port,
                    r.fwd,
                    r.weight,
                    r.raw.upper,
                    r.raw.lower,
                    &r.raw.origin,
                    "real server",
                )?;
                if let Some((_, _, first)) = seen.iter().find(|(a, p, _)| *a == dest.addr && *p == dest.port)
                {
                    self.warn(
                        &r.raw.origin,
                        format!("VS {key}: real server {} is the same server as the one at {first} once its port is the virtual's - removing second rs", dest.key()),
                    );
                    continue;
                }
                seen.push((dest.addr, dest.port, r.raw.origin.clone()));
                let mut real = RealServer::new(dest, r.raw.origin.clone());
                if r.inhibit != vs_inhibit {
                    real.on_failure = Some(if r.inhibit { OnFailure::Quiesce } else { OnFailure::Remove });
                }
                real.notify_up = r.raw.notify_up.clone();
                real.notify_down = r.raw.notify_down.clone();
                let mut starts_down = false;
                for c in &r.raw.checkers {
                    let (check, alpha) = c.resolve(
                        &r.d,
                        r.alpha,
                        vsd.delay_loop.unwrap_or(DEFAULT_DELAY_LOOP),
                        &mut self.warnings,
                    )?;
                    starts_down |= alpha;
                    real.checks.push(check);
                }
                let start = if starts_down { StartState::Down } else { StartState::Up };
                if start != v.start {
                    real.start = Some(start);
                }
                v.reals.push(real);
            }
            out.push(v);
        }
        Ok(out)
    }

    /// A real or sorry server of `key`: its port the virtual's unless NAT (0 for a firewall
    /// mark), as keepalived corrects it; checked against the kernel's limits.
    #[allow(clippy::too_many_arguments)]
    fn place(
        &mut self,
        key: &ServiceKey,
        addr: IpAddr,
        port: u16,
        fwd: Forwarding,
        weight: u32,
        upper: u32,
        lower: u32,
        origin: &Origin,
        what: &str,
    ) -> Result<Destination, ConfigError> {
        let port = match (key, fwd.method) {
            (ServiceKey::Addr { port: vport, .. }, ForwardMethod::Masquerade) => {
                if port == 0 {
                    *vport
                } else {
                    port
                }
            }
            (ServiceKey::Addr { port: vport, .. }, _) => {
                if port != 0 && port != *vport {
                    self.warn(
                        origin,
                        format!(
                            "WARNING - virtual server {key} and {what} {addr} ports don't match - resetting"
                        ),
                    );
                }
                *vport
            }
            (ServiceKey::Fwmark { .. }, ForwardMethod::Masquerade) => port,
            (ServiceKey::Fwmark { .. }, _) => {
                if port != 0 {
                    self.warn(origin, format!("WARNING - fwmark virtual server {key}, {what} {addr} has port specified - clearing"));
                }
                0
            }
        };
        let d = Destination::new(SocketAddr::new(addr, port))
            .with_forward(fwd.method)
            .with_tunnel(fwd.tunnel)
            .with_weight(weight)
            .with_thresholds(upper, lower);
        d.validate_for(key)
            .map_err(|e| ConfigError::new(origin.clone(), format!("{what} {}: {e}", d.key())))?;
        Ok(d)
    }
}

fn ip_number(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// keepalived 2.2's `global_defs` keywords (`global_parser.c`) other than the two the
/// director keeps.
const GLOBAL_DEFS: &[&str] = &[
    "process_names",
    "process_name",
    "vrrp_process_name",
    "checker_process_name",
    "lvs_process_name",
    "bfd_process_name",
    "router_id",
    "notification_email_from",
    "smtp_server",
    "smtp_helo_name",
    "smtp_connect_timeout",
    "notification_email",
    "smtp_alert",
    "startup_script",
    "startup_script_timeout",
    "shutdown_script",
    "shutdown_script_timeout",
    "max_auto_priority",
    "min_auto_priority_delay",
    "smtp_alert_vrrp",
    "smtp_alert_checker",
    "checker_log_all_failures",
    "dynamic_interfaces",
    "no_email_faults",
    "default_interface",
    "disable_local_igmp",
    "lvs_flush",
    "lvs_flush_on_stop",
    "lvs_flush_onstop",
    "vrrp_mcast_group4",
    "vrrp_mcast_group6",
    "vrrp_garp_master_delay",
    "vrrp_garp_master_repeat",
    "vrrp_garp_master_refresh",
    "vrrp_garp_master_refresh_repeat",
    "vrrp_garp_lower_prio_delay",
    "vrrp_garp_lower_prio_repeat",
    "vrrp_down_timer_adverts",
    "vrrp_garp_interval",
    "vrrp_gna_interval",
    "vrrp_min_garp",
    "vrrp_garp_extra_if",
    "vrrp_vmac_garp_intvl",
    "vrrp_lower_prio_no_advert",
    "vrrp_higher_prio_send_advert",
    "vrrp_version",
    "vrrp_iptables",
    "vrrp_ipsets",
    "nftables",
    "nftables_priority",
    "nftables_ifindex",
    "nftables_ipvs",
    "nftables_ipvs_priority",
    "nftables_ipvs_start_fwmark",
    "nftables_counters",
    "vrrp_check_unicast_src",
    "vrrp_skip_check_adv_addr",
    "vrrp_strict",
    "vrrp_priority",
    "vrrp_no_swap",
    "vrrp_rt_priority",
    "vrrp_cpu_affinity",
    "vrrp_rlimit_rttime",
    "vrrp_rlimit_rtime",
    "notify_fifo",
    "notify_fifo_script",
    "vrrp_notify_fifo",
    "vrrp_notify_fifo_script",
    "vrrp_notify_priority_changes",
    "fifo_write_vrrp_states_on_reload",
    "lvs_notify_fifo",
    "lvs_notify_fifo_script",
    "checker_priority",
    "checker_no_swap",
    "checker_rt_priority",
    "checker_cpu_affinity",
    "checker_rlimit_rttime",
    "checker_rlimit_rtime",
    "bfd_priority",
    "bfd_no_swap",
    "bfd_rt_priority",
    "bfd_cpu_affinity",
    "bfd_rlimit_rttime",
    "bfd_rlimit_rtime",
    "snmp_socket",
    "enable_traps",
    "enable_snmp_vrrp",
    "enable_snmp_keepalived",
    "enable_snmp_rfc",
    "enable_snmp_rfcv2",
    "enable_snmp_rfcv3",
    "enable_snmp_checker",
    "enable_dbus",
    "dbus_service_name",
    "script_user",
    "enable_script_security",
    "vrrp_netlink_cmd_rcv_bufs",
    "vrrp_netlink_cmd_rcv_bufs_force",
    "vrrp_netlink_monitor_rcv_bufs",
    "vrrp_netlink_monitor_rcv_bufs_force",
    "process_monitor_rcv_bufs",
    "process_monitor_rcv_bufs_force",
    "lvs_netlink_cmd_rcv_bufs",
    "lvs_netlink_cmd_rcv_bufs_force",
    "lvs_netlink_monitor_rcv_bufs",
    "lvs_netlink_monitor_rcv_bufs_force",
    "rs_init_notifies",
    "no_checker_emails",
    "vrrp_rx_bufs_policy",
    "vrrp_rx_bufs_multiplier",
    "vrrp_startup_delay",
    "log_unknown_vrids",
    "vmac_prefix",
    "vmac_addr_prefix",
    "umask",
    "random_seed",
    "reload_check_config",
    "reload_time_file",
    "reload_repeat",
    "reload_file",
    "include_check",
    "config_save_dir",
    "tmp_config_directory",
    "data_use_instance",
    "linkbeat_use_polling",
    "net_namespace",
    "net_namespace_ipvs",
    "namespace_with_ipsets",
    "use_pid_dir",
    "instance",
    "child_wait_time",
];
