//! The netlink client: the one piece of the workspace that opens a socket.
//!
//! [`Client`] (also exported as [`NetlinkBackend`]) implements [`ipvs_core::Backend`] on the
//! kernel's IPVS generic-netlink family:
//!
//! * **One socket** for every request, for the client's whole life, bound in one network
//!   namespace: the opening thread's ([`Client::new`], [`Client::with_options`]) or any other
//!   ([`Client::in_netns`] with a [`NetNs`], opened without changing the caller's namespace).
//!   With [`ClientOptions::verify_dumps`] a second socket is opened with it, in the same
//!   namespace, that only re-reads large dumps. The `"IPVS"` family id is resolved once, when
//!   the client is opened. A missing family is [`Error::ModuleMissing`] (genetlink tries to
//!   load `ip_vs` first).
//! * **Every reply is checked**: it must come from the kernel (sender port 0), carry this
//!   socket's port id and the sequence number of an outstanding request. Anything else (a late
//!   reply to a request that timed out earlier, say) is skipped, never attributed to the wrong
//!   request.
//! * **Nothing is truncated**: each datagram is sized with `MSG_PEEK | MSG_TRUNC` and the
//!   receive buffer grows to fit it. Dumps are read to their `NLMSG_DONE` across as many
//!   receives as they take; `NLM_F_DUMP_INTR` on any message (the DONE included) restarts the
//!   dump, up to [`ClientOptions::dump_attempts`] times, then [`Error::Interrupted`].
//! * **Dumps are whole**: Linux 6.1 resumes a dump by position in a table shared by every
//!   namespace and never flags one that changed in between, so a dump that took more than one
//!   chunk is read again with its chunk boundaries elsewhere and the reads are reconciled
//!   ([`ClientOptions::verify_dumps`]); an entry the kernel sends twice is dropped.
//! * **No read hangs forever**: each wait for the kernel is bounded by
//!   [`ClientOptions::timeout`] (`SO_RCVTIMEO`, default 30 s) and ends in [`Error::Timeout`].
//! * **Errors are typed by command**: the same errno means different things for different
//!   commands (EEXIST on NEW_DEST is [`Error::Exists`]`(Destination)`, ENOENT on NEW_SERVICE is
//!   [`Error::SchedulerOrEngineNotFound`] but on DEL_DEST [`Error::NotFound`]`(Destination)`;
//!   see `shared/ipvs-kernel-reference.md` §1.6).
//! * **Operations are validated first** ([`Operation::validate`]): a bad value never reaches
//!   the kernel.
//! * **Batches are pipelined**: [`Backend::apply_all`] without `stop_on_error` encodes up to
//!   [`Client::window`] requests into one buffer, sends them in one `sendmsg` and matches the
//!   acknowledgements by sequence number.
//!
//! # Network namespaces
//!
//! IPVS tables are per network namespace, and a netlink socket stays bound to the namespace it
//! was created in. [`Client::in_netns`] opens a client in the namespace of a [`NetNs`] (an `ip
//! netns` name, a `/proc/<pid>/ns/net` path, a descriptor) from a short-lived thread that
//! enters it, so the calling thread never changes namespace; the client then works from any
//! thread and also reads that namespace's connection table ([`Client::connections`]).
//!
//! ```no_run
//! use ipvs_core::Backend;
//! use ipvs_sys_netlink::{Client, ClientOptions, NetNs};
//!
//! let ns = NetNs::path("/var/run/docker/netns/1a2b3c4d5e6f")?;
//! let mut ipvs = Client::in_netns(&ns, ClientOptions::default())?;
//! for svc in ipvs.services()? {
//!     println!("{}", svc.service.key);
//! }
//! # Ok::<(), ipvs_core::Error>(())
//! ```
//!
//! # `apply_all` semantics
//!
//! * `stop_on_error = false`: every operation gets a result, in order. Operations that fail
//!   validation get their [`Error::Validation`] and are not sent; the others go to the kernel
//!   in windows of at most [`Client::window`] requests per `sendmsg` (sized so that a whole
//!   window of acknowledgements fits the socket's receive buffer: the kernel processes a whole
//!   window before the client reads anything, and an acknowledgement that does not fit would
//!   be dropped). The kernel carries out every request of a window, whatever the earlier ones
//!   did, so a failure never stops the batch. If the transport fails (a timeout, a socket
//!   error, or acknowledgements dropped by the kernel: `ENOBUFS`, possible only with a
//!   [`ClientOptions::max_in_flight`] too large for the buffer), the operations whose
//!   acknowledgement did not arrive get that error (their effect is unknown), and so do the
//!   operations not sent yet (they were not applied).
//! * `stop_on_error = true`: generic netlink has no way to abort the rest of a window when one
//!   request fails, so the client sends **one request per round trip** and stops at the first
//!   failure; the operations after it are neither sent nor in the result.

mod errno;
mod netns;
mod socket;

use std::ops::ControlFlow;
use std::time::Duration;

use ipvs_core::ipvsadm::conn::{parse_conn, parse_conn_sync, Connection, SyncConnection};
use ipvs_core::{
    Backend, DestinationStatus, Error, Info, Operation, Result, ServiceKey, ServiceStatus, SyncDaemon,
    Timeouts,
};
use netlink_packet_core::{
    Emitable, NlasIterator, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP,
    NLM_F_DUMP_INTR,
};

use crate::codec::ctrl::{decode_family_reply, encode_get_family_request, FamilyReply};
use crate::codec::{encode_request_into, Frames, IpvsAttr, IpvsCmd, IpvsMessage, RequestHeader};
use crate::convert;
pub use netns::NetNs;
use socket::{NlSocket, Received};

/// The default wait for each reply from the kernel.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The receive buffer the client asks for by default (4 MiB; the kernel doubles it).
pub const DEFAULT_RECEIVE_BUFFER: usize = 4 << 20;

/// The most requests the client puts in one `sendmsg`.
pub const MAX_WINDOW: usize = 256;

/// Receive-buffer bytes budgeted per outstanding acknowledgement when sizing the window. An
/// acknowledgement skb costs the socket about 768 bytes of `truesize` on x86-64 (a 36-byte
/// message in a 512-byte slab object plus the `sk_buff`); twice that leaves room for
/// extended-ack text.
const ACK_BUDGET: usize = 2048;

/// Largest request buffer sent at once. The kernel refuses a `sendmsg` larger than the socket's
/// send buffer (212992 bytes by default); 64 KiB is far below it.
const MAX_BATCH_BYTES: usize = 64 << 10;

/// Receive-buffer bytes budgeted per outstanding GET reply (a reply skb is allocated with
/// `NLMSG_DEFAULT_SIZE`, about a page, plus its acknowledgement).
const GET_BUDGET: usize = 8192;

/// The first receive length of the verifying socket, hence the size of its dump chunks: not the
/// main socket's (see [`socket::main_chunk`]), so that its chunks end at other entries, and
/// still a single 8 KiB slab object for the kernel to allocate and clear. Each
/// service-dump check grows it by [`VERIFY_CHUNK_STEP`], up to [`VERIFY_CHUNK_MAX`] (see
/// [`Client::next_verify_chunk`]).
const VERIFY_CHUNK: usize = 5120;

/// How much the verifying socket's chunks grow from one service-dump check to the next.
const VERIFY_CHUNK_STEP: usize = 1024;

/// The largest chunk the verifying socket is given before it is replaced by a fresh one (with
/// the kernel's 320 bytes of overhead, still within an 8 KiB allocation, and below the main
/// socket's).
const VERIFY_CHUNK_MAX: usize = 7168;

/// `NLMSGERR_ATTR_MSG`: the extended-ack text.
const NLMSGERR_ATTR_MSG: u16 = 1;

/// How a [`Client`] talks to the kernel. Build it with [`Default`] and the setters.
///
/// ```
/// use std::time::Duration;
/// use ipvs_sys_netlink::ClientOptions;
/// let opts = ClientOptions::default().timeout(Some(Duration::from_secs(5))).max_in_flight(64);
/// assert_eq!(opts.timeout, Some(Duration::from_secs(5)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientOptions {
    /// How long to wait for each reply (each `recv`); `None` waits forever. Default
    /// [`DEFAULT_TIMEOUT`].
    pub timeout: Option<Duration>,
    /// Receive buffer to ask for, in bytes ([`DEFAULT_RECEIVE_BUFFER`]). Set with
    /// `SO_RCVBUFFORCE` (the client has CAP_NET_ADMIN, or IPVS would refuse it anyway), falling
    /// back to `SO_RCVBUF`, which `net.core.rmem_max` caps.
    pub receive_buffer: usize,
    /// Requests per `sendmsg` in [`Backend::apply_all`]. `None` (the default) derives it from the
    /// receive buffer the kernel granted, up to [`MAX_WINDOW`].
    pub max_in_flight: Option<usize>,
    /// How many times a dump is read at most: it is read again when the kernel marks it
    /// interrupted (`NLM_F_DUMP_INTR`) or busy, and to check it (see
    /// [`verify_dumps`](Self::verify_dumps)). Running out is [`Error::Interrupted`], except for
    /// the service dump's checks (see there). Default 5.
    pub dump_attempts: u32,
    /// Whether a dump that the kernel sent in more than one chunk is checked by reading it
    /// again (default `true`).
    ///
    /// Linux 6.1 resumes a service dump by position in a hash table shared by every network
    /// namespace, and a real-server dump by position in the service's list: when a service is
    /// added or removed between two chunks, even in another namespace, entries are silently
    /// skipped or sent twice, and `NLM_F_DUMP_INTR` is never set. Entries sent twice are always
    /// dropped; a skipped entry cannot be seen in one read.
    ///
    /// With this option the dump is read again on a second socket whose chunks end at other
    /// entries. For services, the reads (on that socket, with another chunk size each time) go
    /// on until every chunk boundary of the first read falls inside one chunk of a later read
    /// (which then has whatever the first read skipped there), or
    /// [`dump_attempts`](Self::dump_attempts) reads; services that the last read lacks but an
    /// earlier one had are read one by one (GET_SERVICE, pipelined): kept if they exist,
    /// dropped if not. Real servers cannot be read one by one, so their dump is read
    /// (alternately on both sockets) until a read comes in one chunk or two reads have the
    /// same entries, or [`Error::Interrupted`] after `dump_attempts` reads (only changes to
    /// that same service shift it).
    ///
    /// A chunk holds 7.5 KiB on the main socket (about 25 services or 20 real servers), so
    /// small tables are read once. The second socket is opened with the client, in the same
    /// namespace, and carries nothing else; its chunks are larger and change size from one
    /// check to the next, so that its chunk boundaries fall elsewhere.
    pub verify_dumps: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Some(DEFAULT_TIMEOUT),
            receive_buffer: DEFAULT_RECEIVE_BUFFER,
            max_in_flight: None,
            dump_attempts: 5,
            verify_dumps: true,
        }
    }
}

impl ClientOptions {
    /// Sets [`ClientOptions::timeout`].
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets [`ClientOptions::receive_buffer`].
    pub fn receive_buffer(mut self, bytes: usize) -> Self {
        self.receive_buffer = bytes;
        self
    }

    /// Sets [`ClientOptions::max_in_flight`] (at least 1).
    pub fn max_in_flight(mut self, requests: usize) -> Self {
        self.max_in_flight = Some(requests.max(1));
        self
    }

    /// Sets [`ClientOptions::verify_dumps`].
    pub fn verify_dumps(mut self, on: bool) -> Self {
        self.verify_dumps = on;
        self
    }

    /// Sets [`ClientOptions::dump_attempts`] (at least 1).
    pub fn dump_attempts(mut self, attempts: u32) -> Self {
        self.dump_attempts = attempts.max(1);
        self
    }
}

/// Which way a recorded buffer went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// A buffer the client sent (one or more requests).
    Sent,
    /// A datagram the client received (one or more messages).
    Received,
}

/// One buffer as it crossed the socket, recorded by [`Client::set_recording`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireRecord {
    /// Sent or received.
    pub direction: Direction,
    /// The bytes, exactly.
    pub bytes: Vec<u8>,
}

/// What a request expects back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A change: an `NLMSG_ERROR` acknowledgement (`NLM_F_ACK`).
    Ack,
    /// A doit read: reply messages, then the acknowledgement (`NLM_F_ACK`).
    Get,
    /// A dump: `NLM_F_MULTI` messages, then `NLMSG_DONE` (`NLM_F_DUMP`, no ACK: the kernel
    /// sends none for a dump that started).
    Dump,
}

/// Messages as the kernel sent them: each entry is a generic-netlink payload (the 4-byte genl
/// header, then the attributes), kept in one buffer and decoded only when read.
#[derive(Debug, Default, Clone)]
struct Entries {
    raw: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

impl Entries {
    fn push(&mut self, payload: &[u8]) {
        let start = self.raw.len();
        self.raw.extend_from_slice(payload);
        self.spans.push((start, self.raw.len()));
    }

    fn len(&self) -> usize {
        self.spans.len()
    }

    fn get(&self, i: usize) -> &[u8] {
        self.spans.get(i).and_then(|&(a, b)| self.raw.get(a..b)).unwrap_or_default()
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Keeps the entries whose flag is set.
    fn retain(&mut self, keep: &[bool]) {
        let mut k = keep.iter();
        self.spans.retain(|_| *k.next().unwrap_or(&true));
    }

    /// Each entry decoded by `f`.
    fn decode<T>(&self, f: impl Fn(&[u8]) -> Result<T>) -> Result<Vec<T>> {
        self.iter().map(f).collect()
    }

    /// The one entry of a GET reply, or a decode error naming the request.
    fn single(&self, what: &str) -> Result<&[u8]> {
        if self.len() != 1 {
            return Err(Error::Decode(format!("{what}: expected one reply message, got {}", self.len())));
        }
        Ok(self.get(0))
    }
}

/// One outstanding request and what came back for it.
#[derive(Debug)]
struct Slot {
    cmd: IpvsCmd,
    kind: Kind,
    entries: Entries,
    /// The chunk (datagram with data, counted from 0) each message came in.
    chunk_of: Vec<u32>,
    /// How many datagrams carried data for this request: for a dump, how many times the
    /// kernel's dump function produced entries.
    chunks: u32,
    interrupted: bool,
    busy: bool,
    result: Option<Result<()>>,
}

impl Slot {
    fn new(cmd: IpvsCmd, kind: Kind) -> Self {
        Slot {
            cmd,
            kind,
            entries: Entries::default(),
            chunk_of: Vec::new(),
            chunks: 0,
            interrupted: false,
            busy: false,
            result: None,
        }
    }

    fn into_reply(self) -> Result<Reply> {
        match self.result {
            Some(Ok(())) => Ok(Reply { entries: self.entries, chunk_of: self.chunk_of, chunks: self.chunks }),
            Some(Err(e)) => Err(e),
            None => Err(Error::Timeout),
        }
    }

    fn into_result(self) -> Result<Entries> {
        match self.result {
            Some(Ok(())) => Ok(self.entries),
            Some(Err(e)) => Err(e),
            None => Err(Error::Timeout),
        }
    }
}

/// What a GET or a dump brought back.
#[derive(Debug, Default)]
struct Reply {
    entries: Entries,
    /// The chunk each message came in.
    chunk_of: Vec<u32>,
    /// How many chunks carried messages.
    chunks: u32,
}

impl Reply {
    /// Drops the entries a dump sent twice, keeping the first.
    fn dedupe(&mut self) {
        let mut seen = std::collections::HashSet::new();
        let keep: Vec<bool> = self.entries.iter().map(|m| seen.insert(dump_identity(m))).collect();
        self.entries.retain(&keep);
        let mut k = keep.iter();
        self.chunk_of.retain(|_| *k.next().unwrap_or(&true));
    }

    /// The chunk boundaries: (last entry of a chunk, first entry of the next), by identity.
    fn boundaries(&self) -> Vec<(Identity, Identity)> {
        let mut out = Vec::new();
        for i in 1..self.entries.len() {
            if self.chunk_of.get(i) != self.chunk_of.get(i - 1) {
                out.push((dump_identity(self.entries.get(i - 1)), dump_identity(self.entries.get(i))));
            }
        }
        out
    }

    /// Where each entry is: identity → (index, chunk).
    fn positions(&self) -> std::collections::HashMap<Identity, (usize, u32)> {
        self.entries
            .iter()
            .zip(&self.chunk_of)
            .enumerate()
            .map(|(i, (m, c))| (dump_identity(m), (i, *c)))
            .collect()
    }
}

/// Whether `a` comes before `b` in one chunk, given a reply's [`Reply::positions`].
fn same_chunk(
    positions: &std::collections::HashMap<Identity, (usize, u32)>,
    a: &Identity,
    b: &Identity,
) -> bool {
    match (positions.get(a), positions.get(b)) {
        (Some((i, ci)), Some((j, cj))) => i < j && ci == cj,
        _ => false,
    }
}

/// A connection to the kernel's IPVS over generic netlink. See the [module docs](self).
///
/// ```no_run
/// use ipvs_core::{Backend, ServiceKey};
/// use ipvs_sys_netlink::Client;
///
/// let mut ipvs = Client::new()?;
/// for (svc, dests) in ipvs.services_with_destinations()? {
///     println!("{} ({} real servers)", svc.service, dests.len());
/// }
/// let _ = ipvs.service(&ServiceKey::tcp("10.1.2.3".parse().unwrap(), 80));
/// # Ok::<(), ipvs_core::Error>(())
/// ```
#[derive(Debug)]
pub struct Client {
    /// The socket every request goes through.
    main: Channel,
    /// A second socket, opened with the first (so in the same namespace), used only to read a
    /// large dump again with its chunk boundaries elsewhere; see [`ClientOptions::verify_dumps`].
    verify: Option<Channel>,
    family_id: u16,
    seq: u32,
    opts: ClientOptions,
    window: usize,
    get_window: usize,
    receive_buffer: usize,
    tx: Vec<u8>,
    recording: Option<Vec<WireRecord>>,
    /// The namespace the client was opened in with [`Client::in_netns`] (its own handle), where
    /// the connection table is read; `None`: the opening thread's, read from the calling one.
    netns: Option<NetNs>,
}

/// A socket and its receive buffer.
#[derive(Debug)]
struct Channel {
    sock: NlSocket,
    rx: Vec<u8>,
}

impl Channel {
    fn open(opts: &ClientOptions, rx_len: usize) -> Result<(Channel, usize)> {
        let sock = NlSocket::open().map_err(|e| errno::io(&e, "opening a generic netlink socket"))?;
        // Both are best effort: kernels before 4.2 / 4.12 lack them and still work.
        let _ = sock.set_cap_ack();
        let _ = sock.set_ext_ack();
        let granted = sock
            .set_receive_buffer(opts.receive_buffer)
            .map_err(|e| errno::io(&e, "setting the netlink receive buffer"))?;
        sock.set_timeout(opts.timeout).map_err(|e| errno::io(&e, "setting the netlink receive timeout"))?;
        Ok((Channel { sock, rx: vec![0; rx_len] }, granted))
    }
}

/// Which socket a request goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum On {
    Main,
    Verify,
}

/// The kernel backend under the name the rest of the workspace uses for [`Backend`]
/// implementations. The same type as [`Client`].
pub type NetlinkBackend = Client;

impl Client {
    /// Opens a client with the default [`ClientOptions`] in the calling thread's network
    /// namespace and resolves the IPVS family.
    pub fn new() -> Result<Self> {
        Self::with_options(ClientOptions::default())
    }

    /// Opens a client with `opts` in the calling thread's network namespace.
    pub fn with_options(opts: ClientOptions) -> Result<Self> {
        // The kernel sizes a dump's chunks by the largest buffer ever passed to recvmsg on the
        // socket (at least a page, at most 32 KiB): the main socket reads with main_chunk(),
        // the verifying one with VERIFY_CHUNK and more, so their chunks end at different entries.
        let (main, receive_buffer) = Channel::open(&opts, socket::main_chunk())?;
        let verify = if opts.verify_dumps { Some(Channel::open(&opts, VERIFY_CHUNK)?.0) } else { None };
        let window = opts.max_in_flight.unwrap_or((receive_buffer / ACK_BUDGET).clamp(1, MAX_WINDOW)).max(1);
        let get_window = (receive_buffer / GET_BUDGET).clamp(1, MAX_WINDOW);
        let mut client = Client {
            main,
            verify,
            family_id: 0,
            seq: 0,
            opts,
            window,
            get_window,
            receive_buffer,
            tx: Vec::with_capacity(4096),
            recording: None,
            netns: None,
        };
        client.family_id = client.resolve_family()?;
        Ok(client)
    }

    /// Opens a client with `opts` in the network namespace `ns`, without changing the calling
    /// thread's namespace: a short-lived thread enters `ns` (`setns(2)`), opens the client
    /// there (as [`Client::with_options`] does) and ends. The client's sockets stay in `ns` for
    /// their whole life, from whichever thread they are used. The client keeps its own handle
    /// on `ns` (see [`Client::netns`]), so [`Client::connections`] and
    /// [`Client::sync_connections`] read `ns`'s connection table too, and `ns` stays alive as
    /// long as the client does.
    ///
    /// Entering `ns` needs `CAP_SYS_ADMIN` (and IPVS needs `CAP_NET_ADMIN`, as always): without
    /// it, [`Error::PermissionDenied`]. The errors of opening a client in the caller's
    /// namespace are the same here.
    ///
    /// ```no_run
    /// use ipvs_core::{Backend, Scheduler, Service, ServiceKey};
    /// use ipvs_sys_netlink::{Client, ClientOptions, NetNs};
    ///
    /// // ip netns exec blue ipvsadm -A -t 10.1.2.3:80 -s wrr
    /// let blue = NetNs::named("blue")?;
    /// let mut ipvs = Client::in_netns(&blue, ClientOptions::default())?;
    /// let vip = ServiceKey::tcp("10.1.2.3".parse().unwrap(), 80);
    /// ipvs.add_service(&Service::new(vip).with_scheduler(Scheduler::Wrr))?;
    /// # Ok::<(), ipvs_core::Error>(())
    /// ```
    pub fn in_netns(ns: &NetNs, opts: ClientOptions) -> Result<Self> {
        let handle = ns.try_clone()?;
        let mut client = ns.run(move || Client::with_options(opts))??;
        client.netns = Some(handle);
        Ok(client)
    }

    /// The namespace the client was opened in with [`Client::in_netns`]; `None` for a client
    /// opened with [`Client::new`] or [`Client::with_options`] (it belongs to the namespace of
    /// the thread that opened it).
    ///
    /// ```no_run
    /// use ipvs_sys_netlink::{Client, ClientOptions, NetNs};
    ///
    /// let blue = NetNs::named("blue")?;
    /// let ipvs = Client::in_netns(&blue, ClientOptions::default())?;
    /// assert_eq!(ipvs.netns().map(NetNs::inode), Some(blue.inode()));
    /// assert!(Client::new()?.netns().is_none());
    /// # Ok::<(), ipvs_core::Error>(())
    /// ```
    pub fn netns(&self) -> Option<&NetNs> {
        self.netns.as_ref()
    }

    /// The IPVS family id the kernel assigned (it changes when `ip_vs` is reloaded).
    pub fn family_id(&self) -> u16 {
        self.family_id
    }

    /// The netlink port id of the client's socket (the one every request goes through).
    pub fn port_id(&self) -> u32 {
        self.main.sock.port()
    }

    /// The most requests [`Backend::apply_all`] puts in one `sendmsg`.
    pub fn window(&self) -> usize {
        self.window
    }

    /// The receive buffer the kernel granted, in bytes (`SO_RCVBUF` as read back).
    pub fn receive_buffer(&self) -> usize {
        self.receive_buffer
    }

    /// The options the client was opened with (with the current timeout).
    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    /// Changes how long each wait for the kernel may take; `None` waits forever.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) -> Result<()> {
        for chan in std::iter::once(&self.main).chain(self.verify.as_ref()) {
            chan.sock
                .set_timeout(timeout)
                .map_err(|e| errno::io(&e, "setting the netlink receive timeout"))?;
        }
        self.opts.timeout = timeout;
        Ok(())
    }

    /// Starts (`true`) or stops recording every buffer sent and datagram received, for
    /// debugging and for capturing golden bytes. Stopping discards what was recorded.
    pub fn set_recording(&mut self, on: bool) {
        self.recording = if on { Some(self.recording.take().unwrap_or_default()) } else { None };
    }

    /// Returns what was recorded since the last call, and keeps recording.
    pub fn take_recording(&mut self) -> Vec<WireRecord> {
        self.recording.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// One service and its real servers in one round trip: a GET_SERVICE request and a GET_DEST
    /// dump sent together in one `sendmsg`. [`Error::NotFound`]`(Service)` if there is no such
    /// service.
    pub fn service_with_destinations(
        &mut self,
        key: &ServiceKey,
    ) -> Result<(ServiceStatus, Vec<DestinationStatus>)> {
        let id = vec![IpvsAttr::Service(convert::service_key_attrs(key))];
        let get = IpvsMessage::new(IpvsCmd::GetService, id.clone());
        let dump = IpvsMessage::new(IpvsCmd::GetDest, id);
        let mut replies = self.read(On::Main, &[(&get, Kind::Get), (&dump, Kind::Dump)])?.into_iter();
        let svc = convert::service_status_from_genl(
            replies.next().unwrap_or_default().entries.single("GET_SERVICE")?,
        )?;
        let dests = self.settle(&dump, replies.next().unwrap_or_default())?;
        let dests = dests.decode(|m| convert::dest_status_from_genl(m, key.family()))?;
        Ok((svc, dests))
    }

    /// Every service with its real servers: one service dump, then one destination dump per
    /// service, all on this socket (the netlink interface has no combined dump). Not an atomic
    /// snapshot: a service deleted between the two dumps shows no real servers. See
    /// [`Client::for_each_service_with_destinations`] to go through a large table without
    /// holding all of it.
    pub fn services_with_destinations(&mut self) -> Result<Vec<(ServiceStatus, Vec<DestinationStatus>)>> {
        let mut out = Vec::new();
        self.for_each_service_with_destinations(|svc, dests| {
            out.push((svc, dests));
            ControlFlow::Continue(())
        })?;
        Ok(out)
    }

    /// Streams the table: reads the services (one dump), then hands each service with its
    /// real servers to `f`, reading the real servers of one service at a time, so only the
    /// service list and one service's real servers are in memory at once, whatever the size of
    /// the table. `f` returning [`ControlFlow::Break`] stops the walk early.
    ///
    /// ```no_run
    /// use std::ops::ControlFlow;
    /// use ipvs_sys_netlink::Client;
    ///
    /// let mut ipvs = Client::new()?;
    /// let mut real_servers = 0;
    /// ipvs.for_each_service_with_destinations(|_svc, dests| {
    ///     real_servers += dests.len();
    ///     ControlFlow::Continue(())
    /// })?;
    /// println!("{real_servers} real servers");
    /// # Ok::<(), ipvs_core::Error>(())
    /// ```
    pub fn for_each_service_with_destinations(
        &mut self,
        mut f: impl FnMut(ServiceStatus, Vec<DestinationStatus>) -> ControlFlow<()>,
    ) -> Result<()> {
        for svc in self.services()? {
            let dests = self.dest_dump(&svc.service.key)?;
            if f(svc, dests).is_break() {
                break;
            }
        }
        Ok(())
    }

    /// The connection table (connections and persistence templates), parsed from
    /// `/proc/thread-self/net/ip_vs_conn` by [`ipvs_core::ipvsadm::conn::parse_conn`]. The
    /// netlink interface has no command for it.
    ///
    /// Which namespace's table: for a client opened with [`Client::in_netns`], that
    /// namespace's (the file is read on a short-lived thread that enters it). Otherwise the
    /// calling thread's: `/proc/net` follows the process's *main* thread's namespace,
    /// `/proc/thread-self/net` the calling thread's, which is the client's when the client is
    /// used from the thread that opened it (or from any thread in the same namespace). Kernels
    /// before 3.17 have no `thread-self`; there `/proc/self/net` is read.
    ///
    /// ```no_run
    /// use ipvs_sys_netlink::{Client, ClientOptions, NetNs};
    ///
    /// let ipvs = Client::in_netns(&NetNs::named("blue")?, ClientOptions::default())?;
    /// for c in ipvs.connections()? {
    ///     println!("{c:?}");
    /// }
    /// # Ok::<(), ipvs_core::Error>(())
    /// ```
    pub fn connections(&self) -> Result<Vec<Connection>> {
        let text = self.connections_text()?;
        parse_conn(&text).map_err(|e| Error::Decode(format!("ip_vs_conn {e}")))
    }

    /// The raw text behind [`Client::connections`], from the same namespace.
    ///
    /// ```no_run
    /// use ipvs_sys_netlink::Client;
    ///
    /// print!("{}", Client::new()?.connections_text()?); // as `cat /proc/net/ip_vs_conn`
    /// # Ok::<(), ipvs_core::Error>(())
    /// ```
    pub fn connections_text(&self) -> Result<String> {
        self.read_proc_net("ip_vs_conn")
    }

    /// The connection table with each entry's origin (made here or received from a sync
    /// master), parsed from `/proc/thread-self/net/ip_vs_conn_sync`. Same namespace rules as
    /// [`Client::connections`].
    pub fn sync_connections(&self) -> Result<Vec<SyncConnection>> {
        let text = self.read_proc_net("ip_vs_conn_sync")?;
        parse_conn_sync(&text).map_err(|e| Error::Decode(format!("ip_vs_conn_sync {e}")))
    }

    /// Reads `/proc/thread-self/net/<name>` of the client's namespace: on a thread that enters
    /// it for a client opened with [`Client::in_netns`], on the calling thread otherwise.
    fn read_proc_net(&self, name: &str) -> Result<String> {
        match &self.netns {
            Some(ns) => ns.run(|| read_proc_net(name))?,
            None => read_proc_net(name),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Transport
    // -----------------------------------------------------------------------------------------

    fn next_seq(&mut self) -> u32 {
        // Skip 0 so that a sequence number never looks like an unset one.
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    /// Resolves the `"IPVS"` family with the generic-netlink controller.
    fn resolve_family(&mut self) -> Result<u16> {
        const CONTEXT: &str = "resolving the IPVS generic netlink family";
        let seq = self.next_seq();
        let req = encode_get_family_request(seq, 0, 0);
        let chan = &mut self.main;
        chan.sock.send(&req).map_err(|e| errno::io(&e, CONTEXT))?;
        loop {
            let len = match chan.sock.recv(&mut chan.rx, false).map_err(|e| errno::io(&e, CONTEXT))? {
                Received::WouldBlock => return Err(Error::Timeout),
                Received::Datagram { sender: 0, len } => len,
                Received::Datagram { .. } => continue,
            };
            for frame in Frames::new(&chan.rx[..len]) {
                let frame = frame.map_err(|e| Error::Decode(e.to_string()))?;
                if frame.header.sequence_number != seq || frame.header.port_number != chan.sock.port() {
                    continue;
                }
                match decode_family_reply(&frame).map_err(|e| Error::Decode(e.to_string()))? {
                    FamilyReply::Family(info) => return Ok(info.id),
                    // genetlink answers ENOENT when the family is not registered even after it
                    // tried request_module("net-pf-16-proto-16-family-IPVS").
                    FamilyReply::Error(e) => {
                        return Err(match e.code.map(|c| -c.get()) {
                            Some(libc::ENOENT) => Error::ModuleMissing,
                            Some(errno) => errno::os(errno, CONTEXT, None),
                            None => Error::ModuleMissing,
                        })
                    }
                    _ => {}
                }
            }
        }
    }

    /// Sends `reqs` in one buffer through socket `on` and reads until each has its answer.
    /// Returns one slot per request and, if the transport failed, that error (already put in
    /// every unanswered slot).
    fn exchange(&mut self, on: On, reqs: &[(&IpvsMessage, Kind)]) -> (Vec<Slot>, Option<Error>) {
        let mut slots: Vec<Slot> = reqs.iter().map(|(m, k)| Slot::new(m.cmd, *k)).collect();
        let mut tx = std::mem::take(&mut self.tx);
        tx.clear();
        let first = self.seq.wrapping_add(1).max(1);
        for (msg, kind) in reqs {
            let sequence = self.next_seq();
            let flags = match kind {
                Kind::Ack | Kind::Get => NLM_F_ACK,
                Kind::Dump => NLM_F_DUMP,
            };
            let header = RequestHeader { family_id: self.family_id, flags, sequence, port: 0 };
            if let Err(e) = encode_request_into(&mut tx, msg, header) {
                self.tx = tx;
                return fail_all(slots, Error::Decode(format!("cannot encode the request: {e}")));
            }
        }
        record(&mut self.recording, Direction::Sent, &tx);
        let family_id = self.family_id;
        let recording = &mut self.recording;
        let chan = match (on, self.verify.as_mut()) {
            (On::Verify, Some(v)) => v,
            _ => &mut self.main,
        };
        let sent = chan.sock.send(&tx);
        self.tx = tx;
        if let Err(e) = sent {
            let cmd = reqs.first().map_or(IpvsCmd::Other(0), |(m, _)| m.cmd);
            return fail_all(slots, errno::io(&e, errno::describe(cmd)));
        }

        let mut open = slots.len();
        let mut overrun = false;
        while open > 0 {
            let len = match chan.sock.recv(&mut chan.rx, overrun) {
                Ok(Received::Datagram { len, sender: 0 }) => len,
                // Not from the kernel: another process wrote to our port.
                Ok(Received::Datagram { .. }) => continue,
                Ok(Received::WouldBlock) if overrun => {
                    let e = errno::os(
                        libc::ENOBUFS,
                        "receiving IPVS replies",
                        Some("the kernel dropped replies: the receive buffer overflowed"),
                    );
                    return fail_open(slots, e);
                }
                Ok(Received::WouldBlock) => return fail_open(slots, Error::Timeout),
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    // Some replies were dropped. Every reply to this buffer was queued while the
                    // kernel processed the sendmsg, so read what is left without waiting; the
                    // requests whose reply is missing get ENOBUFS.
                    overrun = true;
                    continue;
                }
                Err(e) => return fail_open(slots, errno::io(&e, "receiving IPVS replies")),
            };
            record(recording, Direction::Received, &chan.rx[..len]);
            if let Err(e) =
                dispatch(&chan.rx[..len], family_id, chan.sock.port(), first, &mut slots, &mut open)
            {
                return fail_open(slots, e);
            }
        }
        (slots, None)
    }

    /// Reads through `reqs` (GET requests and dumps) on socket `on`, retrying the whole
    /// exchange when a dump was interrupted or refused as busy. Entries a dump sent twice are
    /// dropped. Returns what each request brought back, or the first request's error.
    fn read(&mut self, on: On, reqs: &[(&IpvsMessage, Kind)]) -> Result<Vec<Reply>> {
        let attempts = self.opts.dump_attempts.max(1);
        for _ in 0..attempts {
            let (slots, transport) = self.exchange(on, reqs);
            if let Some(e) = transport {
                return Err(e);
            }
            if slots.iter().any(|s| s.busy) {
                // EBUSY: a dump of an earlier request (one that timed out) is still running on
                // this socket. Read it to its end, then try again.
                self.drain_stale_dump(on)?;
                continue;
            }
            // An error (e.g. ESRCH on the GET) is final; an interrupted dump is retried.
            let interrupted = slots.iter().any(|s| s.interrupted && matches!(s.result, Some(Ok(()))));
            let kinds: Vec<Kind> = slots.iter().map(|s| s.kind).collect();
            let mut replies = slots.into_iter().map(Slot::into_reply).collect::<Result<Vec<_>>>()?;
            if interrupted {
                continue;
            }
            // The 6.1 dumps resume by position (see ClientOptions::verify_dumps): an entry sent
            // twice is such a shift, and harmless; keep the first copy.
            for (reply, kind) in replies.iter_mut().zip(&kinds) {
                // One chunk was produced in one go and cannot repeat an entry.
                if *kind == Kind::Dump && reply.chunks > 1 {
                    reply.dedupe();
                }
            }
            return Ok(replies);
        }
        Err(Error::Interrupted { attempts })
    }

    /// Makes sure a dump that came in more than one chunk (`first`, read on the main socket)
    /// is whole, for dumps whose entries cannot be read one by one (real servers): it is read
    /// again, alternating the verifying and the main socket (their chunks end at different
    /// entries), until a read comes in one chunk (produced in one go under the IPVS mutex, so
    /// whole) or two reads have the same entries.
    fn settle(&mut self, req: &IpvsMessage, first: Reply) -> Result<Entries> {
        if first.chunks <= 1 || self.verify.is_none() {
            return Ok(first.entries);
        }
        let attempts = self.opts.dump_attempts.max(2);
        let mut current = first.entries;
        let mut on = On::Verify;
        for _ in 1..attempts {
            let again = self.read(on, &[(req, Kind::Dump)])?.pop().unwrap_or_default();
            // One chunk was produced in one go; two reads that agree were not shifted.
            if again.chunks <= 1 || identities(&again.entries) == identities(&current) {
                return Ok(again.entries);
            }
            current = again.entries;
            on = if on == On::Verify { On::Main } else { On::Verify };
        }
        Err(Error::Interrupted { attempts })
    }

    /// Gives the verifying socket chunks of another size than in its last read (and than the
    /// main socket's), so that its next dump ends its chunks at other entries. The kernel sizes
    /// a socket's dump chunks by the largest buffer ever passed to `recvmsg` on it, so the size
    /// can only grow: from [`VERIFY_CHUNK`] in steps of [`VERIFY_CHUNK_STEP`] up to
    /// [`VERIFY_CHUNK_MAX`], then the socket is replaced by a fresh one (opened in the client's
    /// namespace). Called after each service-dump check.
    fn next_verify_chunk(&mut self) -> Result<()> {
        let Some(v) = self.verify.as_mut() else { return Ok(()) };
        let next = v.rx.len() + VERIFY_CHUNK_STEP;
        if next <= VERIFY_CHUNK_MAX {
            v.rx.resize(next, 0);
            return Ok(());
        }
        // The fresh socket must be in the client's namespace, not the calling thread's.
        let opts = &self.opts;
        *v = match &self.netns {
            Some(ns) => ns.run(|| Channel::open(opts, VERIFY_CHUNK))??.0,
            None => Channel::open(opts, VERIFY_CHUNK)?.0,
        };
        Ok(())
    }

    /// The service dump, whole: see [`ClientOptions::verify_dumps`].
    ///
    /// A service the kernel skipped at a chunk boundary of the first read lies between the two
    /// entries around that boundary. A later read that has both of them in one chunk (produced
    /// in one go under the IPVS mutex) has every service that lies between them. So the dump is
    /// read again on the verifying socket, with other chunk sizes each time (see
    /// [`Client::next_verify_chunk`]), until every boundary of the first read is covered that
    /// way (up to [`ClientOptions::dump_attempts`] reads in all). Services that the last read
    /// lacks but an earlier one had are then read one by one (GET_SERVICE, pipelined): kept if
    /// they exist, dropped if not. Only the last read is decoded in full.
    fn service_dump(&mut self) -> Result<Vec<ServiceStatus>> {
        let req = IpvsMessage::new(IpvsCmd::GetService, vec![]);
        let first = self.read(On::Main, &[(&req, Kind::Dump)])?.pop().unwrap_or_default();
        if first.chunks <= 1 || self.verify.is_none() {
            return first.entries.decode(convert::service_status_from_genl);
        }
        let mut uncovered = first.boundaries();
        let mut extra: Vec<Vec<u8>> = Vec::new(); // seen in an earlier read only, so far
        let mut last = first;
        let attempts = self.opts.dump_attempts.max(2);
        for _ in 1..attempts {
            let again = self.read(On::Verify, &[(&req, Kind::Dump)])?.pop().unwrap_or_default();
            self.next_verify_chunk()?;
            let positions = again.positions();
            uncovered.retain(|(a, b)| !same_chunk(&positions, a, b));
            // Keep what earlier reads had and this one lacks, to be checked at the end.
            extra.retain(|m| !positions.contains_key(&dump_identity(m)));
            extra.extend(
                last.entries
                    .iter()
                    .filter(|m| !positions.contains_key(&dump_identity(m)))
                    .map(<[u8]>::to_vec),
            );
            last = again;
            if uncovered.is_empty() {
                break;
            }
        }
        let mut out = last.entries.decode(convert::service_status_from_genl)?;
        if extra.is_empty() {
            return Ok(out);
        }
        // Services an earlier read had and the last one lacks: skipped by the last read, or
        // deleted meanwhile. Ask for each.
        let mut ids = std::collections::HashSet::new();
        extra.retain(|m| ids.insert(dump_identity(m)));
        let gets: Vec<IpvsMessage> = extra
            .iter()
            .filter_map(|m| convert::service_status_from_genl(m).ok())
            .map(|s| {
                IpvsMessage::new(
                    IpvsCmd::GetService,
                    vec![IpvsAttr::Service(convert::service_key_attrs(&s.service.key))],
                )
            })
            .collect();
        for window in gets.chunks(self.get_window) {
            let reqs: Vec<(&IpvsMessage, Kind)> = window.iter().map(|m| (m, Kind::Get)).collect();
            let (slots, transport) = self.exchange(On::Main, &reqs);
            if let Some(e) = transport {
                return Err(e);
            }
            for slot in slots {
                match slot.into_result() {
                    Ok(entries) => {
                        out.push(convert::service_status_from_genl(entries.single("GET_SERVICE")?)?)
                    }
                    Err(Error::NotFound(ipvs_core::Object::Service)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(out)
    }

    /// Discards messages on socket `on` until an `NLMSG_DONE` or `NLMSG_ERROR` ends the stale
    /// dump.
    fn drain_stale_dump(&mut self, on: On) -> Result<()> {
        let chan = match (on, self.verify.as_mut()) {
            (On::Verify, Some(v)) => v,
            _ => &mut self.main,
        };
        loop {
            let len = match chan.sock.recv(&mut chan.rx, false) {
                Ok(Received::Datagram { len, sender: 0 }) => len,
                Ok(Received::Datagram { .. }) => continue,
                Ok(Received::WouldBlock) => return Err(Error::Timeout),
                Err(e) => return Err(errno::io(&e, "receiving IPVS replies")),
            };
            let ended = Frames::new(&chan.rx[..len])
                .filter_map(|f| f.ok())
                .any(|f| matches!(f.header.message_type, NLMSG_DONE | NLMSG_ERROR));
            if ended {
                return Ok(());
            }
        }
    }

    /// A dump whose entries cannot be read one by one (real servers, daemons), settled.
    fn dump(&mut self, msg: &IpvsMessage) -> Result<Entries> {
        let first = self.read(On::Main, &[(msg, Kind::Dump)])?.pop().unwrap_or_default();
        self.settle(msg, first)
    }

    /// A GET request's one reply message, decoded.
    fn get(&mut self, msg: &IpvsMessage) -> Result<IpvsMessage> {
        let name = errno::describe(msg.cmd);
        let reply = self.read(On::Main, &[(msg, Kind::Get)])?.pop().unwrap_or_default();
        convert::message_from_genl(reply.entries.single(name)?)
    }

    fn dest_dump(&mut self, key: &ServiceKey) -> Result<Vec<DestinationStatus>> {
        let dump =
            IpvsMessage::new(IpvsCmd::GetDest, vec![IpvsAttr::Service(convert::service_key_attrs(key))]);
        self.dump(&dump)?.decode(|m| convert::dest_status_from_genl(m, key.family()))
    }

    /// Sends validated operations as one window and returns one result per operation, plus the
    /// transport error if the transport failed.
    fn send_window(&mut self, msgs: &[IpvsMessage]) -> (Vec<Result<()>>, Option<Error>) {
        let reqs: Vec<(&IpvsMessage, Kind)> = msgs.iter().map(|m| (m, Kind::Ack)).collect();
        let (slots, transport) = self.exchange(On::Main, &reqs);
        (slots.into_iter().map(|s| s.into_result().map(drop)).collect(), transport)
    }
}

/// Reads `/proc/thread-self/net/<name>` (the calling thread's namespace), or
/// `/proc/self/net/<name>` on kernels without `thread-self` (before 3.17).
fn read_proc_net(name: &str) -> Result<String> {
    const CONTEXT: &str = "reading the IPVS connection table under /proc/thread-self/net";
    match std::fs::read_to_string(format!("/proc/thread-self/net/{name}")) {
        Ok(s) => Ok(s),
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                && !std::path::Path::new("/proc/thread-self").exists() =>
        {
            std::fs::read_to_string(format!("/proc/self/net/{name}")).map_err(|e| errno::io(&e, CONTEXT))
        }
        Err(e) => Err(errno::io(&e, CONTEXT)),
    }
}

fn record(recording: &mut Option<Vec<WireRecord>>, direction: Direction, bytes: &[u8]) {
    if let Some(r) = recording.as_mut() {
        r.push(WireRecord { direction, bytes: bytes.to_vec() });
    }
}

fn fail_all(mut slots: Vec<Slot>, e: Error) -> (Vec<Slot>, Option<Error>) {
    for s in &mut slots {
        s.result = Some(Err(e.clone()));
    }
    (slots, Some(e))
}

fn fail_open(mut slots: Vec<Slot>, e: Error) -> (Vec<Slot>, Option<Error>) {
    for s in slots.iter_mut().filter(|s| s.result.is_none()) {
        s.result = Some(Err(e.clone()));
    }
    (slots, Some(e))
}

/// Reads the code and the extended-ack text of an `NLMSG_ERROR` payload: `i32 error`, the
/// request's header (just the header when `NLM_F_CAPPED`, else the whole request), then TLVs
/// when `NLM_F_ACK_TLVS`.
fn parse_error(payload: &[u8], flags: u16) -> Option<(i32, Option<String>)> {
    let code = i32::from_ne_bytes(payload.get(..4)?.try_into().ok()?);
    let rest = payload.get(4..)?;
    let embedded = if flags & NLM_F_CAPPED != 0 {
        16
    } else {
        let len = u32::from_ne_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        len.checked_add(3)? & !3
    };
    let mut detail = None;
    if flags & NLM_F_ACK_TLVS != 0 {
        for nla in NlasIterator::new(rest.get(embedded..).unwrap_or_default()).flatten() {
            if nla.kind() == NLMSGERR_ATTR_MSG {
                let v = nla.value();
                let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
                detail = Some(String::from_utf8_lossy(&v[..end]).into_owned());
            }
        }
    }
    Some((code, detail))
}

/// Hands every message of a datagram to the slot it answers. Messages for another port or
/// for no outstanding request are skipped. Returns an error only when the datagram cannot be
/// split into messages.
fn dispatch(
    buf: &[u8],
    family_id: u16,
    port: u32,
    first_seq: u32,
    slots: &mut [Slot],
    open: &mut usize,
) -> Result<()> {
    let mut with_data: Vec<usize> = Vec::new();
    for frame in Frames::new(buf) {
        let frame = frame.map_err(|e| Error::Decode(e.to_string()))?;
        let h = frame.header;
        if h.port_number != port {
            continue;
        }
        let idx = h.sequence_number.wrapping_sub(first_seq) as usize;
        let Some(slot) = slots.get_mut(idx).filter(|s| s.result.is_none()) else {
            continue; // stale: an earlier request's late reply
        };
        // The 6.1 IPVS dumps never set it (they keep no generation counter), but a dump that
        // changed under us must not pass for a consistent one. Checked on DONE too.
        if h.flags & NLM_F_DUMP_INTR != 0 {
            slot.interrupted = true;
        }
        match h.message_type {
            NLMSG_ERROR => {
                let Some((code, detail)) = parse_error(frame.payload(), h.flags) else {
                    slot.result = Some(Err(Error::Decode("NLMSG_ERROR shorter than its error code".into())));
                    *open -= 1;
                    continue;
                };
                let r = match code {
                    0 => Ok(()),
                    c if c < 0 => {
                        let errno = c.saturating_neg();
                        if slot.kind == Kind::Dump && errno == libc::EBUSY {
                            slot.busy = true;
                        }
                        Err(errno::map(slot.cmd, errno, detail.as_deref()))
                    }
                    c => Err(Error::Decode(format!("NLMSG_ERROR with positive code {c}"))),
                };
                slot.result = Some(r);
                *open -= 1;
            }
            NLMSG_DONE => {
                // The DONE of a dump carries the dump's final status (negative errno if it
                // failed midway).
                let code =
                    frame.payload().get(..4).and_then(|b| b.try_into().ok()).map_or(0, i32::from_ne_bytes);
                let r =
                    if code < 0 { Err(errno::map(slot.cmd, code.saturating_neg(), None)) } else { Ok(()) };
                slot.result = Some(r);
                *open -= 1;
            }
            t if t == family_id => {
                // Kept as bytes; decoded when read (see Entries).
                slot.entries.push(frame.payload());
                slot.chunk_of.push(slot.chunks);
                if !with_data.contains(&idx) {
                    with_data.push(idx);
                }
            }
            // NLMSG_NOOP, NLMSG_OVERRUN, other families: nothing to do.
            _ => {}
        }
    }
    for idx in with_data {
        if let Some(slot) = slots.get_mut(idx) {
            slot.chunks += 1;
        }
    }
    Ok(())
}

/// What identifies a dump entry, read from the kernel's bytes: the service's identifying
/// attributes, or the real server's family, address and port, or the whole entry (daemons).
/// Entries are compared by identity only, so that changing counters do not make two reads of
/// the same table differ.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Identity {
    Service { af: u16, protocol: u16, addr: [u8; 16], port: u16, fwmark: u32 },
    Dest { af: u16, addr: [u8; 16], port: u16 },
    Other(Vec<u8>),
}

fn dump_identity(payload: &[u8]) -> Identity {
    use crate::codec::consts::*;
    fn value<const N: usize>(v: &[u8]) -> [u8; N] {
        let mut out = [0; N];
        let n = v.len().min(N);
        out[..n].copy_from_slice(&v[..n]);
        out
    }
    let attrs = payload.get(crate::codec::GENL_HDRLEN..).unwrap_or_default();
    let walk =
        |b| convert::walk_attrs(b).map_while(|a| a.ok()).map(|(k, a)| (k, a.get(4..).unwrap_or_default()));
    for (kind, nest) in walk(attrs) {
        match kind {
            IPVS_CMD_ATTR_SERVICE => {
                let (mut af, mut protocol, mut addr, mut port, mut fwmark) = (0, 0, [0; 16], 0, 0);
                for (k, v) in walk(nest) {
                    match k {
                        IPVS_SVC_ATTR_AF => af = u16::from_ne_bytes(value(v)),
                        IPVS_SVC_ATTR_PROTOCOL => protocol = u16::from_ne_bytes(value(v)),
                        IPVS_SVC_ATTR_ADDR => addr = value(v),
                        IPVS_SVC_ATTR_PORT => port = u16::from_ne_bytes(value(v)),
                        IPVS_SVC_ATTR_FWMARK => fwmark = u32::from_ne_bytes(value(v)),
                        _ => {}
                    }
                }
                return Identity::Service { af, protocol, addr, port, fwmark };
            }
            IPVS_CMD_ATTR_DEST => {
                let (mut af, mut addr, mut port) = (0, [0; 16], 0);
                for (k, v) in walk(nest) {
                    match k {
                        IPVS_DEST_ATTR_ADDR_FAMILY => af = u16::from_ne_bytes(value(v)),
                        IPVS_DEST_ATTR_ADDR => addr = value(v),
                        IPVS_DEST_ATTR_PORT => port = u16::from_ne_bytes(value(v)),
                        _ => {}
                    }
                }
                return Identity::Dest { af, addr, port };
            }
            _ => {}
        }
    }
    Identity::Other(payload.to_vec())
}

/// The identities of a dump's entries, as a set.
fn identities(entries: &Entries) -> std::collections::HashSet<Identity> {
    entries.iter().map(dump_identity).collect()
}

impl Backend for Client {
    fn info(&mut self) -> Result<Info> {
        let reply = self.get(&IpvsMessage::new(IpvsCmd::GetInfo, vec![]))?;
        convert::info_from_message(&reply)
    }

    fn services(&mut self) -> Result<Vec<ServiceStatus>> {
        self.service_dump()
    }

    fn service(&mut self, key: &ServiceKey) -> Result<ServiceStatus> {
        let req =
            IpvsMessage::new(IpvsCmd::GetService, vec![IpvsAttr::Service(convert::service_key_attrs(key))]);
        convert::service_status_from_message(&self.get(&req)?)
    }

    /// The real servers of a service, newest first. Sent together with a GET_SERVICE for the
    /// same key, because the kernel answers a GET_DEST dump for a missing service with an empty
    /// list: a missing service is [`Error::NotFound`]`(Service)`, as in every backend.
    fn destinations(&mut self, key: &ServiceKey) -> Result<Vec<DestinationStatus>> {
        self.service_with_destinations(key).map(|(_, d)| d)
    }

    /// See [`Client::services_with_destinations`].
    fn services_with_destinations(&mut self) -> Result<Vec<(ServiceStatus, Vec<DestinationStatus>)>> {
        Client::services_with_destinations(self)
    }

    fn timeouts(&mut self) -> Result<Timeouts> {
        let reply = self.get(&IpvsMessage::new(IpvsCmd::GetConfig, vec![]))?;
        convert::timeouts_from_message(&reply)
    }

    fn daemons(&mut self) -> Result<Vec<SyncDaemon>> {
        self.dump(&IpvsMessage::new(IpvsCmd::GetDaemon, vec![]))?.decode(|payload| {
            let m = convert::message_from_genl(payload)?;
            convert::daemon_from_attrs(
                m.daemon().ok_or_else(|| Error::Decode("IPVS_CMD_ATTR_DAEMON missing".into()))?,
            )
        })
    }

    fn apply(&mut self, op: &Operation) -> Result<()> {
        op.validate()?;
        let msg = convert::operation_message(op)?;
        let (mut results, _) = self.send_window(std::slice::from_ref(&msg));
        results.pop().unwrap_or(Err(Error::Timeout))
    }

    /// See the [module docs](self#apply_all-semantics): pipelined windows without
    /// `stop_on_error`, one request per round trip with it.
    fn apply_all(&mut self, ops: &[Operation], stop_on_error: bool) -> Vec<Result<()>> {
        if stop_on_error {
            let mut out = Vec::with_capacity(ops.len());
            for op in ops {
                let r = self.apply(op);
                let failed = r.is_err();
                out.push(r);
                if failed {
                    break;
                }
            }
            return out;
        }
        let mut out: Vec<Option<Result<()>>> = vec![None; ops.len()];
        let mut queued: Vec<(usize, IpvsMessage)> = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            match op.validate().map_err(Error::from).and_then(|()| convert::operation_message(op)) {
                Ok(msg) => queued.push((i, msg)),
                Err(e) => out[i] = Some(Err(e)),
            }
        }
        let mut rest = queued.as_slice();
        while !rest.is_empty() {
            // Cut a window: at most `window` requests and MAX_BATCH_BYTES bytes (at least one).
            let mut n = 0;
            let mut bytes = 0;
            for (_, m) in rest.iter().take(self.window) {
                bytes += m.buffer_len() + crate::codec::NLMSG_HDRLEN + crate::codec::GENL_HDRLEN;
                if n > 0 && bytes > MAX_BATCH_BYTES {
                    break;
                }
                n += 1;
            }
            let (window, later) = rest.split_at(n);
            let msgs: Vec<IpvsMessage> = window.iter().map(|(_, m)| m.clone()).collect();
            let (results, transport) = self.send_window(&msgs);
            for ((i, _), r) in window.iter().zip(results) {
                out[*i] = Some(r);
            }
            if let Some(e) = transport {
                for (i, _) in later {
                    out[*i] = Some(Err(e.clone()));
                }
                break;
            }
            rest = later;
        }
        out.into_iter().map(|r| r.unwrap_or(Err(Error::Timeout))).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use netlink_packet_core::NLM_F_MULTIPART;

    fn header(len: u32, ty: u16, flags: u16, seq: u32, port: u32) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&len.to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(&flags.to_ne_bytes());
        v.extend_from_slice(&seq.to_ne_bytes());
        v.extend_from_slice(&port.to_ne_bytes());
        v
    }

    fn ack(seq: u32, port: u32, code: i32) -> Vec<u8> {
        let mut v = header(36, NLMSG_ERROR, NLM_F_CAPPED, seq, port);
        v.extend_from_slice(&code.to_ne_bytes());
        v.extend_from_slice(&header(20, 0x23, 5, seq, 0));
        v
    }

    fn done(seq: u32, port: u32, flags: u16, code: i32) -> Vec<u8> {
        let mut v = header(20, NLMSG_DONE, NLM_F_MULTIPART | flags, seq, port);
        v.extend_from_slice(&code.to_ne_bytes());
        v
    }

    #[test]
    fn dispatch_matches_by_sequence_and_skips_stale_and_foreign() {
        let mut slots =
            vec![Slot::new(IpvsCmd::NewService, Kind::Ack), Slot::new(IpvsCmd::NewDest, Kind::Ack)];
        let mut open = 2;
        let mut buf = ack(9, 77, 0); // stale: seq 9 is before the window (10, 11)
        buf.extend(ack(10, 78, 0)); // another port
        buf.extend(ack(11, 77, -libc::EEXIST));
        buf.extend(ack(10, 77, 0));
        buf.extend(ack(10, 77, -libc::EINVAL)); // duplicate for a finished slot: ignored
        dispatch(&buf, 0x23, 77, 10, &mut slots, &mut open).unwrap();
        assert_eq!(open, 0);
        assert_eq!(slots[0].result, Some(Ok(())));
        assert_eq!(slots[1].result, Some(Err(Error::Exists(ipvs_core::Object::Destination))));
    }

    #[test]
    fn dump_done_codes_and_interruptions() {
        let mut slots = vec![Slot::new(IpvsCmd::GetService, Kind::Dump)];
        let mut open = 1;
        dispatch(&done(5, 1, NLM_F_DUMP_INTR, 0), 0x23, 1, 5, &mut slots, &mut open).unwrap();
        assert!(slots[0].interrupted);
        assert_eq!(slots[0].result, Some(Ok(())));
        let mut slots = vec![Slot::new(IpvsCmd::GetDest, Kind::Dump)];
        let mut open = 1;
        dispatch(&done(5, 1, 0, -libc::EMSGSIZE), 0x23, 1, 5, &mut slots, &mut open).unwrap();
        assert!(matches!(slots[0].result, Some(Err(Error::Os { errno: libc::EMSGSIZE, .. }))));
        let mut slots = vec![Slot::new(IpvsCmd::GetDest, Kind::Dump)];
        let mut open = 1;
        dispatch(&ack(5, 1, -libc::EBUSY), 0x23, 1, 5, &mut slots, &mut open).unwrap();
        assert!(slots[0].busy);
    }

    #[test]
    fn chunks_are_counted_per_datagram_and_duplicates_found() {
        let entry = |seq: u32, port: u16| {
            let msg = IpvsMessage::new(
                IpvsCmd::NewService,
                vec![IpvsAttr::Service(convert::service_key_attrs(&ServiceKey::tcp(
                    [10, 0, 0, 1].into(),
                    port,
                )))],
            );
            let mut nl = netlink_packet_core::NetlinkMessage::new(
                {
                    let mut h = netlink_packet_core::NetlinkHeader::default();
                    h.flags = NLM_F_MULTIPART;
                    h.sequence_number = seq;
                    h.port_number = 1;
                    h
                },
                netlink_packet_core::NetlinkPayload::InnerMessage({
                    let mut g = netlink_packet_generic::GenlMessage::from_payload(msg);
                    g.set_resolved_family_id(0x23);
                    g
                }),
            );
            nl.finalize();
            let mut b = vec![0; nl.buffer_len()];
            nl.serialize(&mut b);
            b
        };
        let mut slots = vec![Slot::new(IpvsCmd::GetService, Kind::Dump)];
        let mut open = 1;
        let mut first = entry(5, 80);
        first.extend(entry(5, 81));
        dispatch(&first, 0x23, 1, 5, &mut slots, &mut open).unwrap();
        assert_eq!(slots[0].chunks, 1);
        let mut second = entry(5, 81);
        second.extend(done(5, 1, 0, 0));
        dispatch(&second, 0x23, 1, 5, &mut slots, &mut open).unwrap();
        assert_eq!((slots[0].chunks, open), (2, 0));
        assert_eq!(slots[0].chunk_of, [0, 0, 1]);
        let all: Vec<Vec<u8>> = slots[0].entries.iter().map(<[u8]>::to_vec).collect();
        let ports = |e: &Entries| -> Vec<u16> {
            e.iter()
                .map(|m| {
                    let m = convert::message_from_genl(m).unwrap();
                    convert::service_key_from_attrs(m.service().unwrap()).unwrap().port()
                })
                .collect()
        };
        assert_eq!(ports(&slots[0].entries), [80, 81, 81]);
        let mut reply =
            Reply { entries: slots[0].entries.clone(), chunk_of: slots[0].chunk_of.clone(), chunks: 2 };
        let b = reply.boundaries();
        assert_eq!(b, [(dump_identity(&all[1]), dump_identity(&all[2]))]);
        assert_eq!(dump_identity(&all[1]), dump_identity(&all[2]));
        assert_ne!(dump_identity(&all[0]), dump_identity(&all[1]));
        reply.dedupe();
        assert_eq!(ports(&reply.entries), [80, 81]);
        assert_eq!(reply.chunk_of, [0, 0]);
        let pos = reply.positions();
        assert!(same_chunk(&pos, &dump_identity(&all[0]), &dump_identity(&all[1])));
        assert!(!same_chunk(&pos, &dump_identity(&all[1]), &dump_identity(&all[0])));
        assert_eq!(identities(&reply.entries).len(), 2);
    }

    #[test]
    fn client_moves_between_threads() {
        fn send<T: Send>() {}
        send::<Client>();
        send::<ClientOptions>();
    }

    #[test]
    fn extended_ack_text_is_read() {
        let mut payload = (-libc::EINVAL).to_ne_bytes().to_vec();
        payload.extend(header(20, 0x23, 5, 1, 0));
        // NLMSGERR_ATTR_MSG "bad\0"
        payload.extend([8, 0, 1, 0, b'b', b'a', b'd', 0]);
        assert_eq!(
            parse_error(&payload, NLM_F_CAPPED | NLM_F_ACK_TLVS),
            Some((-libc::EINVAL, Some("bad".to_owned())))
        );
        assert_eq!(parse_error(&payload[..2], 0), None);
    }

    #[test]
    fn framing_errors_are_decode_errors() {
        let mut slots = vec![Slot::new(IpvsCmd::Flush, Kind::Ack)];
        let mut open = 1;
        let e = dispatch(&[1, 2, 3], 0x23, 1, 1, &mut slots, &mut open).unwrap_err();
        assert!(matches!(e, Error::Decode(_)));
    }
}
