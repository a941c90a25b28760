//! What the client needs of a socket, as a trait: the netlink socket ([`NlSocket`]) is one
//! implementation, the scripted fake kernel of the host tests another.
//!
//! [`NlSocket`]: super::socket::NlSocket

use std::fmt;
use std::io;
use std::time::Duration;

/// What one receive returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Received {
    /// A datagram of this many bytes, sent by this port (0 = the kernel).
    Datagram { len: usize, sender: u32 },
    /// The receive timeout expired (or, non-blocking, nothing was queued).
    WouldBlock,
}

/// A bound generic-netlink socket, as the client uses it.
pub(crate) trait Transport: Send + fmt::Debug {
    /// The port id the kernel assigned; every reply carries it.
    fn port(&self) -> u32;
    /// Sends one buffer (one or more requests) in one `sendmsg`. An error means the kernel
    /// processed none of it.
    fn send(&mut self, buf: &[u8]) -> io::Result<()>;
    /// Receives one datagram into `buf`: `EMSGSIZE` if it is longer than `buf` (never
    /// truncated), `ENOBUFS` once when replies were dropped for lack of buffer space. With
    /// `nonblocking`, returns [`Received::WouldBlock`] at once when nothing is queued.
    fn recv(&mut self, buf: &mut [u8], nonblocking: bool) -> io::Result<Received>;
    /// Sets how long a blocking receive waits; `None` waits forever.
    fn set_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()>;
}

/// A socket and its receive buffer, whose length is also the size of the dump chunks the
/// kernel sends it.
#[derive(Debug)]
pub(crate) struct Channel {
    pub(crate) sock: Box<dyn Transport>,
    pub(crate) rx: Vec<u8>,
    /// The largest receive length used on the socket so far (0 before the first receive):
    /// the size of the next dump's first chunk, which the kernel produces when the request
    /// arrives (the later ones follow the receive length then in use).
    pub(crate) seen: usize,
}
