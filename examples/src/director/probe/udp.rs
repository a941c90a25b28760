//! keepalived's `UDP_CHECK`: a datagram with the configured payload; with `require_reply` a
//! reply must come, otherwise only an ICMP error fails it.

use ipvs_core::director::config::Check;

use super::{connect, Failure};

/// The UDP check.
pub async fn check(check: &Check, payload: &[u8], require_reply: bool) -> Result<(), Failure> {
    let fail = |e: std::io::Error| format!("udp to {}: {e}", check.target);
    let sock = connect::datagram(check).await.map_err(fail)?;
    sock.send(payload).await.map_err(fail)?;
    let mut buf = vec![0u8; 65536];
    if require_reply {
        // The caller's timeout bounds the wait.
        sock.recv(&mut buf).await.map(drop).map_err(fail)
    } else {
        match tokio::time::timeout(super::quiet_wait(check), sock.recv(&mut buf)).await {
            Ok(Err(e)) => Err(fail(e)),
            Ok(Ok(_)) | Err(_) => Ok(()),
        }
    }
}
