//! The socket itself: a generic-netlink socket bound to a kernel-assigned port, with the
//! options the client needs, and a receive that never truncates a datagram.
//!
//! Its `unsafe` code is two `setsockopt` calls that netlink-sys 0.9 does not offer
//! (`SO_RCVTIMEO`, `SO_RCVBUFFORCE`); the only other `unsafe` of the library is in `netns.rs`
//! (`setns`, `ioctl`).

use std::io;
use std::mem;
use std::os::fd::AsRawFd;
use std::time::Duration;

use netlink_sys::{protocols::NETLINK_GENERIC, Socket};

use super::transport::{Received, Transport};

/// A bound `NETLINK_GENERIC` socket.
#[derive(Debug)]
pub(crate) struct NlSocket {
    sock: Socket,
    port: u32,
}

fn setsockopt<T>(fd: i32, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    let len = libc::socklen_t::try_from(mem::size_of::<T>())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `value` points to a live, initialized `T` of `len` bytes for the whole call, and
    // setsockopt only reads it.
    let rc = unsafe { libc::setsockopt(fd, level, name, (value as *const T).cast(), len) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The kernel's page size (`sysconf(_SC_PAGESIZE)`), 4096 if it cannot be read.
pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf takes no pointers and only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(page).ok().filter(|p| *p > 0).unwrap_or(4096)
}

impl NlSocket {
    /// Opens and binds a socket in the calling thread's network namespace.
    pub(crate) fn open() -> io::Result<Self> {
        let mut sock = Socket::new(NETLINK_GENERIC)?;
        let addr = sock.bind_auto()?;
        Ok(NlSocket { sock, port: addr.port_number() })
    }

    /// The port id the kernel assigned (`nl_pid`); every reply carries it.
    pub(crate) fn port(&self) -> u32 {
        self.port
    }

    /// Sets how long a receive waits (`SO_RCVTIMEO`); `None` waits forever.
    pub(crate) fn set_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        let tv = match timeout {
            Some(d) => {
                // A zero timeval means "forever" to the kernel: round a tiny timeout up instead.
                let usec = if d.as_secs() == 0 && d.subsec_micros() == 0 { 1 } else { d.subsec_micros() };
                // suseconds_t is i64 on 64-bit Linux but i32 on some 32-bit targets.
                #[allow(clippy::unnecessary_fallible_conversions)]
                let tv_usec = libc::suseconds_t::try_from(usec).unwrap_or(999_999);
                libc::timeval {
                    tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
                    tv_usec,
                }
            }
            None => libc::timeval { tv_sec: 0, tv_usec: 0 },
        };
        setsockopt(self.sock.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv)
    }

    /// Asks for a receive buffer of `bytes`: `SO_RCVBUFFORCE` first (allowed with
    /// CAP_NET_ADMIN, which IPVS needs anyway, and not capped by `net.core.rmem_max`), then
    /// `SO_RCVBUF`. Returns what the kernel granted (it doubles the request for bookkeeping).
    pub(crate) fn set_receive_buffer(&self, bytes: usize) -> io::Result<usize> {
        let want = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX / 2);
        let fd = self.sock.as_raw_fd();
        if setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &want).is_err() {
            // Best effort: the default buffer still works, with a smaller batch window.
            let _ = setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &want);
        }
        self.sock.get_rx_buf_sz()
    }

    /// `NETLINK_CAP_ACK` (4.2+): error messages carry only the request's header, not its
    /// whole payload, so acknowledgements stay small whatever the request.
    pub(crate) fn set_cap_ack(&self) -> io::Result<()> {
        self.sock.set_cap_ack(true)
    }

    /// `NETLINK_EXT_ACK` (4.12+): error messages may carry the kernel's explanation.
    pub(crate) fn set_ext_ack(&self) -> io::Result<()> {
        self.sock.set_ext_ack(true)
    }

    /// Sends one buffer (one or more requests) to the kernel in one `sendmsg`.
    pub(crate) fn send(&self, buf: &[u8]) -> io::Result<()> {
        loop {
            match self.sock.send(buf, 0) {
                Ok(n) if n == buf.len() => return Ok(()),
                Ok(n) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        format!("netlink send took {n} of {} bytes", buf.len()),
                    ))
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Receives one datagram into `buf` in one `recvmsg`. With `nonblocking`, returns
    /// [`Received::WouldBlock`] at once when nothing is queued.
    ///
    /// Nothing is ever cut off silently: the call passes `MSG_TRUNC`, so the kernel reports the
    /// datagram's real length, and a datagram longer than `buf` is an `EMSGSIZE` error. The
    /// client's buffers ([`ChunkSizes`](super::ChunkSizes)) hold any datagram IPVS sends: a
    /// dump chunk is at most the larger of `NLMSG_GOODSIZE` (a page minus the kernel's skb
    /// overhead, at most 8 KiB) and the largest buffer ever passed to `recvmsg` on the
    /// socket, and every buffer is at least that large; other replies are a few hundred
    /// bytes.
    pub(crate) fn recv(&self, buf: &mut [u8], nonblocking: bool) -> io::Result<Received> {
        let flags = libc::MSG_TRUNC | if nonblocking { libc::MSG_DONTWAIT } else { 0 };
        loop {
            match self.sock.recv_from(&mut &mut buf[..], flags) {
                Ok((len, _)) if len > buf.len() => return Err(io::Error::from_raw_os_error(libc::EMSGSIZE)),
                Ok((len, addr)) => return Ok(Received::Datagram { len, sender: addr.port_number() }),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Received::WouldBlock),
                Err(e) => return Err(e),
            }
        }
    }
}

impl Transport for NlSocket {
    fn port(&self) -> u32 {
        NlSocket::port(self)
    }

    fn send(&mut self, buf: &[u8]) -> io::Result<()> {
        NlSocket::send(self, buf)
    }

    fn recv(&mut self, buf: &mut [u8], nonblocking: bool) -> io::Result<Received> {
        NlSocket::recv(self, buf, nonblocking)
    }

    fn set_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        NlSocket::set_timeout(self, timeout)
    }
}
