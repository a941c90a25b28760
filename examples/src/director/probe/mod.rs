//! The probes: one small file per kind, each an `async fn` that talks to one real server and
//! says whether it answered as its check expects.
//!
//! [`Prober::run`] runs one [`ProbeRequest`] under the check's own timeout: every probe is a
//! task of its own, so one slow or hanging server never delays another's verdict. A probe
//! that does not finish in time is dropped (its socket closed, an external command's whole
//! process group killed) and counts as down.
//!
//! ```no_run
//! use std::time::Duration;
//! use ipvs_core::director::config::{Check, Probe, Transport};
//! use ipvs_examples::director::probe::{self, Prober};
//!
//! # async fn demo() {
//! let prober = Prober::new();
//! let check = probe::check(Probe::Connect(Transport::Tcp), "192.168.1.10:80".parse().unwrap(), Duration::from_secs(3));
//! let outcome = prober.run_check(&check.probe, &check, None).await;
//! println!("{outcome:?}");
//! # }
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ipvs_core::director::config::{Check, Probe, Transport};
use ipvs_core::director::machine::{Outcome, ProbeRequest};
use ipvs_core::{DestinationKey, ServiceKey};

pub mod command;
pub mod connect;
pub mod dns;
pub mod http;
pub mod ping;
pub mod simpletcp;
pub mod smtp;
pub mod tls;
pub mod udp;

/// Why a probe failed, in words for the log.
pub type Failure = String;

/// What a probe found when it ended in time: up (with a weight from `misc_dynamic`), or why not.
pub type Verdict = Result<Option<u32>, Failure>;

/// The virtual service and real server a probe is for (ldirectord's external checks get them
/// as arguments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject {
    /// The virtual service.
    pub service: ServiceKey,
    /// The real server.
    pub real: DestinationKey,
}

/// Runs probes. Holds what probes share: the TLS client configuration and the ICMP sockets.
/// Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct Prober {
    inner: Arc<Shared>,
}

struct Shared {
    tls: Result<Arc<rustls::ClientConfig>, rustls::Error>,
    ping: ping::Pingers,
}

impl Default for Prober {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Prober {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prober").finish_non_exhaustive()
    }
}

impl Prober {
    /// A prober (no sockets are opened until a probe needs one).
    pub fn new() -> Self {
        Prober { inner: Arc::new(Shared { tls: tls::client_config(), ping: ping::Pingers::default() }) }
    }

    /// Runs the probe the machine asked for, under its check's timeout.
    pub async fn run(&self, req: &ProbeRequest) -> Outcome {
        let subject = Subject { service: req.service, real: req.real };
        self.run_check(&req.probe, &req.check, Some(subject)).await
    }

    /// Runs `probe` for `check` (whose target, bind address, mark and timeout it uses).
    pub async fn run_check(&self, probe: &Probe, check: &Check, subject: Option<Subject>) -> Outcome {
        let timeout = check.timeout.max(Duration::from_millis(1));
        match tokio::time::timeout(timeout, self.verdict(probe, check, subject)).await {
            Ok(Ok(None)) => Outcome::Up,
            Ok(Ok(Some(weight))) => Outcome::UpWithWeight(weight),
            Ok(Err(why)) => Outcome::Down(why),
            Err(_) => Outcome::Down(format!("no answer within {}", fmt_duration(timeout))),
        }
    }

    async fn verdict(&self, probe: &Probe, check: &Check, subject: Option<Subject>) -> Verdict {
        let up = |r: Result<(), Failure>| r.map(|()| None);
        match probe {
            Probe::Connect(Transport::Tcp) => up(connect::tcp(check).await),
            Probe::Connect(Transport::Udp) => up(connect::udp(check).await),
            Probe::Connect(_) => Err("unsupported transport".into()),
            Probe::Http { tls, sni, method, host, urls } => {
                let tls = match (tls, &self.inner.tls) {
                    (false, _) => None,
                    (true, Ok(config)) => Some((config.clone(), sni.as_deref())),
                    (true, Err(e)) => return Err(format!("TLS unavailable: {e}")),
                };
                up(http::check(check, tls, *method, host.as_deref(), urls).await)
            }
            Probe::Dns { name, qtype, expect } => up(dns::check(check, name, qtype, expect.as_deref()).await),
            Probe::Smtp { helo } => up(smtp::check(check, helo.as_deref()).await),
            Probe::SimpleTcp { send, expect } => up(simpletcp::check(check, send, expect.as_deref()).await),
            Probe::Ping => up(self.inner.ping.ping(check).await),
            Probe::Udp { payload, require_reply } => up(udp::check(check, payload, *require_reply).await),
            Probe::Command { command, ldirectord_args, dynamic_weight } => {
                let args = match (ldirectord_args, subject) {
                    (true, Some(s)) => command::ldirectord_args(&s),
                    _ => Vec::new(),
                };
                command::check(&command.line, &args, *dynamic_weight).await
            }
            Probe::Fixed(true) => Ok(None),
            Probe::Fixed(false) => Err("checktype off: always down".into()),
            // The machine chooses the turn's kind before asking; if it did not, the
            // stronger check is the one to run.
            Probe::Alternate { then, .. } => Box::pin(self.verdict(then, check, subject)).await,
            _ => Err("this probe kind is not implemented".into()),
        }
    }
}

/// A check of `probe` on `target` with `timeout`, the rest at its defaults (for tests and
/// examples; the parsers build the real ones).
pub fn check(probe: Probe, target: SocketAddr, timeout: Duration) -> Check {
    let mut c = Check::new(probe, target);
    c.timeout = timeout;
    c
}

/// A duration as the log shows it: `3s`, `250ms`.
pub fn fmt_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// The part of a probe's time a "no news is good news" wait may use (an UDP probe that passes
/// unless an ICMP error comes back): most of the timeout, leaving room to report in time.
pub(crate) fn quiet_wait(check: &Check) -> Duration {
    let t = check.timeout;
    t.saturating_sub((t / 5).min(Duration::from_millis(500)))
}
