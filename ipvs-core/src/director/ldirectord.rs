//! `ldirectord.cf` into [`DirectorConfig`].
//!
//! Every directive of ldirectord's manual is read, globally and in `virtual` sections, with
//! ldirectord's own rules (Debian's ldirectord 4.12, `/usr/sbin/ldirectord`): a virtual
//! section is the lines after `virtual =` indented by four columns or more (a tab counts four);
//! a blank line ends it; an unknown directive is an error; values are checked as ldirectord
//! checks them, then against the kernel's and ipvsadm's limits ([`Service::validate`],
//! [`Destination::validate_for`]), so a configuration that parses can be applied. Where
//! ldirectord is laxer than it documents (it matches most values with unanchored regular
//! expressions, so `checktimeout = 5s` or `virtual = 10.0.0.1` (a firewall mark 10!) pass),
//! this parser refuses the value. A `#` starts a comment anywhere on a line.
//!
//! What ldirectord means is made explicit in the model:
//!
//! * the scheduler defaults to `wrr`; the protocol to `udp` when the port is 53 (`domain`),
//!   `tcp` otherwise, `fwm` for a firewall mark;
//! * a real server's port is the virtual's unless it is `masq` (ipvsadm forces it for `gate`
//!   and `ipip`, and ldirectord goes through ipvsadm), while its check still goes to the port
//!   written (or `checkport`, or the service's well-known port);
//! * `service` defaults from the virtual port (80 `http`, 443 `https`, 53 `dns`, ...);
//! * `checktimeout` and `negotiatetimeout` fall back on each other, then on 5 s and 30 s;
//! * `checktype = N` is [`Probe::Alternate`]; `quiescent = yes` is [`OnFailure::Quiesce`];
//!   `fallback` is the sorry server with [`Quorum::AnyUp`]; real servers start as the kernel's
//!   table has them ([`StartState::FromTable`]: at a first start, down, so the fallback goes in
//!   until the first checks pass, as ldirectord does).
//!
//! Directives whose feature the director does not have (e-mail alerts, `monitorfile`,
//! `execute`, the probes of the login and database services) are accepted and reported in
//! [`DirectorConfig::warnings`]. Regular expressions (`receive`) are kept as text: the daemon
//! compiles them when it loads the configuration.
//!
//! ```
//! use ipvs_core::director::config::{MemorySource, NumericNames, OnFailure, Probe, Quorum};
//! use ipvs_core::director::ldirectord;
//! use ipvs_core::{ForwardMethod, Scheduler};
//!
//! let cf = "\
//! checktimeout=3
//! checkinterval=1
//! quiescent=yes
//! virtual=10.0.0.100:80
//! \treal=192.168.37.19:80 gate
//! \treal=192.168.37.20:80 gate
//! \tfallback=127.0.0.1:80 gate
//! \tservice=http
//! \tscheduler=rr
//! \tchecktype=negotiate
//! \trequest=\"index.html\"
//! ";
//! let src = MemorySource::new().with("/etc/ha.d/ldirectord.cf", cf);
//! let cfg = ldirectord::parse("/etc/ha.d/ldirectord.cf".as_ref(), &src, &NumericNames).unwrap();
//! let v = &cfg.virtuals[0];
//! assert_eq!(v.service.scheduler, Scheduler::Rr);
//! assert_eq!(v.on_failure, OnFailure::Quiesce);
//! assert_eq!(v.quorum, Quorum::AnyUp);
//! assert_eq!(v.sorry.as_ref().unwrap().addr.to_string(), "127.0.0.1");
//! assert_eq!(v.reals[1].dest.forward, ForwardMethod::DirectRoute);
//! let check = &v.reals[0].checks[0];
//! assert!(matches!(&check.probe, Probe::Http { urls, .. } if urls[0].path == "/index.html"));
//! assert_eq!(check.timeout.as_secs(), 3); // negotiatetimeout falls back on checktimeout
//!
//! // Errors name the file and line, as ldirectord's do.
//! let bad = MemorySource::new().with("/etc/ha.d/ldirectord.cf", "virtual=10.0.0.1:80\n\tchecktype=sometimes\n");
//! let err = ldirectord::parse("/etc/ha.d/ldirectord.cf".as_ref(), &bad, &NumericNames).unwrap_err();
//! assert!(err.to_string().starts_with("/etc/ha.d/ldirectord.cf:2: checktype must be"));
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::config::{
    origin, shell_word, Check, Command, ConfigError, ConfigWarning, Dialect, DirectorConfig, HttpMethod,
    LogTarget, NameResolver, OnFailure, OnStop, Origin, Probe, Quorum, RealServer, Source, StartState,
    Transport, UrlCheck, VirtualService,
};
use crate::dest::{Destination, ForwardMethod};
use crate::error::{Field, ValidationError};
use crate::service::{AddressFamily, Netmask, Protocol, Scheduler, Service, ServiceFlags, ServiceKey};

/// ldirectord's log file when `logfile` is not given (and `supervised` is not set).
///
/// ```
/// use ipvs_core::director::config::{LogTarget, NumericNames};
/// use ipvs_core::director::ldirectord::{self, DEFAULT_LOGFILE};
/// let cfg = ldirectord::parse_str("ldirectord.cf".as_ref(), "", &NumericNames).unwrap();
/// assert_eq!(cfg.options.log, LogTarget::File(DEFAULT_LOGFILE.into()));
/// ```
pub const DEFAULT_LOGFILE: &str = "/var/log/ldirectord.log";

/// The most real servers one `real = a->b` range may give.
const MAX_RANGE: u32 = 65_536;

/// Reads `path` through `source` and parses it as an `ldirectord.cf`, looking host and
/// service names up with `resolver`.
///
/// Errors name `path` and the line; a file that cannot be read is an error at line 0.
///
/// ```
/// use ipvs_core::director::config::{MemorySource, NumericNames};
/// use ipvs_core::director::ldirectord;
/// let src = MemorySource::new();
/// let err = ldirectord::parse("/etc/ha.d/ldirectord.cf".as_ref(), &src, &NumericNames).unwrap_err();
/// assert_eq!(err.origin.line, 0);
/// ```
pub fn parse(
    path: &Path,
    source: &dyn Source,
    resolver: &dyn NameResolver,
) -> Result<DirectorConfig, ConfigError> {
    let text = source.read(path).map_err(|e| {
        ConfigError::new(origin(path, 0), format!("can not open file {}: {e}", path.display()))
    })?;
    parse_str(path, &text, resolver)
}

/// Parses `text` as the `ldirectord.cf` at `path` (the name errors and warnings give).
///
/// ```
/// use ipvs_core::director::config::NumericNames;
/// use ipvs_core::director::ldirectord;
/// let cfg = ldirectord::parse_str("ldirectord.cf".as_ref(), "virtual=1\n\treal=10.0.0.2 gate\n", &NumericNames).unwrap();
/// assert_eq!(cfg.virtuals[0].service.key.to_string(), "-f 1");
/// ```
pub fn parse_str(
    path: &Path,
    text: &str,
    resolver: &dyn NameResolver,
) -> Result<DirectorConfig, ConfigError> {
    let mut p = Parser {
        file: path.to_path_buf(),
        resolver,
        g: Globals::default(),
        virtuals: Vec::new(),
        warnings: Vec::new(),
    };
    p.run(text)?;
    p.finish()
}

/// One line of the file, its comment removed.
struct Line<'t> {
    no: u32,
    /// The text, comment and trailing white space removed.
    text: &'t str,
    /// Leading white space in columns (a tab counts four, as ldirectord expands it).
    indent: usize,
    /// Blank (or white space only) before the comment was removed.
    blank: bool,
    /// A comment line (only white space before `#`).
    comment: bool,
}

fn split_lines(text: &str) -> Vec<Line<'_>> {
    text.split('\n')
        .enumerate()
        .map(|(i, raw)| {
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            let blank = raw.trim().is_empty();
            let body = match raw.find('#') {
                Some(at) => &raw[..at],
                None => raw,
            };
            let comment = !blank && body.trim().is_empty();
            let indent = raw
                .chars()
                .take_while(|c| *c == ' ' || *c == '\t')
                .map(|c| if c == '\t' { 4 } else { 1 })
                .sum();
            Line { no: u32::try_from(i + 1).unwrap_or(u32::MAX), text: body.trim(), indent, blank, comment }
        })
        .collect()
}

/// A fallback as written: resolved when its virtual service's protocol is known.
#[derive(Clone)]
struct RawFallback {
    host: String,
    port: Option<String>,
    forward: ForwardMethod,
    line: u32,
}

/// A global fallback: ldirectord resolves it at once, for TCP and UDP.
#[derive(Clone)]
struct GlobalFallback {
    addr: IpAddr,
    /// The port for TCP and for UDP services; `None`: the virtual's.
    tcp_port: Option<u16>,
    udp_port: Option<u16>,
    forward: ForwardMethod,
    line: u32,
}

#[derive(Default)]
struct Globals {
    checktimeout: Option<u32>,
    negotiatetimeout: Option<u32>,
    checkinterval: Option<u32>,
    checkcount: Option<u32>,
    failurecount: Option<u32>,
    fallback: Option<GlobalFallback>,
    fallback6: Option<GlobalFallback>,
    fallbackcommand: Option<Command>,
    quiescent: Option<bool>,
    readdquiescent: bool,
    fork: bool,
    autoreload: bool,
    callback: Option<Command>,
    logfile: Option<LogTarget>,
    supervised: bool,
    cleanstop: Option<bool>,
    maintenancedir: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum CheckType {
    Negotiate,
    Connect,
    Ping,
    Off,
    On,
    External,
    ExternalPerl,
    /// `checktype = N`: N connects, then a negotiate check.
    Combined(u32),
}

/// ldirectord's negotiate services.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Svc {
    Dns,
    Ftp,
    Http,
    Https,
    HttpProxy,
    Imap,
    Imaps,
    Ldap,
    Ldaps,
    Mysql,
    Nntp,
    None,
    Oracle,
    Pgsql,
    Pop,
    Pops,
    Radius,
    Simpletcp,
    Sip,
    Smtp,
    Submission,
}

/// Each service's name and well-known port (ldirectord's defaults by port, both ways).
const SERVICES: &[(Svc, &str, Option<u16>)] = &[
    (Svc::Dns, "dns", Some(53)),
    (Svc::Ftp, "ftp", Some(21)),
    (Svc::Http, "http", Some(80)),
    (Svc::Https, "https", Some(443)),
    (Svc::HttpProxy, "http_proxy", Some(3128)),
    (Svc::Imap, "imap", Some(143)),
    (Svc::Imaps, "imaps", Some(993)),
    (Svc::Ldap, "ldap", Some(389)),
    (Svc::Ldaps, "ldaps", Some(636)),
    (Svc::Mysql, "mysql", Some(3306)),
    (Svc::Nntp, "nntp", Some(119)),
    (Svc::None, "none", None),
    (Svc::Oracle, "oracle", Some(1521)),
    (Svc::Pgsql, "pgsql", Some(5432)),
    (Svc::Pop, "pop", Some(110)),
    (Svc::Pops, "pops", Some(995)),
    (Svc::Radius, "radius", Some(1812)),
    (Svc::Simpletcp, "simpletcp", None),
    (Svc::Sip, "sip", Some(5060)),
    (Svc::Smtp, "smtp", Some(25)),
    (Svc::Submission, "submission", Some(587)),
];

impl Svc {
    fn from_name(s: &str) -> Option<Svc> {
        SERVICES.iter().find(|(_, n, _)| *n == s).map(|(svc, _, _)| *svc)
    }
    fn name(self) -> &'static str {
        SERVICES.iter().find(|(s, _, _)| *s == self).map_or("none", |(_, n, _)| n)
    }
    fn port(self) -> Option<u16> {
        SERVICES.iter().find(|(s, _, _)| *s == self).and_then(|(_, _, p)| *p)
    }
    fn from_port(port: u16) -> Svc {
        SERVICES.iter().find(|(_, _, p)| *p == Some(port)).map_or(Svc::None, |(s, _, _)| *s)
    }
}

/// How a virtual service was named.
enum VirtualSpec {
    /// `host:port`, both possibly names.
    Addr {
        host: String,
        port: String,
    },
    Fwmark(u32),
}

/// A real server as resolved at the end of its virtual section.
struct RawReal {
    dest: Destination,
    /// The port written (0 when none): where ldirectord's check connects by default.
    config_port: u16,
    /// The real server's own `"request", "receive"`.
    negotiate: Option<(String, String)>,
    line: u32,
}

/// A virtual section, its directives as written (with their lines).
struct RawVirtual {
    line: u32,
    family: AddressFamily,
    spec: VirtualSpec,
    key: Option<ServiceKey>,
    reals_todo: Vec<(String, u32)>,
    reals: Vec<RawReal>,
    protocol: Option<Protocol>,
    request: Option<String>,
    receive: Option<String>,
    checktype: (CheckType, u32),
    checkcommand: Option<(String, u32)>,
    checktimeout: Option<u32>,
    negotiatetimeout: Option<u32>,
    checkcount: Option<u32>,
    failurecount: Option<u32>,
    checkinterval: Option<(u32, u32)>,
    checkport: Option<u16>,
    login: Option<String>,
    passwd: Option<String>,
    database: Option<String>,
    secret: Option<String>,
    scheduler: Option<(String, u32)>,
    persistent: Option<(u32, u32)>,
    schedflags: Option<(String, u32)>,
    netmask: Option<(String, u32)>,
    ops: Option<(bool, u32)>,
    service: Option<(Svc, u32)>,
    httpmethod: HttpMethod,
    virtualhost: Option<String>,
    fallback: Option<RawFallback>,
    fallback_dest: Option<Destination>,
    fallbackcommand: Option<Command>,
    quiescent: Option<bool>,
    cleanstop: Option<bool>,
}

impl RawVirtual {
    fn new(line: u32, family: AddressFamily, spec: VirtualSpec) -> Self {
        RawVirtual {
            line,
            family,
            spec,
            key: None,
            reals_todo: Vec::new(),
            reals: Vec::new(),
            protocol: None,
            request: None,
            receive: None,
            checktype: (CheckType::Negotiate, line),
            checkcommand: None,
            checktimeout: None,
            negotiatetimeout: None,
            checkcount: None,
            failurecount: None,
            checkinterval: None,
            checkport: None,
            login: None,
            passwd: None,
            database: None,
            secret: None,
            scheduler: None,
            persistent: None,
            schedflags: None,
            netmask: None,
            ops: None,
            service: None,
            httpmethod: HttpMethod::Get,
            virtualhost: None,
            fallback: None,
            fallback_dest: None,
            fallbackcommand: None,
            quiescent: None,
            cleanstop: None,
        }
    }

    fn is_fwmark(&self) -> bool {
        matches!(self.spec, VirtualSpec::Fwmark(_))
    }
}

struct Parser<'a> {
    file: PathBuf,
    resolver: &'a dyn NameResolver,
    g: Globals,
    virtuals: Vec<RawVirtual>,
    warnings: Vec<ConfigWarning>,
}

/// `name = value`: the directive's name (letters, digits, `_`, `-`) and its value, white
/// space around the `=` allowed. `None` when there is no `=` after the name.
fn split_directive(text: &str) -> Option<(&str, &str)> {
    let end = text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).unwrap_or(text.len());
    let (name, rest) = text.split_at(end);
    let rest = rest.trim_start().strip_prefix('=')?;
    (!name.is_empty()).then(|| (name, rest.trim()))
}

/// The text between the quotes of `"..."`.
fn quoted(value: &str) -> Option<&str> {
    value.strip_prefix('"')?.strip_suffix('"')
}

/// A value in quotes or without them.
fn maybe_quoted(value: &str) -> &str {
    quoted(value).unwrap_or(value)
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

impl Parser<'_> {
    fn at(&self, line: u32) -> Origin {
        origin(&self.file, line)
    }

    fn err(&self, line: u32, message: impl Into<String>) -> ConfigError {
        ConfigError::new(self.at(line), message)
    }

    fn warn(&mut self, line: u32, message: impl Into<String>) {
        let origin = self.at(line);
        self.warnings.push(ConfigWarning { origin, message: message.into() });
    }

    fn yes_no(&self, line: u32, name: &str, value: &str) -> Result<bool, ConfigError> {
        match value {
            "yes" => Ok(true),
            "no" => Ok(false),
            _ => Err(self.err(line, format!("{name} must be 'yes' or 'no'"))),
        }
    }

    /// A number of 1 or more (ldirectord's "invalid ..." when not).
    fn positive(&self, line: u32, what: &str, value: &str) -> Result<u32, ConfigError> {
        match value.parse::<u32>() {
            Ok(n) if n > 0 && all_digits(value) => Ok(n),
            _ => Err(self.err(line, format!("invalid {what}: {value:?} (a whole number of 1 or more)"))),
        }
    }

    fn command(&self, line: u32, text: &str) -> Command {
        Command { line: text.to_owned(), origin: self.at(line) }
    }

    fn run(&mut self, text: &str) -> Result<(), ConfigError> {
        let lines = split_lines(text);
        let mut i = 0;
        while i < lines.len() {
            let l = &lines[i];
            i += 1;
            if l.blank || l.comment {
                continue;
            }
            if l.indent > 0 {
                return Err(self.err(
                    l.no,
                    format!(
                        "Unknown command \"{}\": an indented line outside a virtual section (a blank line ends a \
                         virtual section, as in ldirectord)",
                        l.text
                    ),
                ));
            }
            let Some((name, value)) = split_directive(l.text) else {
                if l.text == "supervised" {
                    self.g.supervised = true;
                    self.warn(l.no, "please update your config not to use a bare supervised directive");
                    continue;
                }
                return Err(self.err(l.no, format!("Unknown command \"{}\"", l.text)));
            };
            match name {
                "virtual" | "virtual6" => {
                    let family = if name == "virtual6" { AddressFamily::Inet6 } else { AddressFamily::Inet };
                    let mut v = self.virtual_line(l.no, family, value)?;
                    // The section: indented lines; comments are skipped, a blank line ends it.
                    while i < lines.len() {
                        let l = &lines[i];
                        if l.comment {
                            i += 1;
                            continue;
                        }
                        if l.blank || l.indent < 4 {
                            break;
                        }
                        i += 1;
                        self.virtual_directive(&mut v, l.no, l.text)?;
                    }
                    self.end_virtual(&mut v)?;
                    if let Some(key) = v.key {
                        if let Some(first) = self.virtuals.iter().find(|o| o.key == Some(key)) {
                            return Err(self.err(
                                v.line,
                                format!("duplicate virtual server {key} (first at line {})", first.line),
                            ));
                        }
                    }
                    self.virtuals.push(v);
                }
                _ => self.global_directive(l.no, name, value)?,
            }
        }
        Ok(())
    }

    fn global_directive(&mut self, line: u32, name: &str, value: &str) -> Result<(), ConfigError> {
        match name {
            "checktimeout" => {
                self.g.checktimeout = Some(self.positive(line, "check timeout value", value)?)
            }
            "negotiatetimeout" => {
                self.g.negotiatetimeout = Some(self.positive(line, "negotiate timeout value", value)?)
            }
            "connecttimeout" => {
                return Err(
                    self.err(line, "connecttimeout directive deprecated in favour of negotiatetimeout")
                )
            }
            "timeout" => {
                return Err(self.err(
                    line,
                    "timeout directive deprecated in favour of checktimeout and negotiatetimeout",
                ))
            }
            "checkinterval" => {
                self.g.checkinterval = Some(self.positive(line, "check interval value", value)?)
            }
            "checkcount" => {
                self.g.checkcount = Some(self.positive(line, "check count value", value)?);
                self.warn(
                    line,
                    "checkcount option is deprecated and slated for removal.  please see 'failurecount'",
                );
            }
            "failurecount" => {
                self.g.failurecount = Some(self.positive(line, "failure count value", value)?)
            }
            "fallback" | "fallback6" => {
                let family = if name == "fallback6" { AddressFamily::Inet6 } else { AddressFamily::Inet };
                let raw = self.fallback_value(line, value)?;
                let addr = self.resolve_host(line, &raw.host, family, "fallback server")?;
                let port = |p: Protocol| -> Result<Option<u16>, ConfigError> {
                    match &raw.port {
                        None => Ok(None),
                        Some(s) => self
                            .resolve_port(s, Some(p))
                            .map(Some)
                            .ok_or_else(|| self.err(line, "invalid port for fallback server")),
                    }
                };
                let fb = GlobalFallback {
                    addr,
                    tcp_port: port(Protocol::Tcp)?,
                    udp_port: port(Protocol::Udp)?,
                    forward: raw.forward,
                    line,
                };
                if family == AddressFamily::Inet6 {
                    self.g.fallback6 = Some(fb);
                } else {
                    self.g.fallback = Some(fb);
                }
            }
            "fallbackcommand" => {
                if value.is_empty() {
                    return Err(self.err(line, "invalid fallback command"));
                }
                // Globally ldirectord keeps the quotes: the shell removes them.
                self.g.fallbackcommand = Some(self.command(line, value));
            }
            "autoreload" => self.g.autoreload = self.yes_no(line, "autoreload", value)?,
            "callback" => {
                let Some(cmd) = quoted(value) else {
                    return Err(
                        self.err(line, format!("Unknown command callback={value}: the path must be quoted"))
                    );
                };
                self.g.callback = Some(self.command(line, cmd));
            }
            "logfile" => {
                let Some(target) = quoted(value) else {
                    return Err(
                        self.err(line, format!("Unknown command logfile={value}: the value must be quoted"))
                    );
                };
                if target.is_empty() {
                    return Err(self.err(line, "unable to open logfile: no file or facility given"));
                }
                self.g.logfile = Some(if target.starts_with('/') {
                    LogTarget::File(PathBuf::from(target))
                } else {
                    LogTarget::Syslog(target.to_owned())
                });
            }
            "execute" => self.warn(
                line,
                format!("execute = {value} has no effect: start another director for that configuration"),
            ),
            "fork" => self.g.fork = self.yes_no(line, "fork", value)?,
            "supervised" => self.g.supervised = self.yes_no(line, "supervised", value)?,
            "quiescent" => self.g.quiescent = Some(self.yes_no(line, "quiescent", value)?),
            "readdquiescent" => self.g.readdquiescent = self.yes_no(line, "readdquiescent", value)?,
            "emailalert" | "emailalertfreq" | "emailalertstatus" | "emailalertfrom" | "smtp" => {
                self.email(line, name, value)?
            }
            "cleanstop" => self.g.cleanstop = Some(self.yes_no(line, "cleanstop", value)?),
            "maintenancedir" => {
                if value.is_empty() {
                    return Err(self.err(line, "maintenance directory not specified"));
                }
                self.g.maintenancedir = Some(PathBuf::from(value));
            }
            _ => return Err(self.err(line, format!("Unknown command {name}={value}"))),
        }
        Ok(())
    }

    /// The e-mail directives: checked as ldirectord checks them, then reported as having no
    /// effect (the director sends no e-mail).
    fn email(&mut self, line: u32, name: &str, value: &str) -> Result<(), ConfigError> {
        match name {
            "emailalert" if maybe_quoted(value).is_empty() => {
                return Err(self.err(line, "no email address specified"))
            }
            "emailalertfreq" if !all_digits(value) => {
                return Err(self.err(line, "invalid email alert frequency"))
            }
            "emailalertstatus" => {
                let words: Vec<&str> = value.split(',').map(str::trim).collect();
                let none = words.contains(&"none");
                for w in &words {
                    match *w {
                        "none" => {}
                        "all" | "starting" | "running" | "stopping" | "reloading" if !none => {}
                        "all" | "starting" | "running" | "stopping" | "reloading" => {
                            return Err(self.err(
                                line,
                                format!("invalid email alert status: \"{w}\" specified with \"none\""),
                            ))
                        }
                        _ => return Err(self.err(line, format!("invalid email alert status at: \"{w}\""))),
                    }
                }
            }
            "emailalertfrom" if value.is_empty() => {
                return Err(self.err(line, "no email from address specified"))
            }
            "smtp"
                if value.is_empty()
                    || !value.bytes().all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b)) =>
            {
                return Err(self.err(line, "invalid SMTP server address"))
            }
            _ => {}
        }
        self.warn(line, format!("{name} has no effect: the director sends no e-mail alerts"));
        Ok(())
    }

    /// `virtual = ip:port | host:service | [v6]:port | fwmark`.
    fn virtual_line(&self, line: u32, family: AddressFamily, value: &str) -> Result<RawVirtual, ConfigError> {
        let mut words = value.split_whitespace();
        let spec = words.next().unwrap_or("");
        if words.next().is_some() {
            return Err(self.err(line, format!("invalid address for virtual server: {value:?}")));
        }
        let port_ok =
            |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let host_ok =
            |h: &str| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b));
        let invalid = || {
            self.err(
                line,
                format!(
                    "invalid address for virtual server: {spec:?} (ip:port, host:service, [ipv6]:port for virtual6, \
                     or a firewall mark)"
                ),
            )
        };
        if let Some(rest) = spec.strip_prefix('[') {
            if family == AddressFamily::Inet {
                return Err(
                    self.err(line, "cannot specify an IPv6 address here. please use \"virtual6\" instead.")
                );
            }
            let (addr, port) = rest.split_once("]:").ok_or_else(invalid)?;
            if addr.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(self.err(line, "invalid ipv6 address for virtual server"));
            }
            if !port_ok(port) {
                return Err(invalid());
            }
            let spec = VirtualSpec::Addr { host: addr.to_owned(), port: port.to_owned() };
            return Ok(RawVirtual::new(line, family, spec));
        }
        if let Some((host, port)) = spec.split_once(':') {
            if !host_ok(host) || !port_ok(port) {
                return Err(invalid());
            }
            let spec = VirtualSpec::Addr { host: host.to_owned(), port: port.to_owned() };
            return Ok(RawVirtual::new(line, family, spec));
        }
        if all_digits(spec) {
            let mark = spec.parse::<u32>().map_err(|_| {
                self.err(line, format!("firewall mark {spec} is out of range 1..={}", u32::MAX))
            })?;
            return Ok(RawVirtual::new(line, family, VirtualSpec::Fwmark(mark)));
        }
        Err(invalid())
    }

    fn virtual_directive(&mut self, v: &mut RawVirtual, line: u32, text: &str) -> Result<(), ConfigError> {
        let Some((name, value)) = split_directive(text) else {
            return Err(self.err(line, format!("Unknown command \"{text}\"")));
        };
        let needs_quotes = |p: &Self, what: &str| {
            p.err(line, format!("Unknown command \"{text}\": the {what} must be quoted (\"...\")"))
        };
        match name {
            "real" | "real6" => {
                let six = name == "real6";
                if six != (v.family == AddressFamily::Inet6) {
                    let want = if six { "real" } else { "real6" };
                    return Err(self.err(
                        line,
                        format!("cannot specify \"{name}\" here.  please use \"{want}\" instead"),
                    ));
                }
                v.reals_todo.push((value.to_owned(), line));
            }
            "request" => {
                let s = quoted(value).ok_or_else(|| needs_quotes(self, "request string"))?;
                if s.is_empty() {
                    return Err(self.err(line, "no request string specified"));
                }
                v.request = Some(if s.starts_with('/') { s.to_owned() } else { format!("/{s}") });
            }
            "receive" => {
                let s = quoted(value).ok_or_else(|| needs_quotes(self, "receive string"))?;
                if s.is_empty() {
                    return Err(self.err(line, "invalid receive string"));
                }
                v.receive = Some(s.to_owned());
            }
            "checktype" => v.checktype = (self.checktype(line, value)?, line),
            "checkcommand" => {
                let s = maybe_quoted(value);
                if s.is_empty() {
                    return Err(self.err(line, "invalid check command"));
                }
                v.checkcommand = Some((s.to_owned(), line));
            }
            "checktimeout" => v.checktimeout = Some(self.positive(line, "check timeout", value)?),
            "connecttimeout" => {
                return Err(
                    self.err(line, "connecttimeout directive deprecated in favour of negotiatetimeout")
                )
            }
            "negotiatetimeout" => {
                v.negotiatetimeout = Some(self.positive(line, "negotiate timeout", value)?)
            }
            "checkcount" => {
                v.checkcount = Some(self.positive(line, "check count", value)?);
                self.warn(
                    line,
                    "checkcount option is deprecated and slated for removal.  please see 'failurecount'",
                );
            }
            "failurecount" => v.failurecount = Some(self.positive(line, "failure count", value)?),
            "checkinterval" => v.checkinterval = Some((self.positive(line, "checkinterval", value)?, line)),
            "checkport" => {
                let port = value.parse::<u16>().ok().filter(|p| *p > 0 && all_digits(value));
                v.checkport =
                    Some(port.ok_or_else(|| self.err(line, "checkport must be in range 1..65535"))?);
            }
            "login" | "passwd" | "database" | "secret" => {
                let s = quoted(value).ok_or_else(|| needs_quotes(self, name))?;
                if s.is_empty() {
                    let what = match name {
                        "login" => "login string",
                        "passwd" => "password",
                        n => n,
                    };
                    return Err(self.err(line, format!("invalid {what}")));
                }
                let slot = match name {
                    "login" => &mut v.login,
                    "passwd" => &mut v.passwd,
                    "database" => &mut v.database,
                    _ => &mut v.secret,
                };
                *slot = Some(s.to_owned());
            }
            "load" => {
                let s = quoted(value).ok_or_else(|| needs_quotes(self, "load string"))?;
                if !s.bytes().any(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    return Err(self.err(line, "invalid string for load testing"));
                }
                self.warn(line, "load has no effect (ldirectord does not use it either)");
            }
            "scheduler" => {
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_lowercase()) {
                    return Err(self.err(line, "invalid scheduler, should be only lowercase letters (a-z)"));
                }
                v.scheduler = Some((value.to_owned(), line));
            }
            "persistent" => {
                let t = value.parse::<u32>().ok().filter(|_| all_digits(value));
                v.persistent = Some((t.ok_or_else(|| self.err(line, "invalid persistent timeout"))?, line));
            }
            "schedflags" => {
                if value.is_empty() || value.contains(char::is_whitespace) {
                    return Err(self.err(line, "invalid sched-flags"));
                }
                v.schedflags = Some((value.to_owned(), line));
            }
            "netmask" => {
                let ok = match v.family {
                    AddressFamily::Inet6 => {
                        if !all_digits(value) || !matches!(value.parse::<u8>(), Ok(1..=128)) {
                            return Err(self.err(
                                line,
                                "invalid netmask: a prefix length between 1 and 128 is required",
                            ));
                        }
                        true
                    }
                    AddressFamily::Inet => value.parse::<Ipv4Addr>().is_ok(),
                };
                if !ok {
                    return Err(self.err(line, "invalid netmask: dotted quad notation is required"));
                }
                v.netmask = Some((value.to_owned(), line));
            }
            "protocol" => match (v.is_fwmark(), value) {
                (true, "fwm") => {}
                (true, _) => {
                    return Err(
                        self.err(line, "protocol must be fwm if the virtual service is a fwmark (a number)")
                    )
                }
                (false, "tcp") => v.protocol = Some(Protocol::Tcp),
                (false, "udp") => v.protocol = Some(Protocol::Udp),
                (false, _) => {
                    return Err(self.err(
                        line,
                        "protocol must be tcp or udp if the virtual service is an address and port",
                    ))
                }
            },
            "ops" => v.ops = Some((self.yes_no(line, "ops", value)?, line)),
            "service" => {
                let svc = Svc::from_name(value).ok_or_else(|| {
                    self.err(
                        line,
                        "service must be dns, ftp, http, https, http_proxy, imap, imaps, ldap, ldaps, mysql, nntp, \
                         none, oracle, pop, pops, radius, pgsql, simpletcp, sip, smtp or submission",
                    )
                })?;
                v.service = Some((svc, line));
            }
            "httpmethod" => {
                v.httpmethod = match value.to_ascii_uppercase().as_str() {
                    "GET" => HttpMethod::Get,
                    "HEAD" => HttpMethod::Head,
                    _ => return Err(self.err(line, "httpmethod must be GET or HEAD")),
                }
            }
            "virtualhost" => {
                let s = maybe_quoted(value);
                if s.is_empty() {
                    return Err(self.err(line, "invalid virtualhost"));
                }
                v.virtualhost = Some(s.to_owned());
            }
            "fallback" | "fallback6" => {
                let six = name == "fallback6";
                if six != (v.family == AddressFamily::Inet6) {
                    let want = if six { "fallback" } else { "fallback6" };
                    return Err(self.err(
                        line,
                        format!("cannot specify \"{name}\" here.  please use \"{want}\" instead"),
                    ));
                }
                v.fallback = Some(self.fallback_value(line, value)?);
            }
            "fallbackcommand" => {
                let s = maybe_quoted(value);
                if s.is_empty() {
                    return Err(self.err(line, "invalid fallback command"));
                }
                v.fallbackcommand = Some(self.command(line, s));
            }
            "quiescent" => v.quiescent = Some(self.yes_no(line, "quiescent", value)?),
            "emailalert" | "emailalertfreq" | "emailalertstatus" | "smtp" => self.email(line, name, value)?,
            "monitorfile" => {
                if maybe_quoted(value).is_empty() {
                    return Err(self.err(line, "unable to open monitorfile: no file given"));
                }
                self.warn(line, "monitorfile has no effect: the director logs check results to its own log");
            }
            "cleanstop" => v.cleanstop = Some(self.yes_no(line, "cleanstop", value)?),
            // Only used in e-mail alerts, which the director does not send.
            "servicename" | "comment" => {}
            _ => return Err(self.err(line, format!("Unknown command \"{text}\""))),
        }
        Ok(())
    }

    fn checktype(&self, line: u32, value: &str) -> Result<CheckType, ConfigError> {
        Ok(match value {
            "negotiate" => CheckType::Negotiate,
            "connect" => CheckType::Connect,
            "ping" => CheckType::Ping,
            "off" => CheckType::Off,
            "on" => CheckType::On,
            "external" => CheckType::External,
            "external-perl" => CheckType::ExternalPerl,
            n if all_digits(n) => CheckType::Combined(
                n.parse::<u32>().map_err(|_| self.err(line, format!("checktype {n} is too large")))?,
            ),
            _ => {
                return Err(self.err(
                    line,
                    "checktype must be \"connect\", \"negotiate\", \"on\", \"off\", \"ping\", \"external\", \
                     \"external-perl\" or a positive number",
                ))
            }
        })
    }

    /// `ip|host[:port] [gate|masq|ipip]` (the method defaults to gate).
    fn fallback_value(&self, line: u32, value: &str) -> Result<RawFallback, ConfigError> {
        let mut words = value.split_whitespace();
        let hostport =
            words.next().ok_or_else(|| self.err(line, format!("invalid fallback server: {value}")))?;
        let forward = match words.next() {
            None => ForwardMethod::DirectRoute,
            Some(m) => forward_method(m)
                .ok_or_else(|| self.err(line, "forward method must be gate, masq or ipip"))?,
        };
        if words.next().is_some() {
            return Err(self.err(line, format!("invalid fallback server: {value}")));
        }
        let (host, port) = split_host_port(hostport)
            .ok_or_else(|| self.err(line, format!("invalid fallback server: {value}")))?;
        Ok(RawFallback { host: host.to_owned(), port: port.map(str::to_owned), forward, line })
    }

    /// An address, numeric or a host name looked up in `family`.
    fn resolve_host(
        &self,
        line: u32,
        host: &str,
        family: AddressFamily,
        what: &str,
    ) -> Result<IpAddr, ConfigError> {
        let version = match family {
            AddressFamily::Inet => "IPv4",
            AddressFamily::Inet6 => "IPv6",
        };
        // ldirectord takes an address in brackets without them.
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        let found = match host.parse::<IpAddr>() {
            Ok(a) => Some(a).filter(|a| AddressFamily::of(a) == family),
            Err(_) if host.parse::<Ipv4Addr>().is_err() && !host.contains(':') => {
                self.resolver.host(host, family)
            }
            Err(_) => None,
        };
        found.ok_or_else(|| {
            self.err(line, format!("invalid {version} address or could not resolve for {what}: {host}"))
        })
    }

    /// A port, numeric (0 to 65535) or a service name.
    fn resolve_port(&self, port: &str, protocol: Option<Protocol>) -> Option<u16> {
        if all_digits(port) {
            return port.parse::<u16>().ok();
        }
        self.resolver.service(port, protocol)
    }

    /// At the end of a virtual section: the protocol is known, so names resolve (as in
    /// ldirectord, which delays them to then).
    fn end_virtual(&mut self, v: &mut RawVirtual) -> Result<(), ConfigError> {
        let key = match &v.spec {
            VirtualSpec::Fwmark(mark) => ServiceKey::fwmark(*mark, v.family),
            VirtualSpec::Addr { host, port } => {
                let protocol = v.protocol.unwrap_or(if port == "53" || port == "domain" {
                    Protocol::Udp
                } else {
                    Protocol::Tcp
                });
                let addr = self.resolve_host(v.line, host, v.family, "virtual service")?;
                let port = self
                    .resolve_port(port, Some(protocol))
                    .ok_or_else(|| self.err(v.line, format!("invalid port for virtual service: {port}")))?;
                ServiceKey::Addr { protocol, addr, port }
            }
        };
        v.key = Some(key);
        if v.service.is_none() {
            let svc = if v.is_fwmark() { Svc::None } else { Svc::from_port(key.port()) };
            v.service = Some((svc, v.line));
        }
        if let Some(fb) = v.fallback.clone() {
            let protocol = match key {
                ServiceKey::Addr { protocol, .. } => Some(protocol),
                ServiceKey::Fwmark { .. } => None,
            };
            let addr = self.resolve_host(fb.line, &fb.host, v.family, "fallback server")?;
            let port = match &fb.port {
                Some(p) => self
                    .resolve_port(p, protocol)
                    .ok_or_else(|| self.err(fb.line, "invalid port for fallback server"))?,
                None => key.port(),
            };
            v.fallback_dest = Some(self.dest_for(&key, addr, port, fb.forward, 1, 0, 0, fb.line)?);
        }
        for (text, line) in std::mem::take(&mut v.reals_todo) {
            self.real_line(v, &key, &text, line)?;
        }
        Ok(())
    }

    /// A destination of `key`, its port forced to the service's unless masq (as ipvsadm does
    /// for ldirectord), checked against the kernel's and ipvsadm's limits.
    #[allow(clippy::too_many_arguments)]
    fn dest_for(
        &self,
        key: &ServiceKey,
        addr: IpAddr,
        port: u16,
        forward: ForwardMethod,
        weight: u32,
        upper: u32,
        lower: u32,
        line: u32,
    ) -> Result<Destination, ConfigError> {
        let port = match key {
            ServiceKey::Addr { port: vport, .. } if forward != ForwardMethod::Masquerade => *vport,
            _ => port,
        };
        if weight > Destination::IPVSADM_MAX_WEIGHT {
            return Err(self.err(
                line,
                format!(
                    "weight {weight} is out of range 0..={} (ipvsadm's limit)",
                    Destination::IPVSADM_MAX_WEIGHT
                ),
            ));
        }
        let d = Destination::new(SocketAddr::new(addr, port))
            .with_forward(forward)
            .with_weight(weight)
            .with_thresholds(upper, lower);
        d.validate_for(key).map_err(|e| self.err(line, format!("real server {}: {e}", d.key())))?;
        Ok(d)
    }

    /// `real = host[->host][:port] gate|masq|ipip [weight] ["request", "receive"] [l:N] [u:N]`.
    fn real_line(
        &mut self,
        v: &mut RawVirtual,
        key: &ServiceKey,
        text: &str,
        line: u32,
    ) -> Result<(), ConfigError> {
        let wrong = || self.err(line, format!("invalid address for real server (wrong format): {text:?}"));
        let (spec, rest) = match text.find(char::is_whitespace) {
            Some(at) => (&text[..at], text[at..].trim_start()),
            None => return Err(self.err(line, "forward method must be gate, masq or ipip")),
        };
        // host[->host][:port]
        let (hosts, port) = split_host_port_range(spec).ok_or_else(wrong)?;
        let (first, last) = match hosts.split_once("->") {
            Some((a, b)) => (a, Some(b)),
            None => (hosts, None),
        };
        let host_ok = |h: &str| {
            !h.is_empty()
                && (h.starts_with('[') && h.ends_with(']')
                    || h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'))
        };
        if !host_ok(first) || last.is_some_and(|l| !host_ok(l)) {
            return Err(wrong());
        }
        let unbracket =
            |h: &str| h.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(h).to_owned();
        let a = self.resolve_host(line, &unbracket(first), v.family, "real server").map_err(|_| {
            self.err(line, format!("invalid address ({first}) for real server (could not resolve host)"))
        })?;
        let config_port = match port {
            None => 0,
            Some(p) => self.resolve_port(p, None).ok_or_else(|| {
                self.err(line, format!("invalid port ({p}) for real server (could not resolve port)"))
            })?,
        };
        let flags = parse_real_flags(rest).map_err(|around| {
            if around.is_empty() {
                self.err(line, "forward method must be gate, masq or ipip")
            } else {
                self.err(line, format!("Invalid real server line, around \"{around}\""))
            }
        })?;
        let addrs = match last {
            None => vec![a],
            Some(l) => {
                let b = self.resolve_host(line, &unbracket(l), v.family, "real server").map_err(|_| {
                    self.err(
                        line,
                        format!("invalid address ({l}) for real server (could not resolve end host)"),
                    )
                })?;
                let (IpAddr::V4(a4), IpAddr::V4(b4)) = (a, b) else {
                    return Err(self.err(line, "Address range for IPv6 is not supported yet"));
                };
                let (lo, hi) = (u32::from(a4), u32::from(b4));
                if lo > hi {
                    return Err(self.err(
                        line,
                        format!(
                            "Invalid Range: {a4}-{b4}: the first address must not be greater than the last"
                        ),
                    ));
                }
                if hi - lo >= MAX_RANGE {
                    return Err(
                        self.err(line, format!("range {a4}-{b4} is larger than {MAX_RANGE} addresses"))
                    );
                }
                (lo..=hi).map(|n| IpAddr::V4(Ipv4Addr::from(n))).collect()
            }
        };
        for addr in addrs {
            let dest = self.dest_for(
                key,
                addr,
                config_port,
                flags.forward,
                flags.weight,
                flags.upper,
                flags.lower,
                line,
            )?;
            v.reals.push(RawReal { dest, config_port, negotiate: flags.negotiate.clone(), line });
        }
        Ok(())
    }

    fn finish(mut self) -> Result<DirectorConfig, ConfigError> {
        let mut cfg = DirectorConfig::new(Dialect::Ldirectord);
        let virtuals = std::mem::take(&mut self.virtuals);
        for v in &virtuals {
            let vs = self.build(v)?;
            cfg.virtuals.push(vs);
        }
        let g = &self.g;
        let o = &mut cfg.options;
        o.on_stop = if g.cleanstop == Some(false) { OnStop::Keep } else { OnStop::Remove };
        o.readd_quiescent = g.readdquiescent;
        o.maintenance_dir = g.maintenancedir.clone();
        o.supervised = g.supervised;
        // Supervised, ldirectord logs to standard output rather than to its log file.
        o.log = if g.supervised {
            LogTarget::Stderr
        } else {
            g.logfile.clone().unwrap_or_else(|| LogTarget::File(PathBuf::from(DEFAULT_LOGFILE)))
        };
        o.autoreload = g.autoreload;
        o.callback = g.callback.clone();
        cfg.warnings = self.warnings;
        Ok(cfg)
    }

    /// The virtual service of a section, with the global values as defaults (ldirectord's
    /// `ld_setup`, which runs after the whole file is read).
    fn build(&mut self, v: &RawVirtual) -> Result<VirtualService, ConfigError> {
        let Some(key) = v.key else {
            return Err(self.err(v.line, "invalid address for virtual service"));
        };
        let service = self.service(v, key)?;
        let g = &self.g;
        let checktimeout =
            v.checktimeout.or(v.negotiatetimeout).or(g.checktimeout).or(g.negotiatetimeout).unwrap_or(5);
        let negotiatetimeout =
            v.negotiatetimeout.or(v.checktimeout).or(g.negotiatetimeout).or(g.checktimeout).unwrap_or(30);
        let checkcount = v.checkcount.or(g.checkcount).unwrap_or(1);
        let failurecount = v.failurecount.or(g.failurecount).unwrap_or(1);
        let global_interval = g.checkinterval.unwrap_or(10);
        let interval = match v.checkinterval {
            Some((n, _)) if g.fork => n,
            Some((_, line)) => {
                self.warn(line, format!("checkinterval in virtual service {key} ignored when fork=no"));
                global_interval
            }
            None => global_interval,
        };
        let (svc, svc_line) = v.service.unwrap_or((Svc::None, v.line));
        let (checktype, ct_line) = v.checktype;
        let negotiates = matches!(checktype, CheckType::Negotiate | CheckType::Combined(_));
        if negotiates {
            self.check_service(v, key, svc, svc_line)?;
        }
        if checktype == CheckType::ExternalPerl {
            self.warn(
                ct_line,
                "checktype = external-perl: the check command is run as an external program (no embedded Perl), \
                 as checktype = external",
            );
        }
        if checktype == CheckType::Ping && checkcount > 1 {
            self.warn(
                ct_line,
                format!("checkcount = {checkcount}: one ping probe waits {checkcount} times checktimeout"),
            );
        }
        if let (Some((true, line)), false) =
            (v.ops, matches!(key, ServiceKey::Addr { protocol: Protocol::Udp, .. }))
        {
            self.warn(line, "ops = yes has no effect: one-packet scheduling is for UDP services (ldirectord leaves it out)");
        }
        if v.netmask.is_some() && v.persistent.is_none() {
            let line = v.netmask.as_ref().map_or(v.line, |n| n.1);
            self.warn(line, "netmask has no effect without persistent");
        }
        let mut vs = VirtualService::new(service, self.at(v.line));
        vs.quorum = Quorum::AnyUp;
        vs.start = StartState::FromTable;
        vs.on_failure = match v.quiescent.or(self.g.quiescent) {
            Some(true) => OnFailure::Quiesce,
            _ => OnFailure::Remove,
        };
        vs.on_stop = v.cleanstop.map(|c| if c { OnStop::Remove } else { OnStop::Keep });
        vs.hooks.fallback_command = v.fallbackcommand.clone().or_else(|| self.g.fallbackcommand.clone());
        vs.sorry = match &v.fallback_dest {
            Some(d) => Some(d.clone()),
            None => self.global_fallback(v, key)?,
        };
        for r in &v.reals {
            let check = self.check(
                v,
                key,
                r,
                svc,
                interval,
                checktimeout,
                negotiatetimeout,
                checkcount,
                failurecount,
            )?;
            let mut real = RealServer::new(r.dest.clone(), self.at(r.line));
            real.checks.push(check);
            vs.reals.push(real);
        }
        Ok(vs)
    }

    fn service(&self, v: &RawVirtual, key: ServiceKey) -> Result<Service, ConfigError> {
        let (sched_name, sched_line) = v.scheduler.clone().unwrap_or_else(|| ("wrr".to_owned(), v.line));
        let scheduler = Scheduler::from(sched_name.as_str());
        let mut service = Service::new(key).with_scheduler(scheduler.clone());
        if let Some((timeout, _)) = v.persistent {
            let netmask = match &v.netmask {
                Some((m, line)) => {
                    Some(m.parse::<Netmask>().map_err(|e| self.err(*line, format!("netmask: {e}")))?)
                }
                None => None,
            };
            service = service.with_persistence(timeout, netmask);
        }
        if let Some((true, _)) = v.ops {
            if let ServiceKey::Addr { protocol: Protocol::Udp, .. } = key {
                service = service.with_flags(ServiceFlags::ONEPACKET);
            }
        }
        if let Some((flags, line)) = &v.schedflags {
            service =
                service.with_flags(sched_flags(sched_name.as_str(), flags).map_err(|m| self.err(*line, m))?);
        }
        service.validate().map_err(|e| {
            let line = match field_of(&e) {
                Field::Scheduler => sched_line,
                Field::PersistenceTimeout => v.persistent.map_or(v.line, |p| p.1),
                Field::Netmask => v.netmask.as_ref().map_or(v.line, |n| n.1),
                Field::Flags => v.schedflags.as_ref().map(|s| s.1).or(v.ops.map(|o| o.1)).unwrap_or(v.line),
                _ => v.line,
            };
            self.err(line, format!("virtual service {key}: {e}"))
        })?;
        Ok(service)
    }

    /// The global `fallback` (or `fallback6`) for a virtual without its own.
    fn global_fallback(
        &mut self,
        v: &RawVirtual,
        key: ServiceKey,
    ) -> Result<Option<Destination>, ConfigError> {
        let fb = match v.family {
            AddressFamily::Inet => self.g.fallback.clone(),
            AddressFamily::Inet6 => self.g.fallback6.clone(),
        };
        let Some(fb) = fb else { return Ok(None) };
        let port = match key {
            ServiceKey::Addr { protocol: Protocol::Udp, port, .. } => fb.udp_port.unwrap_or(port),
            ServiceKey::Addr { port, .. } => fb.tcp_port.unwrap_or(port),
            ServiceKey::Fwmark { .. } => {
                // ldirectord keeps its global fallback per protocol, tcp and udp only: for a
                // firewall-mark service it finds none and adds a server without address.
                self.warn(
                    v.line,
                    format!(
                        "the global fallback (line {}) does not apply to firewall-mark virtual service {key} \
                         (ldirectord cannot add it): give a fallback in the virtual section",
                        fb.line
                    ),
                );
                return Ok(None);
            }
        };
        self.dest_for(&key, fb.addr, port, fb.forward, 1, 0, 0, v.line).map(Some)
    }

    /// Refuses negotiate checks that can never pass, and reports the services whose probe the
    /// director does not have.
    fn check_service(
        &mut self,
        v: &RawVirtual,
        key: ServiceKey,
        svc: Svc,
        line: u32,
    ) -> Result<(), ConfigError> {
        let udp = matches!(key, ServiceKey::Addr { protocol: Protocol::Udp, .. });
        match svc {
            Svc::Dns => {
                // Each real server's own "request", "receive", else the virtual's.
                let never = v.reals.iter().any(|r| {
                    let (request, receive) = match &r.negotiate {
                        Some((req, recv)) => (req.as_str(), recv.as_str()),
                        None => (v.request.as_deref().unwrap_or("/"), v.receive.as_deref().unwrap_or("")),
                    };
                    request.len() <= 1 || receive.is_empty()
                });
                if never {
                    return Err(self.err(
                        line,
                        "service = dns needs request (the name to look up) and receive (what an answer must match): \
                         ldirectord's DNS check never passes without them",
                    ));
                }
            }
            Svc::HttpProxy => {
                let request = v.request.as_deref().unwrap_or("/");
                if !request.starts_with("/http://") {
                    return Err(self.err(
                        line,
                        "service = http_proxy needs an absolute request (\"http://host/path\"), fetched through the \
                         real server",
                    ));
                }
            }
            Svc::Pop | Svc::Imap if v.login.is_none() => {}
            Svc::Ftp
            | Svc::Pop
            | Svc::Pops
            | Svc::Imap
            | Svc::Imaps
            | Svc::Ldap
            | Svc::Ldaps
            | Svc::Mysql
            | Svc::Pgsql
            | Svc::Oracle
            | Svc::Radius
            | Svc::Sip => {
                let instead = if udp { "a ping (checktype = connect on UDP)" } else { "a TCP connect" };
                self.warn(
                    line,
                    format!(
                        "service = {} is not implemented: {instead} is made instead (login, passwd, database, secret, \
                         request and receive have no effect)",
                        svc.name()
                    ),
                );
            }
            _ => {}
        }
        Ok(())
    }

    /// The one check ldirectord runs for a real server.
    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        v: &RawVirtual,
        key: ServiceKey,
        r: &RawReal,
        svc: Svc,
        interval: u32,
        checktimeout: u32,
        negotiatetimeout: u32,
        checkcount: u32,
        failurecount: u32,
    ) -> Result<Check, ConfigError> {
        let udp = matches!(key, ServiceKey::Addr { protocol: Protocol::Udp, .. });
        // ldirectord's ld_checkport: checkport, else the port written, else the service's.
        let port = v.checkport.or((r.config_port > 0).then_some(r.config_port)).or(svc.port()).unwrap_or(0);
        let mut target = SocketAddr::new(r.dest.addr, port);
        let secs = |s: u32| Duration::from_secs(u64::from(s));
        let (checktype, _) = v.checktype;
        let (probe, timeout) = match checktype {
            CheckType::Connect if udp => (Probe::Ping, checktimeout),
            CheckType::Connect => (Probe::Connect(Transport::Tcp), checktimeout),
            CheckType::Ping => (Probe::Ping, checktimeout.saturating_mul(checkcount)),
            CheckType::On => (Probe::Fixed(true), checktimeout),
            CheckType::Off => (Probe::Fixed(false), checktimeout),
            CheckType::External | CheckType::ExternalPerl => {
                let (cmd, line) = v.checkcommand.clone().unwrap_or_else(|| ("/bin/true".to_owned(), v.line));
                let command = Command { line: shell_word(&cmd), origin: self.at(line) };
                (Probe::Command { command, ldirectord_args: true, dynamic_weight: false }, checktimeout)
            }
            CheckType::Negotiate | CheckType::Combined(_) => {
                let (probe, negotiate_timeout, at) =
                    self.negotiate(v, key, r, svc, negotiatetimeout, checktimeout)?;
                if let Some(at) = at {
                    target = at;
                }
                match checktype {
                    // The connect turns wait checktimeout, the negotiate turn negotiatetimeout:
                    // one timeout for both, the longer (a connect that fails fails at once).
                    CheckType::Combined(n) => (
                        Probe::Alternate { connects: n, then: Box::new(probe) },
                        negotiate_timeout.max(checktimeout),
                    ),
                    _ => (probe, negotiate_timeout),
                }
            }
        };
        Ok(Check {
            probe,
            target,
            bind: None,
            fwmark: None,
            interval: secs(interval),
            timeout: secs(timeout),
            failures_to_down: failurecount,
            retry_delay: None,
            warmup: None,
            origin: self.at(r.line),
        })
    }

    /// The negotiate probe of `svc`, its timeout, and where it connects when not the target
    /// (a real server's absolute `http://` request).
    #[allow(clippy::type_complexity)]
    fn negotiate(
        &self,
        v: &RawVirtual,
        key: ServiceKey,
        r: &RawReal,
        svc: Svc,
        negotiatetimeout: u32,
        checktimeout: u32,
    ) -> Result<(Probe, u32, Option<SocketAddr>), ConfigError> {
        let udp = matches!(key, ServiceKey::Addr { protocol: Protocol::Udp, .. });
        let (request, receive) = match &r.negotiate {
            Some((req, recv)) => (req.clone(), recv.clone()),
            None => {
                (v.request.clone().unwrap_or_else(|| "/".to_owned()), v.receive.clone().unwrap_or_default())
            }
        };
        let regex = (!receive.is_empty()).then(|| receive.clone());
        let real_host = match r.dest.addr {
            IpAddr::V4(a) => a.to_string(),
            IpAddr::V6(a) => format!("[{a}]"),
        };
        let connect = if udp { Probe::Ping } else { Probe::Connect(Transport::Tcp) };
        Ok(match svc {
            Svc::Http | Svc::Https => {
                let tls = svc == Svc::Https;
                let scheme = if tls { "https://" } else { "http://" };
                let mut at = None;
                let mut path = request.clone();
                // A real server's own request may be a whole URL: it names where to connect.
                if let Some(url) =
                    r.negotiate.as_ref().and_then(|(req, _)| req.strip_prefix('/')?.strip_prefix(scheme))
                {
                    let (authority, rest) = match url.find('/') {
                        Some(i) => (&url[..i], &url[i..]),
                        None => (url, "/"),
                    };
                    let (host, port) = split_host_port(authority).ok_or_else(|| {
                        self.err(r.line, format!("invalid URL in the real server's request: {scheme}{url}"))
                    })?;
                    let family = AddressFamily::of(&r.dest.addr);
                    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
                    let addr = self.resolve_host(r.line, host, family, "the real server's request URL")?;
                    let default_port = if tls { 443 } else { 80 };
                    let port = match port {
                        Some(p) => self.resolve_port(p, Some(Protocol::Tcp)).ok_or_else(|| {
                            self.err(r.line, format!("invalid port in the request URL: {p}"))
                        })?,
                        None => default_port,
                    };
                    at = Some(SocketAddr::new(addr, port));
                    path = rest.to_owned();
                }
                let mut url = UrlCheck::new(path);
                url.regex = regex;
                let host = Some(v.virtualhost.clone().unwrap_or(real_host));
                (
                    Probe::Http { tls, sni: None, method: v.httpmethod, host, urls: vec![url] },
                    negotiatetimeout,
                    at,
                )
            }
            Svc::HttpProxy => {
                let absolute = request.strip_prefix('/').unwrap_or(&request).to_owned();
                let authority = absolute
                    .strip_prefix("http://")
                    .map(|u| u.split('/').next().unwrap_or(u).to_owned())
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| {
                        self.err(
                            r.line,
                            "service = http_proxy needs an absolute request (\"http://host/path\")",
                        )
                    })?;
                let mut url = UrlCheck::new(absolute);
                url.regex = regex;
                let probe = Probe::Http {
                    tls: false,
                    sni: None,
                    method: v.httpmethod,
                    host: Some(authority),
                    urls: vec![url],
                };
                (probe, negotiatetimeout, None)
            }
            Svc::Dns => {
                let name = request.strip_prefix('/').unwrap_or(&request);
                // Net::DNS asks for the PTR record of an address, for the A record of a name.
                let (name, qtype) = match name.parse::<IpAddr>() {
                    Ok(a) => (reverse_name(a), "PTR"),
                    Err(_) => (name.to_owned(), "A"),
                };
                if receive.is_empty() {
                    return Err(self.err(
                        r.line,
                        "service = dns needs receive: ldirectord's DNS check never passes without it",
                    ));
                }
                (Probe::Dns { name, qtype: qtype.to_owned(), expect: regex }, negotiatetimeout, None)
            }
            Svc::Smtp | Svc::Submission => (Probe::Smtp { helo: None }, negotiatetimeout, None),
            Svc::Nntp => (
                Probe::SimpleTcp { send: String::new(), expect: Some("^2".to_owned()) },
                negotiatetimeout,
                None,
            ),
            Svc::Simpletcp => {
                let send = request.strip_prefix('/').unwrap_or(&request).replace("\\n", "\n");
                (Probe::SimpleTcp { send, expect: regex }, negotiatetimeout, None)
            }
            // Without a login, ldirectord's POP and IMAP checks read the greeting only.
            Svc::Pop if v.login.is_none() => (
                Probe::SimpleTcp { send: String::new(), expect: Some("^\\+OK".to_owned()) },
                negotiatetimeout,
                None,
            ),
            Svc::Imap if v.login.is_none() => {
                let expect = Some("^\\* (OK|PREAUTH)".to_owned());
                (Probe::SimpleTcp { send: String::new(), expect }, negotiatetimeout, None)
            }
            Svc::None => (Probe::Fixed(true), negotiatetimeout, None),
            // Not implemented (reported by check_service): what checktype = connect would do.
            _ => (connect, checktimeout, None),
        })
    }
}

/// The error's field (every [`ValidationError`] names one).
fn field_of(e: &ValidationError) -> Field {
    match e {
        ValidationError::OutOfRange { field, .. }
        | ValidationError::TooLong { field, .. }
        | ValidationError::BadName { field, .. }
        | ValidationError::FamilyMismatch { field, .. }
        | ValidationError::Invalid { field, .. }
        | ValidationError::UnknownBits { field, .. } => *field,
        #[allow(unreachable_patterns)]
        _ => Field::Scheduler,
    }
}

fn forward_method(word: &str) -> Option<ForwardMethod> {
    match word {
        "gate" => Some(ForwardMethod::DirectRoute),
        "masq" => Some(ForwardMethod::Masquerade),
        "ipip" => Some(ForwardMethod::Tunnel),
        _ => None,
    }
}

/// `host[:port]` or `[v6][:port]`: the host (brackets kept) and the port, if any.
fn split_host_port(s: &str) -> Option<(&str, Option<&str>)> {
    let port_ok =
        |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let (host, port) = if s.starts_with('[') {
        let end = s.find(']')?;
        match &s[end + 1..] {
            "" => (&s[..=end], None),
            rest => (&s[..=end], Some(rest.strip_prefix(':')?)),
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() || port.is_some_and(|p| !port_ok(p)) {
        return None;
    }
    Some((host, port))
}

/// `host[->host][:port]`, hosts possibly in brackets.
fn split_host_port_range(s: &str) -> Option<(&str, Option<&str>)> {
    // The port follows the last host: after its `]` when bracketed, else after a `:`.
    let last_host_start = s.rfind("->").map_or(0, |i| i + 2);
    let tail = &s[last_host_start..];
    let colon = if tail.starts_with('[') {
        let end = tail.find(']')?;
        match &tail[end + 1..] {
            "" => None,
            rest if rest.starts_with(':') => Some(last_host_start + end + 1),
            _ => return None,
        }
    } else {
        tail.find(':').map(|i| last_host_start + i)
    };
    match colon {
        None => Some((s, None)),
        Some(i) => {
            let port = &s[i + 1..];
            let ok =
                !port.is_empty() && port.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            ok.then(|| (&s[..i], Some(port)))
        }
    }
}

/// The flags after a real server's address.
struct RealFlags {
    forward: ForwardMethod,
    weight: u32,
    negotiate: Option<(String, String)>,
    lower: u32,
    upper: u32,
}

/// `gate|masq|ipip [weight] ["request", "receive"] [l:N] [u:N]`; on error, the text around
/// which it failed (empty: the forwarding method).
fn parse_real_flags(s: &str) -> Result<RealFlags, String> {
    let (method, mut rest) = match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim_start()),
        None => (s, ""),
    };
    let forward = forward_method(method).ok_or_else(String::new)?;
    let mut flags = RealFlags { forward, weight: 1, negotiate: None, lower: 0, upper: 0 };
    let word_end = |r: &str| r.find(char::is_whitespace).unwrap_or(r.len());
    let w = &rest[..word_end(rest)];
    if all_digits(w) {
        flags.weight = w.parse::<u32>().map_err(|_| w.to_owned())?;
        rest = rest[w.len()..].trim_start();
    }
    if let Some(after) = rest.strip_prefix('"') {
        let bad = || rest.to_owned();
        let end = after.find('"').ok_or_else(bad)?;
        let request = &after[..end];
        let after = after[end + 1..].trim_start();
        let after = after.strip_prefix(',').unwrap_or(after).trim_start();
        let after = after.strip_prefix('"').ok_or_else(bad)?;
        let end = after.find('"').ok_or_else(bad)?;
        let receive = &after[..end];
        let request = if request.starts_with('/') { request.to_owned() } else { format!("/{request}") };
        flags.negotiate = Some((request, receive.to_owned()));
        rest = after[end + 1..].trim_start();
    }
    let (mut lower, mut upper) = (None, None);
    for word in rest.split_whitespace() {
        let (slot, n) = match (word.strip_prefix("l:"), word.strip_prefix("u:")) {
            (Some(n), _) if lower.is_none() => (&mut lower, n),
            (_, Some(n)) if upper.is_none() => (&mut upper, n),
            _ => return Err(word.to_owned()),
        };
        if !all_digits(n) {
            return Err(word.to_owned());
        }
        *slot = Some(n.parse::<u32>().map_err(|_| word.to_owned())?);
    }
    flags.lower = lower.unwrap_or(0);
    flags.upper = upper.unwrap_or(0);
    Ok(flags)
}

/// ipvsadm's `-b` flags: a comma-separated list; `sh-*` and `mh-*` only with their scheduler.
fn sched_flags(scheduler: &str, list: &str) -> Result<ServiceFlags, String> {
    let mut flags = ServiceFlags::empty();
    for flag in list.split(',').filter(|f| !f.is_empty()) {
        let (bit, needs) = match flag {
            "flag-1" => (ServiceFlags::SCHED1, None),
            "flag-2" => (ServiceFlags::SCHED2, None),
            "flag-3" => (ServiceFlags::SCHED3, None),
            "sh-fallback" => (ServiceFlags::SH_FALLBACK, Some("sh")),
            "sh-port" => (ServiceFlags::SH_PORT, Some("sh")),
            "mh-fallback" => (ServiceFlags::MH_FALLBACK, Some("mh")),
            "mh-port" => (ServiceFlags::MH_PORT, Some("mh")),
            _ => {
                return Err(format!(
                "invalid sched-flags: {flag:?} (flag-1..flag-3, sh-fallback, sh-port, mh-fallback, mh-port)"
            ))
            }
        };
        if let Some(n) = needs {
            if scheduler != n {
                return Err(format!("sched-flag {flag} needs scheduler {n}"));
            }
        }
        flags |= bit;
    }
    Ok(flags)
}

/// The name of an address's PTR record (`4.3.2.1.in-addr.arpa`, `...ip6.arpa`).
fn reverse_name(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(a) => {
            let o = a.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(a) => {
            let mut s = String::new();
            for b in a.octets().iter().rev() {
                s.push_str(&format!("{:x}.{:x}.", b & 0xf, b >> 4));
            }
            s.push_str("ip6.arpa");
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_forms() {
        assert_eq!(split_host_port("10.0.0.1:80"), Some(("10.0.0.1", Some("80"))));
        assert_eq!(split_host_port("[::1]:http"), Some(("[::1]", Some("http"))));
        assert_eq!(split_host_port("[::1]"), Some(("[::1]", None)));
        assert_eq!(split_host_port("10.0.0.1::80"), None);
        assert_eq!(split_host_port_range("a->b:80"), Some(("a->b", Some("80"))));
        assert_eq!(split_host_port_range("[::1]->[::2]:80"), Some(("[::1]->[::2]", Some("80"))));
        assert_eq!(split_host_port_range("10.0.0.1"), Some(("10.0.0.1", None)));
    }

    #[test]
    fn reverse_names() {
        assert_eq!(reverse_name("192.0.2.1".parse().unwrap()), "1.2.0.192.in-addr.arpa");
        assert!(reverse_name("2001:db8::1".parse().unwrap()).starts_with("1.0.0.0."));
        assert!(reverse_name("2001:db8::1".parse().unwrap()).ends_with(".8.b.d.0.1.0.0.2.ip6.arpa"));
    }

    #[test]
    fn real_flags() {
        let f = parse_real_flags("masq 3 \"/a\", \"ok\" l:2 u:9").unwrap();
        assert_eq!((f.forward, f.weight, f.lower, f.upper), (ForwardMethod::Masquerade, 3, 2, 9));
        assert_eq!(f.negotiate, Some(("/a".to_owned(), "ok".to_owned())));
        assert_eq!(parse_real_flags("route").err().as_deref(), Some(""));
        assert_eq!(parse_real_flags("gate <l:5>").err().as_deref(), Some("<l:5>"));
    }
}
