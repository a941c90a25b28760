//! The netlink client: the one piece of the workspace that opens a socket.
//!
//! [`Client`] (also exported as [`NetlinkBackend`]) implements [`ipvs_core::Backend`] on the
//! kernel's IPVS generic-netlink family:
//!
//! * **One socket** for every request, for the client's whole life, bound in one network
//!   namespace: the opening thread's ([`Client::new`], [`Client::with_options`]) or any other
//!   ([`Client::in_netns`] with a [`NetNs`], opened without changing the caller's namespace).
//!   The client keeps a handle on that namespace ([`Client::netns`]): everything it opens
//!   later, and every `/proc` file it reads, is in that namespace, whichever thread calls.
//!   With [`ClientOptions::verify_dumps`] a second socket is opened with it, in the same
//!   namespace, that only re-reads large dumps. The `"IPVS"` family id is resolved once, when
//!   the client is opened. A missing family is [`Error::ModuleMissing`] (genetlink tries to
//!   load `ip_vs` first).
//! * **Every reply is checked**: it must come from the kernel (sender port 0), carry this
//!   socket's port id and the sequence number of an outstanding request. Anything else (a late
//!   reply to a request that timed out earlier, say) is skipped, never attributed to the wrong
//!   request. The matching is sans-IO (the `exchange` module) and tested on the host, with sequence
//!   numbers wrapping through 0.
//! * **Nothing is truncated**: every receive passes `MSG_TRUNC`, so a datagram longer than the
//!   buffer is an error, never cut; the buffers are sized from the page size so that every
//!   datagram the kernel sends fits ([`ChunkSizes`]). Dumps are read to their `NLMSG_DONE`
//!   across as many receives as they take; `NLM_F_DUMP_INTR` on any message (the DONE
//!   included) restarts the dump, up to [`ClientOptions::dump_attempts`] times, then
//!   [`Error::Interrupted`].
//! * **Dumps are whole**: Linux 6.1 resumes a dump by position in a table shared by every
//!   namespace and never flags one that changed in between, so a dump that took more than one
//!   chunk is read again with its chunk boundaries elsewhere and the reads are reconciled
//!   ([`ClientOptions::verify_dumps`]); an entry the kernel sends twice is dropped.
//! * **No read hangs forever**: each wait for the kernel is bounded by
//!   [`ClientOptions::timeout`] (`SO_RCVTIMEO`, default 30 s) and ends in [`Error::Timeout`].
//! * **Errors are typed by command**: the same errno means different things for different
//!   commands (EEXIST on NEW_DEST is [`Error::Exists`] of a destination, ENOENT on NEW_SERVICE
//!   is [`Error::SchedulerOrEngineNotFound`] but on DEL_DEST [`Error::NotFound`] of a
//!   destination; see `shared/ipvs-kernel-reference.md` §1.6). The errno is the kernel's, and
//!   its extended-ack text, when it sends one, is kept ([`Error::message`]).
//! * **Operations are validated first** ([`Operation::validate`]): a bad value never reaches
//!   the kernel.
//! * **Batches are pipelined**: [`Backend::apply_all`] with [`OnError::Continue`] encodes up
//!   to [`Client::window`] requests into one buffer, sends them in one `sendmsg` and matches
//!   the acknowledgements by sequence number.
//!
//! # Threads
//!
//! A client is `Send` but not `Sync`: every method takes `&mut self` (it owns its sockets and
//! buffers, and a reply must reach the request that asked for it). Move it to the thread that
//! uses it, put it behind a `Mutex` to share it, or open one client per thread: each has its
//! own sockets, and the kernel serialises their changes under its IPVS mutex. Which thread
//! calls makes no difference: the client's namespace is fixed when it is opened.
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
//! * [`OnError::Continue`]: every operation gets a result, in order. Operations that fail
//!   validation get their [`Error::Validation`] and are not sent; the others go to the kernel
//!   in windows of at most [`Client::window`] requests per `sendmsg` (sized so that a whole
//!   window of acknowledgements fits the socket's receive buffer: the kernel processes a whole
//!   window before the client reads anything, and an acknowledgement that does not fit would
//!   be dropped). The kernel carries out every request of a window, whatever the earlier ones
//!   did, so a failure never stops the batch. If the transport fails, the operations whose
//!   acknowledgement did not arrive get that error ([`Error::Timeout`], an [`Error::Os`] such
//!   as `ENOBUFS` when the kernel dropped acknowledgements: their effect is unknown,
//!   [`Error::may_have_applied`]), and the operations not sent yet get [`Error::NotSent`]
//!   (they changed nothing).
//! * [`OnError::Stop`]: generic netlink has no way to abort the rest of a window when one
//!   request fails, so the client sends **one request per round trip** and stops at the first
//!   failure; the operations after it are neither sent nor in the result.

mod backend;
mod dump;
#[doc(hidden)]
pub mod encode;
mod errno;
mod exchange;
#[doc(hidden)]
pub mod fuzzing;
mod netns;
mod options;
mod proc;
mod socket;
mod transport;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

use std::fmt;
use std::ops::ControlFlow;

use std::time::Duration;

use ipvs_core::ipvsadm::conn::{parse_conn, parse_conn_sync, Connection, SyncConnection};
use ipvs_core::{Backend, DestinationStatus, Error, OnError, Operation, Result, ServiceKey, ServiceStatus};

use crate::codec::ctrl::{decode_family_reply, encode_get_family_request, FamilyReply};
use crate::codec::{Frames, IpvsAttr, IpvsCmd, IpvsMessage};
use crate::convert;
use exchange::{Exchange, Kind, Slot};
pub use netns::NetNs;
pub use options::{ChunkSizes, ClientOptions, DEFAULT_RECEIVE_BUFFER, DEFAULT_TIMEOUT, MAX_WINDOW};
use options::{ACK_BUDGET, GET_BUDGET};
use socket::NlSocket;
use transport::{Channel, Received, Transport};

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

/// Opens a fresh verifying socket with a receive length, in the client's namespace.
type Reopen = Box<dyn Fn(&ClientOptions, usize) -> Result<Channel> + Send>;

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
pub struct Client {
    /// The socket every request goes through.
    main: Channel,
    /// A second socket, opened with the first (so in the same namespace), used only to read a
    /// large dump again with its chunk boundaries elsewhere; see [`ClientOptions::verify_dumps`].
    verify: Option<Channel>,
    /// Opens a replacement for the verifying socket in the client's namespace; `None` when the
    /// namespace could not be captured (no `/proc`): the socket is then never replaced.
    reopen: Option<Reopen>,
    family_id: u16,
    /// The sequence number of the next request.
    next_seq: u32,
    opts: ClientOptions,
    chunks: ChunkSizes,
    window: usize,
    get_window: usize,
    receive_buffer: usize,
    tx: Vec<u8>,
    recording: Option<Vec<WireRecord>>,
    /// The namespace the client's sockets were opened in (its own handle).
    netns: Option<NetNs>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("main", &self.main)
            .field("verify", &self.verify)
            .field("family_id", &self.family_id)
            .field("next_seq", &self.next_seq)
            .field("opts", &self.opts)
            .field("chunks", &self.chunks)
            .field("window", &self.window)
            .field("receive_buffer", &self.receive_buffer)
            .field("netns", &self.netns)
            .finish_non_exhaustive()
    }
}

impl Channel {
    /// Opens a netlink socket in the calling thread's namespace, with `opts`' buffer and
    /// timeout and a receive buffer of `rx_len` bytes. Returns it and the receive buffer the
    /// kernel granted.
    fn open(opts: &ClientOptions, rx_len: usize) -> Result<(Channel, usize)> {
        let mut sock = NlSocket::open().map_err(|e| errno::io(&e, "opening a generic netlink socket"))?;
        // Both are best effort: kernels before 4.2 / 4.12 lack them and still work.
        let _ = sock.set_cap_ack();
        let _ = sock.set_ext_ack();
        let granted = sock
            .set_receive_buffer(opts.receive_buffer)
            .map_err(|e| errno::io(&e, "setting the netlink receive buffer"))?;
        Transport::set_timeout(&mut sock, opts.timeout)
            .map_err(|e| errno::io(&e, "setting the netlink receive timeout"))?;
        Ok((Channel { sock: Box::new(sock), rx: vec![0; rx_len], seen: 0 }, granted))
    }
}

/// Which socket a request goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum On {
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

    /// Opens a client with `opts` in the calling thread's network namespace. The client keeps
    /// a handle on that namespace ([`Client::netns`]), so that it keeps working in it from any
    /// thread.
    pub fn with_options(opts: ClientOptions) -> Result<Self> {
        // Without /proc there is no handle to take; the client then never opens anything after
        // this (its verifying socket is not replaced) and reads /proc from the calling thread.
        let netns = NetNs::current().ok();
        Self::open_here(opts, netns)
    }

    /// Opens the client's sockets in the calling thread's namespace, which is `netns`.
    fn open_here(opts: ClientOptions, netns: Option<NetNs>) -> Result<Self> {
        let chunks = ChunkSizes::current();
        // The kernel sizes a dump's chunks by the largest buffer ever passed to recvmsg on the
        // socket: the two sockets read with different lengths, so their chunks end at different
        // entries.
        let (main, receive_buffer) = Channel::open(&opts, chunks.main)?;
        let verify =
            if opts.verify_dumps { Some(Channel::open(&opts, chunks.verify_first)?.0) } else { None };
        let reopen: Option<Reopen> = match netns.as_ref().map(NetNs::try_clone).transpose()? {
            Some(ns) => Some(Box::new(move |opts: &ClientOptions, len: usize| {
                ns.run(|| Channel::open(opts, len).map(|(c, _)| c))?
            })),
            None => None,
        };
        let mut client = Client::from_parts(main, verify, reopen, receive_buffer, opts, chunks);
        client.netns = netns;
        client.family_id = client.resolve_family()?;
        Ok(client)
    }

    /// A client over already-open channels (the real sockets, or a fake kernel's in tests).
    fn from_parts(
        main: Channel,
        verify: Option<Channel>,
        reopen: Option<Reopen>,
        receive_buffer: usize,
        opts: ClientOptions,
        chunks: ChunkSizes,
    ) -> Self {
        let window = opts.max_in_flight.unwrap_or((receive_buffer / ACK_BUDGET).clamp(1, MAX_WINDOW)).max(1);
        let get_window = (receive_buffer / GET_BUDGET).clamp(1, MAX_WINDOW);
        Client {
            main,
            verify,
            reopen,
            family_id: 0,
            next_seq: 1,
            opts,
            chunks,
            window,
            get_window,
            receive_buffer,
            tx: Vec::with_capacity(4096),
            recording: None,
            netns: None,
        }
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
    /// it, [`Error::PermissionDenied`] naming [`Privilege::SysAdmin`](ipvs_core::Privilege).
    /// The errors of opening a client in the caller's namespace are the same here.
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
        ns.run(move || Client::open_here(opts, Some(handle)))?
    }

    /// The network namespace the client's sockets live in: the one given to
    /// [`Client::in_netns`], or the one of the thread that opened the client. `None` only when
    /// it could not be captured (a system without `/proc`).
    ///
    /// ```no_run
    /// use ipvs_sys_netlink::{Client, ClientOptions, NetNs};
    ///
    /// let blue = NetNs::named("blue")?;
    /// let ipvs = Client::in_netns(&blue, ClientOptions::default())?;
    /// assert_eq!(ipvs.netns().map(NetNs::inode), Some(blue.inode()));
    /// let here = Client::new()?;
    /// assert_eq!(here.netns().map(NetNs::inode), Some(NetNs::current()?.inode()));
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

    /// The receive lengths of the client's sockets (see [`ChunkSizes`]).
    pub fn chunk_sizes(&self) -> ChunkSizes {
        self.chunks
    }

    /// The options the client was opened with (with the current timeout).
    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    /// Changes how long each wait for the kernel may take; `None` waits forever.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) -> Result<()> {
        for chan in std::iter::once(&mut self.main).chain(self.verify.as_mut()) {
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
    /// dump sent together in one `sendmsg`. [`Error::NotFound`] of a service if there is no
    /// such service.
    pub fn service_with_destinations(
        &mut self,
        key: &ServiceKey,
    ) -> Result<(ServiceStatus, Vec<DestinationStatus>)> {
        key.validate_lookup()?;
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
        Backend::services_with_destinations(self)
    }

    /// Streams the table: reads the services (one dump), then hands each service with its
    /// real servers to `f`, reading the real servers of one service at a time, so only the
    /// service list and one service's real servers are in memory at once, whatever the size of
    /// the table. `f` returning [`ControlFlow::Break`] stops the walk early. A service deleted
    /// during the walk shows no real servers. For a callback that fails with its own error, see
    /// [`Backend::try_for_each_service_with_destinations`].
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
        Backend::for_each_service_with_destinations(self, &mut f)
    }

    /// The connection table (connections and persistence templates), parsed from
    /// `/proc/thread-self/net/ip_vs_conn` of the client's namespace by
    /// [`ipvs_core::ipvsadm::conn::parse_conn`]. The netlink interface has no command for it.
    /// The file is read on the calling thread when it is in the client's namespace, and on a
    /// short-lived thread that enters it otherwise (which needs `CAP_SYS_ADMIN`).
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
        parse_conn(&text)
            .map_err(|e| Error::Decode(ipvs_core::error::DecodeError::with_source("ip_vs_conn", e)))
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
        proc::read_proc_net(self.netns.as_ref(), "ip_vs_conn")
    }

    /// The connection table with each entry's origin (made here or received from a sync
    /// master), parsed from `/proc/thread-self/net/ip_vs_conn_sync`. Same namespace rules as
    /// [`Client::connections`].
    pub fn sync_connections(&self) -> Result<Vec<SyncConnection>> {
        let text = proc::read_proc_net(self.netns.as_ref(), "ip_vs_conn_sync")?;
        parse_conn_sync(&text)
            .map_err(|e| Error::Decode(ipvs_core::error::DecodeError::with_source("ip_vs_conn_sync", e)))
    }

    // -----------------------------------------------------------------------------------------
    // Transport
    // -----------------------------------------------------------------------------------------

    /// Resolves the `"IPVS"` family with the generic-netlink controller.
    fn resolve_family(&mut self) -> Result<u16> {
        const CONTEXT: &str = "resolving the IPVS generic netlink family";
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let req = encode_get_family_request(seq, 0, 0);
        let chan = &mut self.main;
        chan.sock.send(&req).map_err(|e| errno::io(&e, CONTEXT))?;
        loop {
            chan.seen = chan.seen.max(chan.rx.len());
            let len = match chan.sock.recv(&mut chan.rx, false).map_err(|e| errno::io(&e, CONTEXT))? {
                Received::WouldBlock => return Err(Error::Timeout),
                Received::Datagram { sender: 0, len } => len,
                Received::Datagram { .. } => continue,
            };
            for frame in Frames::new(chan.rx.get(..len).unwrap_or_default()) {
                let frame = frame.map_err(|e| Error::decode(e.to_string()))?;
                if frame.header.sequence != seq || frame.header.port != chan.sock.port() {
                    continue;
                }
                match decode_family_reply(&frame).map_err(|e| Error::decode(e.to_string()))? {
                    FamilyReply::Family(info) => return Ok(info.id),
                    // genetlink answers ENOENT when the family is not registered even after it
                    // tried request_module("net-pf-16-proto-16-family-IPVS").
                    FamilyReply::Error { code, .. } if code == -libc::ENOENT => {
                        return Err(Error::module_missing(libc::ENOENT))
                    }
                    FamilyReply::Error { code, .. } if code < 0 => {
                        return Err(errno::os(code.saturating_neg(), CONTEXT, None))
                    }
                    _ => {}
                }
            }
        }
    }

    /// Sends `reqs` in one buffer through socket `on` and reads until each has its answer.
    /// Returns one slot per request and, if the transport failed, that error (already put in
    /// every unanswered slot: as it is when the requests were sent, as [`Error::NotSent`] when
    /// the send itself failed).
    fn exchange(&mut self, on: On, reqs: &[(&IpvsMessage, Kind)]) -> (Vec<Slot>, Option<Error>) {
        let mut tx = std::mem::take(&mut self.tx);
        let port = self.channel(on).sock.port();
        let ex = match Exchange::encode(reqs, self.family_id, port, &mut self.next_seq, &mut tx) {
            Ok(ex) => ex,
            Err(e) => {
                self.tx = tx;
                return (exchange::failed(reqs, &e), Some(e));
            }
        };
        let cmd = reqs.first().map_or(IpvsCmd::from(0), |(m, _)| m.cmd);
        self.run_exchange(on, ex, tx, cmd)
    }

    /// The socket `on` stands for (the main one when there is no verifying socket).
    fn channel(&mut self, on: On) -> &mut Channel {
        match (on, self.verify.as_mut()) {
            (On::Verify, Some(v)) => v,
            _ => &mut self.main,
        }
    }

    /// Sends the requests encoded in `tx` for `ex` and reads until each has its answer (see
    /// [`Client::exchange`]); `cmd` names the first request in a send error.
    fn run_exchange(
        &mut self,
        on: On,
        mut ex: Exchange,
        tx: Vec<u8>,
        cmd: IpvsCmd,
    ) -> (Vec<Slot>, Option<Error>) {
        let chan = match (on, self.verify.as_mut()) {
            (On::Verify, Some(v)) => v,
            _ => &mut self.main,
        };
        record(&mut self.recording, Direction::Sent, &tx);
        let sent = chan.sock.send(&tx);
        self.tx = tx;
        if let Err(e) = sent {
            let e = errno::io(&e, errno::describe(cmd));
            ex.fail_all(&Error::not_sent(e.clone()));
            return (ex.into_slots(), Some(e));
        }
        while !ex.done() {
            chan.seen = chan.seen.max(chan.rx.len());
            let received = chan.sock.recv(&mut chan.rx, ex.nonblocking());
            let failure = match received {
                Ok(Received::Datagram { len, sender }) => {
                    let buf = chan.rx.get(..len).unwrap_or_default();
                    record(&mut self.recording, Direction::Received, buf);
                    match ex.handle_datagram(buf, sender) {
                        Ok(()) => continue,
                        Err(e) => e,
                    }
                }
                Ok(Received::WouldBlock) => ex.silence(),
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    ex.handle_overrun();
                    continue;
                }
                Err(e) => errno::io(&e, "receiving IPVS replies"),
            };
            ex.fail_open(&failure);
            return (ex.into_slots(), Some(failure));
        }
        (ex.into_slots(), None)
    }
}

fn record(recording: &mut Option<Vec<WireRecord>>, direction: Direction, bytes: &[u8]) {
    if let Some(r) = recording.as_mut() {
        r.push(WireRecord { direction, bytes: bytes.to_vec() });
    }
}

impl Client {
    /// Sends operations (validated and converted) as one window and returns one result per
    /// operation, plus the transport error if the transport failed.
    fn send_window(&mut self, msgs: &[IpvsMessage]) -> (Vec<Result<()>>, Option<Error>) {
        let reqs: Vec<(&IpvsMessage, Kind)> = msgs.iter().map(|m| (m, Kind::Ack)).collect();
        let (slots, transport) = self.exchange(On::Main, &reqs);
        (slots.into_iter().map(|s| s.into_result().map(drop)).collect(), transport)
    }

    /// One operation, validated, in one round trip.
    fn apply_one(&mut self, op: &Operation) -> Result<()> {
        op.validate()?;
        let msg = convert::operation_message(op)?;
        let (mut results, _) = self.send_window(std::slice::from_ref(&msg));
        results.pop().unwrap_or(Err(Error::Timeout))
    }

    /// [`Backend::apply_all`]: see the [module docs](self#apply_all-semantics).
    fn apply_batch(&mut self, ops: &[Operation], on_error: OnError) -> Vec<Result<()>> {
        if on_error == OnError::Stop {
            let mut out = Vec::with_capacity(ops.len());
            for op in ops {
                let r = self.apply_one(op);
                let failed = r.is_err();
                out.push(r);
                if failed {
                    break;
                }
            }
            return out;
        }
        let mut out: Vec<Option<Result<()>>> = vec![None; ops.len()];
        let mut queued: Vec<(usize, &Operation)> = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            match op.validate().map_err(Error::from).and_then(|()| convert::check_supported(op)) {
                Ok(()) => queued.push((i, op)),
                Err(e) => out[i] = Some(Err(e)),
            }
        }
        let mut rest = queued.as_slice();
        let mut window_ops: Vec<&Operation> = Vec::with_capacity(self.window.min(rest.len()));
        while !rest.is_empty() {
            // A window: at most `window` requests and MAX_BATCH_BYTES bytes (at least one),
            // encoded straight into the send buffer.
            window_ops.clear();
            window_ops.extend(rest.iter().take(self.window).map(|(_, op)| *op));
            let mut tx = std::mem::take(&mut self.tx);
            let port = self.main.sock.port();
            let encoded = Exchange::encode_ops(
                &window_ops,
                options::MAX_BATCH_BYTES,
                self.family_id,
                port,
                &mut self.next_seq,
                &mut tx,
            );
            let (ex, n) = match encoded {
                Ok(x) => x,
                Err(e) => {
                    self.tx = tx;
                    for (i, _) in rest {
                        out[*i] = Some(Err(e.clone()));
                    }
                    break;
                }
            };
            let (window, later) = rest.split_at(n.min(rest.len()));
            let cmd = window.first().map_or(IpvsCmd::from(0), |(_, op)| exchange::op_cmd(op));
            let (slots, transport) = self.run_exchange(On::Main, ex, tx, cmd);
            for ((i, _), slot) in window.iter().zip(slots) {
                out[*i] = Some(slot.into_result().map(drop));
            }
            if let Some(e) = transport {
                // The rest was never sent: it changed nothing.
                let not_sent = Error::not_sent(e);
                for (i, _) in later {
                    out[*i] = Some(Err(not_sent.clone()));
                }
                break;
            }
            rest = later;
        }
        out.into_iter().map(|r| r.unwrap_or(Err(Error::Timeout))).collect()
    }
}
