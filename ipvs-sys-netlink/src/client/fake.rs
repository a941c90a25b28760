//! A scripted fake of the kernel's side of the IPVS generic-netlink family, for host tests of
//! the client: it answers the requests a [`Client`](super::Client) sends from an in-memory
//! table ([`MemoryBackend`], which follows the kernel's rules and errors), the way Linux 6.1
//! does it on the wire: acknowledgements with `NLM_F_CAPPED`, dumps produced one chunk per
//! `recvmsg` and sized by the largest receive length the socket has seen, resumed by position
//! (so a change between two chunks skips or repeats entries, as on 6.1), `NLMSG_DONE` in a
//! datagram of its own, `EBUSY` for a dump while another runs on the socket. Faults are
//! scripted: a change between chunks, `NLM_F_DUMP_INTR`, replies that never come, a receive
//! queue that overflows (`ENOBUFS`), a send that fails, foreign and stale datagrams.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ipvs_core::table::MemoryBackend;
use ipvs_core::{Backend, ServiceKey};
use netlink_packet_core::{
    Emitable, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP, NLM_F_DUMP_INTR,
    NLM_F_MULTIPART,
};

use super::transport::{Channel, Received, Transport};
use crate::codec::{Frames, IpvsAttr, IpvsCmd, IpvsMessage};
use crate::convert;

/// The IPVS family id the fake kernel assigns.
pub(crate) const FAMILY_ID: u16 = 0x23;
/// `GENL_ID_CTRL`.
const GENL_ID_CTRL: u16 = 0x10;

/// Called after a dump chunk was produced, with the table and the number of the chunk (from
/// 0), before the next one is.
pub(crate) type BetweenChunks = Box<dyn FnMut(&mut MemoryBackend, usize) + Send>;

/// What goes wrong, scripted by a test.
#[derive(Default)]
pub(crate) struct Faults {
    /// Runs between the chunks of every dump.
    pub(crate) between_chunks: Option<BetweenChunks>,
    /// The next this many dumps carry `NLM_F_DUMP_INTR` on every message.
    pub(crate) interrupt_dumps: u32,
    /// The next this many requests get no answer at all (their effect still happens).
    pub(crate) swallow: u32,
    /// Datagrams a socket queues at most; more are dropped and the next receive reports
    /// `ENOBUFS`.
    pub(crate) queue_limit: Option<usize>,
    /// The next send fails with this errno (and nothing is processed).
    pub(crate) fail_send: Option<i32>,
    /// Datagrams (sender, bytes) delivered before the answers to the next send.
    pub(crate) inject: Vec<(u32, Vec<u8>)>,
    /// The next dump request finds another dump (of the services) still running on the
    /// socket: it is refused with `EBUSY`, and the stale dump goes on to its end.
    pub(crate) stale_dump: bool,
    /// Extended-ack text sent with every error.
    pub(crate) ext_ack: Option<String>,
}

/// The fake kernel: its table, its faults, and counters the tests read.
#[derive(Default)]
pub(crate) struct Kernel {
    pub(crate) table: MemoryBackend,
    pub(crate) faults: Faults,
    next_port: u32,
    /// How many sockets were opened.
    pub(crate) sockets: usize,
    /// How many dump requests were started.
    pub(crate) dumps: usize,
    /// The kernel's page size (4096 when 0), which decides `NLMSG_GOODSIZE`.
    pub(crate) page_size: usize,
}

impl Kernel {
    /// `NLMSG_GOODSIZE`: a page, at most 8 KiB, less the allocation's overhead.
    fn goodsize(&self) -> usize {
        let page = if self.page_size == 0 { 4096 } else { self.page_size };
        page.min(8192) - 320
    }
}

/// A handle on a fake kernel shared by its sockets and the test.
#[derive(Clone, Default)]
pub(crate) struct FakeKernel(Arc<Mutex<Kernel>>);

impl FakeKernel {
    pub(crate) fn new(table: MemoryBackend) -> Self {
        FakeKernel(Arc::new(Mutex::new(Kernel { table, ..Kernel::default() })))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Kernel> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new socket with its receive buffer of `rx_len` bytes.
    pub(crate) fn channel(&self, rx_len: usize) -> Channel {
        let port = {
            let mut k = self.lock();
            k.next_port += 1;
            k.sockets += 1;
            1000 + k.next_port
        };
        let sock = FakeSocket {
            kernel: self.clone(),
            port,
            queue: VecDeque::new(),
            overrun: false,
            dump: None,
            max_recv: 0,
        };
        Channel { sock: Box::new(sock), rx: vec![0; rx_len], seen: 0 }
    }
}

/// A running dump.
#[derive(Debug)]
struct Dump {
    seq: u32,
    cmd: IpvsCmd,
    key: Option<ServiceKey>,
    /// Entries sent so far (the kernel's `cb->args[0]`).
    pos: usize,
    /// Chunks produced so far.
    chunk: usize,
    interrupted: bool,
}

/// One socket of the fake kernel.
pub(crate) struct FakeSocket {
    kernel: FakeKernel,
    port: u32,
    queue: VecDeque<(u32, Vec<u8>)>,
    overrun: bool,
    dump: Option<Dump>,
    max_recv: usize,
}

impl std::fmt::Debug for FakeSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeSocket").field("port", &self.port).field("queued", &self.queue.len()).finish()
    }
}

/// A netlink message: header, then `payload`, padded to 4 bytes.
pub(crate) fn nl_message(ty: u16, flags: u16, seq: u32, port: u32, payload: &[u8]) -> Vec<u8> {
    let len = 16 + payload.len();
    let mut v = Vec::with_capacity(len.next_multiple_of(4));
    v.extend_from_slice(&(len as u32).to_ne_bytes());
    v.extend_from_slice(&ty.to_ne_bytes());
    v.extend_from_slice(&flags.to_ne_bytes());
    v.extend_from_slice(&seq.to_ne_bytes());
    v.extend_from_slice(&port.to_ne_bytes());
    v.extend_from_slice(payload);
    v.resize(len.next_multiple_of(4), 0);
    v
}

/// A generic-netlink payload: the genl header (command, version 1), then the attributes.
pub(crate) fn genl_payload(cmd: IpvsCmd, attrs: Vec<IpvsAttr>) -> Vec<u8> {
    let m = IpvsMessage::new(cmd, attrs);
    let mut b = vec![0; 4 + m.buffer_len()];
    b[0] = cmd.into();
    b[1] = 1;
    m.emit(&mut b[4..]);
    b
}

/// An `NLMSG_ERROR` for the request whose header is `request`, built by hand as the kernel lays
/// it out (not with the codec's encoder, so that the client's decoding is tested against an
/// independent encoding; `NLM_F_CAPPED`: only the
/// header is echoed), with extended-ack text when there is one.
pub(crate) fn ack(request: &[u8], seq: u32, port: u32, code: i32, text: Option<&str>) -> Vec<u8> {
    let mut payload = code.to_ne_bytes().to_vec();
    payload.extend_from_slice(request.get(..16).unwrap_or(&[0; 16]));
    let mut flags = NLM_F_CAPPED;
    if let Some(t) = text.filter(|_| code != 0) {
        flags |= NLM_F_ACK_TLVS;
        let len = 4 + t.len() + 1;
        payload.extend_from_slice(&(len as u16).to_ne_bytes());
        payload.extend_from_slice(&1u16.to_ne_bytes()); // NLMSGERR_ATTR_MSG
        payload.extend_from_slice(t.as_bytes());
        payload.push(0);
        payload.resize(payload.len().next_multiple_of(4), 0);
    }
    nl_message(NLMSG_ERROR, flags, seq, port, &payload)
}

impl FakeSocket {
    fn push(&mut self, k: &Kernel, datagram: Vec<u8>) {
        if k.faults.queue_limit.is_some_and(|l| self.queue.len() >= l) {
            self.overrun = true;
            return;
        }
        self.queue.push_back((0, datagram));
    }

    /// Handles one request message of a sent buffer.
    fn request(&mut self, k: &mut Kernel, bytes: &[u8], ty: u16, flags: u16, seq: u32) {
        let payload = bytes.get(16..).unwrap_or_default();
        if k.faults.swallow > 0 {
            k.faults.swallow -= 1;
            // The effect happens; the answer is lost.
            if ty == FAMILY_ID && flags & NLM_F_DUMP == 0 {
                let _ = apply(k, payload);
            }
            return;
        }
        if ty == GENL_ID_CTRL {
            // CTRL_CMD_NEWFAMILY with CTRL_ATTR_FAMILY_ID and CTRL_ATTR_FAMILY_NAME.
            let mut p = vec![1, 2, 0, 0];
            p.extend_from_slice(&6u16.to_ne_bytes());
            p.extend_from_slice(&1u16.to_ne_bytes());
            p.extend_from_slice(&FAMILY_ID.to_ne_bytes());
            p.extend_from_slice(&[0, 0]);
            p.extend_from_slice(&9u16.to_ne_bytes());
            p.extend_from_slice(&2u16.to_ne_bytes());
            p.extend_from_slice(b"IPVS\0\0\0\0");
            let reply = nl_message(GENL_ID_CTRL, 0, seq, self.port, &p);
            self.push(k, reply);
            return;
        }
        if ty != FAMILY_ID {
            let reply = ack(bytes, seq, self.port, -libc::EINVAL, None);
            self.push(k, reply);
            return;
        }
        let text = k.faults.ext_ack.clone();
        if flags & NLM_F_DUMP == NLM_F_DUMP {
            let Ok(msg) = convert::message_from_genl(payload) else {
                let reply = ack(bytes, seq, self.port, -libc::EINVAL, text.as_deref());
                self.push(k, reply);
                return;
            };
            if std::mem::take(&mut k.faults.stale_dump) {
                self.dump = Some(Dump {
                    seq: seq.wrapping_sub(1000),
                    cmd: IpvsCmd::GetService,
                    key: None,
                    pos: 0,
                    chunk: 0,
                    interrupted: false,
                });
            }
            if self.dump.is_some() {
                let reply = ack(bytes, seq, self.port, -libc::EBUSY, text.as_deref());
                self.push(k, reply);
                return;
            }
            k.dumps += 1;
            let interrupted = k.faults.interrupt_dumps > 0;
            if interrupted {
                k.faults.interrupt_dumps -= 1;
            }
            let key = msg.service().and_then(|s| convert::service_key_from_attrs(s).ok());
            self.dump = Some(Dump { seq, cmd: msg.cmd, key, pos: 0, chunk: 0, interrupted });
            // netlink_dump_start produces the first chunk at once.
            self.next_chunk(k);
            return;
        }
        let reply = match convert::message_from_genl(payload) {
            Err(_) => Err(libc::EINVAL),
            Ok(msg) => answer(k, &msg),
        };
        match reply {
            Ok(Some(data)) => {
                let m = nl_message(FAMILY_ID, 0, seq, self.port, &data);
                self.push(k, m);
                if flags & NLM_F_ACK != 0 {
                    let a = ack(bytes, seq, self.port, 0, None);
                    self.push(k, a);
                }
            }
            Ok(None) => {
                if flags & NLM_F_ACK != 0 {
                    let a = ack(bytes, seq, self.port, 0, None);
                    self.push(k, a);
                }
            }
            Err(errno) => {
                let a = ack(bytes, seq, self.port, -errno, text.as_deref());
                self.push(k, a);
            }
        }
    }

    /// Produces the next chunk of the running dump, as `netlink_dump` does: entries from the
    /// dump's position while they fit; when none is left, `NLMSG_DONE` in a chunk of its own.
    fn next_chunk(&mut self, k: &mut Kernel) {
        let Some(mut d) = self.dump.take() else { return };
        let size = self.max_recv.max(k.goodsize());
        let flags = NLM_F_MULTIPART | if d.interrupted { NLM_F_DUMP_INTR } else { 0 };
        let entries: Vec<Vec<u8>> = match d.cmd {
            IpvsCmd::GetService => k
                .table
                .services()
                .unwrap_or_default()
                .iter()
                .map(|s| {
                    genl_payload(
                        IpvsCmd::NewService,
                        vec![IpvsAttr::Service(convert::service_reply_attrs(s))],
                    )
                })
                .collect(),
            IpvsCmd::GetDest => d
                .key
                .and_then(|key| k.table.destinations(&key).ok())
                .unwrap_or_default()
                .iter()
                .map(|s| genl_payload(IpvsCmd::NewDest, vec![IpvsAttr::Dest(convert::dest_reply_attrs(s))]))
                .collect(),
            IpvsCmd::GetDaemon => k
                .table
                .daemons()
                .unwrap_or_default()
                .iter()
                .map(|s| {
                    genl_payload(IpvsCmd::NewDaemon, vec![IpvsAttr::Daemon(convert::daemon_reply_attrs(s))])
                })
                .collect(),
            _ => Vec::new(),
        };
        let mut chunk = Vec::new();
        let mut added = 0;
        for e in entries.iter().skip(d.pos) {
            let m = nl_message(FAMILY_ID, flags, d.seq, self.port, e);
            if chunk.len() + m.len() > size {
                break;
            }
            chunk.extend_from_slice(&m);
            added += 1;
        }
        d.pos += added;
        if added == 0 {
            let done = nl_message(NLMSG_DONE, flags, d.seq, self.port, &0i32.to_ne_bytes());
            self.push(k, done);
            return;
        }
        self.push(k, chunk);
        let n = d.chunk;
        d.chunk += 1;
        if let Some(f) = k.faults.between_chunks.as_mut() {
            f(&mut k.table, n);
        }
        self.dump = Some(d);
    }
}

/// Applies a change request to the table.
fn apply(k: &mut Kernel, payload: &[u8]) -> Result<(), i32> {
    let msg = convert::message_from_genl(payload).map_err(|_| libc::EINVAL)?;
    answer(k, &msg).map(drop)
}

/// The answer to a doit request: the reply payload for a GET, nothing for a change, or the
/// errno.
fn answer(k: &mut Kernel, msg: &IpvsMessage) -> Result<Option<Vec<u8>>, i32> {
    let errno = |e: ipvs_core::Error| e.errno().unwrap_or(libc::EINVAL);
    match msg.cmd {
        IpvsCmd::GetService => {
            let key =
                msg.service().and_then(|s| convert::service_key_from_attrs(s).ok()).ok_or(libc::EINVAL)?;
            let s = k.table.service(&key).map_err(errno)?;
            Ok(Some(genl_payload(
                IpvsCmd::NewService,
                vec![IpvsAttr::Service(convert::service_reply_attrs(&s))],
            )))
        }
        IpvsCmd::GetInfo => {
            let i = k.table.info().map_err(errno)?;
            Ok(Some(genl_payload(IpvsCmd::SetInfo, convert::info_reply_attrs(&i))))
        }
        IpvsCmd::GetConfig => {
            let t = k.table.timeouts().map_err(errno)?;
            Ok(Some(genl_payload(IpvsCmd::SetConfig, convert::timeouts_attrs(&t))))
        }
        _ => {
            let op = convert::operation_from_message(msg).map_err(|_| libc::EINVAL)?;
            k.table.apply(&op).map_err(errno)?;
            Ok(None)
        }
    }
}

impl Transport for FakeSocket {
    fn port(&self) -> u32 {
        self.port
    }

    fn send(&mut self, buf: &[u8]) -> io::Result<()> {
        let kernel = self.kernel.clone();
        let mut k = kernel.lock();
        if let Some(errno) = k.faults.fail_send.take() {
            return Err(io::Error::from_raw_os_error(errno));
        }
        for (sender, d) in std::mem::take(&mut k.faults.inject) {
            self.queue.push_back((sender, d));
        }
        for frame in Frames::new(buf) {
            let Ok(frame) = frame else { break };
            let h = frame.header;
            self.request(&mut k, frame.bytes, h.message_type, h.flags, h.sequence);
        }
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8], _nonblocking: bool) -> io::Result<Received> {
        let kernel = self.kernel.clone();
        let mut k = kernel.lock();
        if std::mem::take(&mut self.overrun) {
            return Err(io::Error::from_raw_os_error(libc::ENOBUFS));
        }
        self.max_recv = self.max_recv.max(buf.len());
        if self.queue.is_empty() {
            self.next_chunk(&mut k);
        }
        let Some((sender, d)) = self.queue.pop_front() else { return Ok(Received::WouldBlock) };
        // The kernel produces the next chunk of a running dump after a receive.
        if self.dump.is_some() {
            self.next_chunk(&mut k);
        }
        if d.len() > buf.len() {
            return Err(io::Error::from_raw_os_error(libc::EMSGSIZE));
        }
        buf[..d.len()].copy_from_slice(&d);
        Ok(Received::Datagram { len: d.len(), sender })
    }

    fn set_timeout(&mut self, _timeout: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
}
