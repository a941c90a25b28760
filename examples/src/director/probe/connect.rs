//! `checktype = connect` (ldirectord) and `TCP_CHECK` (keepalived): a TCP connection is set up
//! and closed; for UDP, a datagram that draws no ICMP error.

use std::io;
use std::net::SocketAddr;

use ipvs_core::director::config::Check;
use tokio::net::{TcpSocket, TcpStream, UdpSocket};

use super::Failure;

/// Connects to the check's target from its bind address, with its mark.
pub async fn stream(check: &Check) -> io::Result<TcpStream> {
    let target = check.target;
    let sock = if target.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    setup(socket2::SockRef::from(&sock), check)?;
    if let Some(bind) = check.bind {
        sock.bind(bind)?;
    }
    sock.connect(target).await
}

/// A UDP socket connected to the check's target, from its bind address, with its mark.
pub async fn datagram(check: &Check) -> io::Result<UdpSocket> {
    let target = check.target;
    let local: SocketAddr = match (check.bind, target) {
        (Some(b), _) => b,
        (None, SocketAddr::V4(_)) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
        (None, SocketAddr::V6(_)) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let sock = UdpSocket::bind(local).await?;
    setup(socket2::SockRef::from(&sock), check)?;
    sock.connect(target).await?;
    Ok(sock)
}

fn setup(sock: socket2::SockRef<'_>, check: &Check) -> io::Result<()> {
    if let Some(mark) = check.fwmark {
        sock.set_mark(mark)?;
    }
    Ok(())
}

/// The TCP connect check.
pub async fn tcp(check: &Check) -> Result<(), Failure> {
    stream(check).await.map(drop).map_err(|e| format!("connect to {}: {e}", check.target))
}

/// The UDP connect check: an empty datagram; an ICMP port unreachable (seen as a refused
/// receive on the connected socket) is a failure, silence or a reply is a pass.
pub async fn udp(check: &Check) -> Result<(), Failure> {
    let fail = |e: io::Error| format!("udp to {}: {e}", check.target);
    let sock = datagram(check).await.map_err(fail)?;
    sock.send(&[]).await.map_err(fail)?;
    let mut buf = [0u8; 512];
    match tokio::time::timeout(super::quiet_wait(check), sock.recv(&mut buf)).await {
        Ok(Err(e)) => Err(fail(e)),
        Ok(Ok(_)) | Err(_) => Ok(()),
    }
}
