//! ICMP echo: ldirectord's `checktype = ping`, keepalived's `PING_CHECK`. Through surge-ping:
//! an unprivileged ICMP datagram socket where `net.ipv4.ping_group_range` allows one, a raw
//! socket otherwise; one socket per address family, shared by every ping.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Mutex;

use ipvs_core::director::config::Check;
use surge_ping::{Client, Config, PingIdentifier, PingSequence, ICMP};

use super::Failure;

/// The shared ICMP sockets, opened on first use.
#[derive(Default)]
pub struct Pingers {
    v4: Mutex<Option<Client>>,
    v6: Mutex<Option<Client>>,
    next_id: AtomicU16,
}

impl Pingers {
    fn client(&self, v6: bool) -> Result<Client, Failure> {
        let slot = if v6 { &self.v6 } else { &self.v4 };
        let mut slot = slot.lock().map_err(|_| "ping socket lock poisoned".to_string())?;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let kind = if v6 { ICMP::V6 } else { ICMP::V4 };
        let client =
            Client::new(&Config::builder().kind(kind).build()).map_err(|e| format!("ICMP socket: {e}"))?;
        *slot = Some(client.clone());
        Ok(client)
    }

    /// One echo request to the check's target address; the caller's timeout bounds the wait.
    pub async fn ping(&self, check: &Check) -> Result<(), Failure> {
        let addr = check.target.ip();
        let client = self.client(addr.is_ipv6())?;
        let id = PingIdentifier(self.next_id.fetch_add(1, Ordering::Relaxed) ^ (std::process::id() as u16));
        let mut pinger = client.pinger(addr, id).await;
        pinger.timeout(check.timeout);
        pinger
            .ping(PingSequence(0), b"ipvs-director")
            .await
            .map(drop)
            .map_err(|e| format!("ping {addr}: {e}"))
    }
}
