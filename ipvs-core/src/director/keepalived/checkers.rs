//! keepalived's checkers (`TCP_CHECK`, `HTTP_GET`, `SSL_GET`, `SMTP_CHECK`, `DNS_CHECK`,
//! `MISC_CHECK`, `UDP_CHECK`, `PING_CHECK`; `FILE_CHECK` and `BFD_CHECK` are reported and
//! skipped) into [`Check`]s, with keepalived's per-checker defaults and the values inherited
//! from the real and virtual servers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use super::lex::{quoted_words, Node};
use super::{address, arg, block, boolean, err, no_block, number, number_u32, script, timer, Inherited};
use crate::director::config::{
    Check, Command, ConfigError, ConfigWarning, HttpMethod, Origin, Probe, StatusRange, Transport, UrlCheck,
};

/// Whether `kw` opens a checker block.
pub(super) fn is_checker(kw: &str) -> bool {
    matches!(
        kw,
        "HTTP_GET"
            | "SSL_GET"
            | "TCP_CHECK"
            | "SMTP_CHECK"
            | "DNS_CHECK"
            | "MISC_CHECK"
            | "BFD_CHECK"
            | "UDP_CHECK"
            | "PING_CHECK"
            | "FILE_CHECK"
    )
}

/// What the probe of a checker does, before the inherited values are known.
#[derive(Debug, Clone)]
enum Kind {
    Tcp,
    Ping,
    Http { tls: bool, vhost: Option<String>, sni: bool, urls: Vec<UrlCheck> },
    Smtp { helo: String },
    Dns { qtype: String, name: String },
    Misc { command: Command, dynamic: bool, timeout: Option<Duration> },
    Udp { payload: Vec<u8>, require_reply: bool },
}

/// A checker as written: its probe, where it connects, and its own settings (`None`: from
/// the real server, then the checker's default).
#[derive(Debug, Clone)]
pub(super) struct RawChecker {
    kind: Kind,
    target: SocketAddr,
    bind: Option<SocketAddr>,
    fwmark: Option<u32>,
    connect_timeout: Option<Duration>,
    retry: Option<u32>,
    delay_before_retry: Option<Duration>,
    warmup: Option<Duration>,
    delay_loop: Option<Duration>,
    alpha: Option<bool>,
    /// keepalived's `default_retry`: 1, DNS 3, MISC 0.
    default_retry: u32,
    /// keepalived's `default_delay_before_retry`: 1 s, HTTP/SSL 3 s; `None`: `delay_loop`
    /// (DNS).
    default_delay_before_retry: Option<Duration>,
    origin: Origin,
}

/// The connection settings of a checker (or of one `host` block of `SMTP_CHECK`).
#[derive(Debug, Clone, Default)]
struct Conn {
    ip: Option<IpAddr>,
    port: Option<u16>,
    bindto: Option<IpAddr>,
    bind_port: Option<u16>,
    bind_if: bool,
    timeout: Option<Duration>,
    fwmark: Option<u32>,
}

impl Conn {
    fn any(&self) -> bool {
        self.ip.is_some()
            || self.port.is_some()
            || self.bindto.is_some()
            || self.bind_port.is_some()
            || self.bind_if
            || self.timeout.is_some()
            || self.fwmark.is_some()
    }

    /// Where it connects: the real server's address and port as written, then `connect_ip`
    /// and `connect_port`.
    fn target(&self, real: SocketAddr) -> SocketAddr {
        SocketAddr::new(self.ip.unwrap_or(real.ip()), self.port.unwrap_or(real.port()))
    }

    fn bind(&self, target: SocketAddr) -> Option<SocketAddr> {
        match (self.bindto, self.bind_port) {
            (None, None) => None,
            (addr, port) => {
                let any = match target {
                    SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                    SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                };
                Some(SocketAddr::new(addr.unwrap_or(any), port.unwrap_or(0)))
            }
        }
    }
}

/// The settings every checker takes (`retry`, `delay_loop`, ...).
#[derive(Debug, Clone, Default)]
struct Common {
    retry: Option<u32>,
    delay_before_retry: Option<Duration>,
    warmup: Option<Duration>,
    delay_loop: Option<Duration>,
    alpha: Option<bool>,
}

fn warn(warnings: &mut Vec<ConfigWarning>, origin: &Origin, message: impl Into<String>) {
    warnings.push(ConfigWarning { origin: origin.clone(), message: message.into() });
}

/// A connection keyword into `conn`; `false` when `c` is not one.
fn conn_keyword(c: &Node, conn: &mut Conn, warnings: &mut Vec<ConfigWarning>) -> Result<bool, ConfigError> {
    match c.keyword() {
        "connect_ip" => {
            let a = arg(c, 1)?;
            let ip = address(a).ok_or_else(|| err(c, format!("Invalid connect_ip address {a}")))?;
            if conn.bindto.is_some_and(|b| b.is_ipv4() != ip.is_ipv4()) {
                return Err(err(
                    c,
                    format!("connect_ip address {a} does not match address family of bindto"),
                ));
            }
            conn.ip = Some(ip);
        }
        "connect_port" => {
            conn.port = Some(
                u16::try_from(number(c, 1, 1, 65_535).map_err(|_| {
                    err(c, format!("Invalid checker connect_port '{}'", c.words.get(1).map_or("", |s| s)))
                })?)
                .unwrap_or(0),
            )
        }
        "bindto" => {
            let a = arg(c, 1)?;
            let ip = address(a).ok_or_else(|| err(c, format!("Invalid bindto address {a}")))?;
            if conn.ip.is_some_and(|d| d.is_ipv4() != ip.is_ipv4()) {
                return Err(err(
                    c,
                    format!("bindto address {a} does not match address family of connect_ip"),
                ));
            }
            conn.bindto = Some(ip);
        }
        "bind_port" => {
            conn.bind_port = Some(
                u16::try_from(number(c, 1, 1, 65_535).map_err(|_| {
                    err(c, format!("Invalid checker bind_port '{}'", c.words.get(1).map_or("", |s| s)))
                })?)
                .unwrap_or(0),
            )
        }
        "bind_if" => {
            let i = arg(c, 1)?;
            if i.len() > 15 {
                return Err(err(c, format!("Interface name {i} is too long")));
            }
            conn.bind_if = true;
            warn(warnings, &c.origin, "bind_if has no effect: probes are not bound to an interface");
        }
        "connect_timeout" => conn.timeout = Some(timer(c, 1, 1, u64::from(u32::MAX))?),
        "fwmark" => {
            conn.fwmark = Some(number_u32(c, 1, 0, u32::MAX).map_err(|_| {
                err(c, format!("Invalid fwmark connection value '{}'", c.words.get(1).map_or("", |s| s)))
            })?)
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// A keyword every checker takes into `common`; `false` when `c` is not one.
fn common_keyword(
    c: &Node,
    common: &mut Common,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<bool, ConfigError> {
    match c.keyword() {
        "retry" => {
            common.retry = Some(number_u32(c, 1, 0, u32::MAX).map_err(|_| {
                err(c, format!("Invalid retry connection value '{}'", c.words.get(1).map_or("", |s| s)))
            })?)
        }
        "delay_before_retry" => common.delay_before_retry = Some(timer(c, 1, 0, u64::MAX / 2)?),
        "warmup" => common.warmup = Some(timer(c, 1, 0, u64::MAX / 2)?),
        "delay_loop" => common.delay_loop = Some(timer(c, 1, 1, u64::MAX / 2)?),
        "alpha" => common.alpha = Some(boolean(c, 1)?),
        "log_all_failures" => {
            boolean(c, 1)?;
            warn(
                warnings,
                &c.origin,
                "log_all_failures has no effect: the director logs every change of state",
            );
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// The checkers of one checker block (`SMTP_CHECK` gives one per `host` block).
pub(super) fn checker(
    n: &Node,
    real: SocketAddr,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Vec<RawChecker>, ConfigError> {
    let kw = n.keyword();
    let children = block(n)?;
    if matches!(kw, "FILE_CHECK" | "BFD_CHECK") {
        let what = if kw == "FILE_CHECK" { "track files" } else { "BFD" };
        warn(
            warnings,
            &n.origin,
            format!("{kw} is not implemented ({what}): the real server is judged by its other checks"),
        );
        return Ok(Vec::new());
    }
    let mut conn = Conn::default();
    let mut common = Common::default();
    let mut hosts: Vec<(Conn, Origin)> = Vec::new();
    let (mut default_retry, mut default_dbr) = (1, Some(Duration::from_secs(1)));
    let mut kind = match kw {
        "TCP_CHECK" => Kind::Tcp,
        "PING_CHECK" => Kind::Ping,
        "HTTP_GET" | "SSL_GET" => {
            default_dbr = Some(Duration::from_secs(3));
            Kind::Http { tls: kw == "SSL_GET", vhost: None, sni: false, urls: Vec::new() }
        }
        "SMTP_CHECK" => Kind::Smtp { helo: "smtpchecker.keepalived.org".to_owned() },
        "DNS_CHECK" => {
            default_retry = 3;
            default_dbr = None;
            Kind::Dns { qtype: "SOA".to_owned(), name: String::new() }
        }
        "MISC_CHECK" => {
            default_retry = 0;
            Kind::Misc {
                command: Command { line: String::new(), origin: n.origin.clone() },
                dynamic: false,
                timeout: None,
            }
        }
        "UDP_CHECK" => Kind::Udp { payload: Vec::new(), require_reply: false },
        other => return Err(err(n, format!("Unknown keyword '{other}'"))),
    };
    let mut misc_path = false;
    let mut dns_name = false;
    for c in children {
        let takes_block =
            matches!((&kind, c.keyword()), (Kind::Http { .. }, "url") | (Kind::Smtp { .. }, "host"));
        if !takes_block {
            no_block(c)?;
        }
        let connects = !matches!(kind, Kind::Misc { .. });
        if connects && conn_keyword(c, &mut conn, warnings)? {
            continue;
        }
        if common_keyword(c, &mut common, warnings)? {
            continue;
        }
        match (&mut kind, c.keyword()) {
            (Kind::Http { .. }, "nb_get_retry") => {
                warn(warnings, &c.origin, "nb_get_retry is deprecated - please use 'retry'");
                common.retry = Some(number_u32(c, 1, 0, u32::MAX)?);
            }
            (Kind::Http { vhost, .. }, "virtualhost") => {
                *vhost = Some(arg(c, 1).map_err(|_| err(c, "HTTP_GET virtualhost name missing"))?.to_owned())
            }
            (Kind::Http { .. }, "http_protocol") => {
                match arg(c, 1).map_err(|_| err(c, "Missing http_protocol version"))? {
                    "1.0" | "1.1" | "1.0C" | "1.0c" => {}
                    v => return Err(err(c, format!("Invalid http_protocol version {v}"))),
                }
                warn(
                    warnings,
                    &c.origin,
                    "http_protocol has no effect: the probe speaks HTTP/1.1 with Connection: close",
                );
            }
            (Kind::Http { sni, .. }, "enable_sni") => *sni = boolean(c, 1)?,
            (Kind::Http { .. }, "fast_recovery") => {
                boolean(c, 1)?;
                warn(warnings, &c.origin, "fast_recovery has no effect: every URL is fetched in each probe");
            }
            (Kind::Http { urls, .. }, "url") => urls.push(url(c, warnings)?),
            (Kind::Smtp { helo }, "helo_name") => *helo = arg(c, 1)?.to_owned(),
            (Kind::Smtp { .. }, "host") => {
                warn(
                    warnings,
                    &c.origin,
                    "The SMTP_CHECK host block is deprecated. Please define additional checkers.",
                );
                let mut h = Conn::default();
                for hc in block(c)? {
                    no_block(hc)?;
                    // A host block's other settings are its checker's.
                    if !conn_keyword(hc, &mut h, warnings)? && !common_keyword(hc, &mut common, warnings)? {
                        return Err(err(hc, format!("Unknown keyword '{}'", hc.keyword())));
                    }
                }
                hosts.push((h, c.origin.clone()));
            }
            (Kind::Dns { qtype, .. }, "type") => {
                let t = arg(c, 1)?.to_ascii_uppercase();
                if !matches!(
                    t.as_str(),
                    "A" | "NS" | "CNAME" | "SOA" | "MX" | "TXT" | "AAAA" | "RRSIG" | "DNSKEY"
                ) {
                    return Err(err(c, format!("Unknown DNS check type {}", c.words[1])));
                }
                *qtype = t;
            }
            (Kind::Dns { name, .. }, "name") => {
                if dns_name {
                    return Err(err(c, "DNS_CHECK name already specified"));
                }
                let s = arg(c, 1)?;
                let empty_label = (s.starts_with('.') && s != ".") || s.contains("..");
                if empty_label {
                    return Err(err(c, format!("DNS_CHECK name '{s}' has empty label")));
                }
                *name = s.to_owned();
                dns_name = true;
            }
            (Kind::Misc { command, .. }, "misc_path") => {
                *command = script(c, warnings)?;
                misc_path = true;
            }
            (Kind::Misc { timeout, .. }, "misc_timeout") => {
                *timeout = Some(Duration::from_secs(
                    number(c, 1, 0, u64::from(u32::MAX / 1_000_000)).map_err(|_| {
                        err(c, format!("Invalid misc_timeout value '{}'", c.words.get(1).map_or("", |s| s)))
                    })?,
                ))
            }
            (Kind::Misc { dynamic, .. }, "misc_dynamic") => *dynamic = true,
            (Kind::Misc { .. }, "user") => {
                arg(c, 1).map_err(|_| err(c, "No user specified for misc checker script"))?;
                warn(warnings, &c.origin, "user has no effect: the script runs as the director");
            }
            (Kind::Udp { payload, .. }, "payload") => {
                if c.words.len() < 2 {
                    return Err(err(c, "UDP_CHECK payload requires a payload"));
                }
                *payload =
                    hex(&c.words[1..]).ok_or_else(|| err(c, "Invalid hex string for UDP_CHECK payload"))?;
            }
            (Kind::Udp { require_reply, .. }, "require_reply") => {
                *require_reply = true;
                if c.words.len() > 1 {
                    let pattern = c.words[1..].join(" ");
                    let ok = !pattern.is_empty()
                        && pattern
                            .chars()
                            .all(|ch| ch.is_ascii_hexdigit() || ch == 'x' || ch == 'X' || ch == ' ');
                    if !ok {
                        return Err(err(c, "Invalid hex string for UDP_CHECK reply"));
                    }
                    warn(warnings, &c.origin, "require_reply's data is not compared: any reply passes");
                }
            }
            (Kind::Udp { .. }, kw @ ("min_reply_length" | "max_reply_length")) => {
                number(c, 1, 0, 65_535).map_err(|_| {
                    err(
                        c,
                        format!(
                            "UDP_CHECK {kw} {} not valid - must be between 0 & 65535",
                            c.words.get(1).map_or("", |s| s)
                        ),
                    )
                })?;
                warn(warnings, &c.origin, format!("{kw} has no effect: the reply's length is not checked"));
            }
            (_, other) => return Err(err(c, format!("Unknown keyword '{other}'"))),
        }
    }
    match &mut kind {
        Kind::Http { urls, .. } if urls.is_empty() => {
            return Err(err(n, "HTTP/SSL_GET checker has no urls specified"));
        }
        Kind::Misc { .. } if !misc_path => {
            return Err(err(n, "No script path has been specified for MISC_CHECKER"));
        }
        _ => {}
    }
    let make = |conn: &Conn, origin: &Origin| RawChecker {
        kind: kind.clone(),
        target: conn.target(real),
        bind: conn.bind(conn.target(real)),
        fwmark: conn.fwmark,
        connect_timeout: conn.timeout,
        retry: common.retry,
        delay_before_retry: common.delay_before_retry,
        warmup: common.warmup,
        delay_loop: common.delay_loop,
        alpha: common.alpha,
        default_retry,
        default_delay_before_retry: default_dbr,
        origin: origin.clone(),
    };
    let mut out = Vec::new();
    // SMTP_CHECK: the checker's own connection, unless only host blocks give one (then the
    // first host is the checker's).
    if conn.any() || hosts.is_empty() {
        out.push(make(&conn, &n.origin));
    }
    for (h, origin) in &hosts {
        out.push(make(h, origin));
    }
    Ok(out)
}

/// A `url { path, digest, status_code, virtualhost, regex, ... }` block.
fn url(n: &Node, warnings: &mut Vec<ConfigWarning>) -> Result<UrlCheck, ConfigError> {
    let mut u = UrlCheck::new("");
    let mut path = None;
    let mut status: Vec<StatusRange> = Vec::new();
    for c in block(n)? {
        no_block(c)?;
        match c.keyword() {
            "path" => path = Some(arg(c, 1)?.to_owned()),
            "digest" => {
                let d = arg(c, 1)?;
                if u.digest.is_some() {
                    return Err(err(c, format!("Digest '{d}' is a duplicate")));
                }
                if d.len() != 32 {
                    return Err(err(
                        c,
                        format!("digest '{d}' character length should be 32 rather than {}", d.len()),
                    ));
                }
                if !d.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(err(c, format!("Unable to interpret hex digits in '{d}'")));
                }
                u.digest = Some(d.to_ascii_lowercase());
            }
            "status_code" => {
                for s in &c.words[1..] {
                    let (lo, hi) = s.split_once('-').unwrap_or((s, s));
                    let code = |x: &str| {
                        x.parse::<u16>()
                            .ok()
                            .filter(|v| (100..=599).contains(v) && x.bytes().all(|b| b.is_ascii_digit()))
                    };
                    match (code(lo), code(hi)) {
                        (Some(low), Some(high)) if low <= high => status.push(StatusRange { low, high }),
                        _ => return Err(err(c, format!("Invalid HTTP_GET status code '{s}'"))),
                    }
                }
            }
            "virtualhost" => {
                u.host = Some(arg(c, 1).map_err(|_| err(c, "Missing HTTP_GET virtualhost name"))?.to_owned())
            }
            "regex" => {
                let words = quoted_words(&c.raw).map_err(|m| err(c, m))?;
                if words.len() != 2 {
                    return Err(err(c, "regex missing or too many fields"));
                }
                u.regex = Some(words[1].clone());
            }
            "regex_no_match" => u.regex_no_match = true,
            kw @ ("regex_options" | "regex_min_offset" | "regex_max_offset" | "regex_stack") => {
                warn(
                    warnings,
                    &c.origin,
                    format!("{kw} has no effect: the whole body is searched with the default options"),
                );
            }
            other => return Err(err(c, format!("Unknown keyword '{other}'"))),
        }
    }
    u.path = path.ok_or_else(|| err(n, "HTTP/SSL_GET checker url has no path"))?;
    if !status.is_empty() {
        u.status = status;
    }
    if u.regex_no_match && u.regex.is_none() {
        warn(warnings, &n.origin, "regex parameters specified without regex");
        u.regex_no_match = false;
    }
    Ok(u)
}

/// keepalived's `read_hex_str`: each word is read two hex digits a byte, an odd last digit
/// being a byte of its own (`"Ab12f 3"` is AB 12 0F 03).
fn hex(words: &[String]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for w in words {
        let digits: Vec<u32> = w.chars().map(|c| c.to_digit(16)).collect::<Option<_>>()?;
        for pair in digits.chunks(2) {
            let byte = match pair {
                [h, l] => h << 4 | l,
                [l] => *l,
                _ => 0,
            };
            out.push(u8::try_from(byte).ok()?);
        }
    }
    (!out.is_empty()).then_some(out)
}

impl RawChecker {
    /// The check, with the real server's values (themselves inherited from the virtual
    /// server) and the checker's defaults; and whether it starts down (`alpha`).
    pub(super) fn resolve(
        &self,
        real: &Inherited,
        real_alpha: bool,
        vs_delay_loop: Duration,
        warnings: &mut Vec<ConfigWarning>,
    ) -> Result<(Check, bool), ConfigError> {
        let delay_loop = self.delay_loop.or(real.delay_loop).unwrap_or(super::DEFAULT_DELAY_LOOP);
        let retry = self.retry.or(real.retry).unwrap_or(self.default_retry);
        let delay_before_retry = self
            .delay_before_retry
            .or(real.delay_before_retry)
            .or(self.default_delay_before_retry)
            .unwrap_or(delay_loop);
        let warmup = self.warmup.or(real.warmup).unwrap_or(delay_loop);
        let connect_timeout =
            self.connect_timeout.or(real.connect_timeout).unwrap_or(super::DEFAULT_CONNECT_TIMEOUT);
        let vhost = real.virtualhost.clone();
        let (probe, timeout) = match &self.kind {
            Kind::Tcp => (Probe::Connect(Transport::Tcp), connect_timeout),
            Kind::Ping => (Probe::Ping, connect_timeout),
            Kind::Http { tls, vhost: own, sni, urls } => {
                let host = own.clone().or(vhost);
                let sni = if *sni { host.clone() } else { None };
                (
                    Probe::Http { tls: *tls, sni, method: HttpMethod::Get, host, urls: urls.clone() },
                    connect_timeout,
                )
            }
            Kind::Smtp { helo } => (Probe::Smtp { helo: Some(helo.clone()) }, connect_timeout),
            Kind::Dns { qtype, name } => {
                let name = if name.is_empty() { ".".to_owned() } else { name.clone() };
                (Probe::Dns { name, qtype: qtype.clone(), expect: None }, connect_timeout)
            }
            // A script without its own timeout has the virtual server's delay_loop.
            Kind::Misc { command, dynamic, timeout } => (
                Probe::Command { command: command.clone(), ldirectord_args: false, dynamic_weight: *dynamic },
                timeout.unwrap_or(vs_delay_loop),
            ),
            Kind::Udp { payload, require_reply } => {
                (Probe::Udp { payload: payload.clone(), require_reply: *require_reply }, connect_timeout)
            }
        };
        if !matches!(self.kind, Kind::Misc { .. } | Kind::Ping) && self.target.port() == 0 {
            warnings.push(ConfigWarning {
                origin: self.origin.clone(),
                message: "this checker connects to port 0: the real server has no port and the checker no connect_port"
                    .to_owned(),
            });
        }
        let check = Check {
            probe,
            target: self.target,
            bind: self.bind,
            fwmark: self.fwmark,
            interval: delay_loop,
            timeout,
            failures_to_down: retry.saturating_add(1),
            retry_delay: (retry > 0).then_some(delay_before_retry),
            warmup: (!warmup.is_zero()).then_some(warmup),
            origin: self.origin.clone(),
        };
        Ok((check, self.alpha.unwrap_or(real_alpha)))
    }
}
