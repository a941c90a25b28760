//! How a client talks to the kernel: [`ClientOptions`], and the sizes the client derives from
//! the receive buffer and the page size.

use std::time::Duration;

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
pub(crate) const ACK_BUDGET: usize = 2048;

/// Largest request buffer sent at once. The kernel refuses a `sendmsg` larger than the socket's
/// send buffer (212992 bytes by default); 64 KiB is far below it.
pub(crate) const MAX_BATCH_BYTES: usize = 64 << 10;

/// Receive-buffer bytes budgeted per outstanding GET reply (a reply skb is allocated with
/// `NLMSG_DEFAULT_SIZE`, about a page, plus its acknowledgement).
pub(crate) const GET_BUDGET: usize = 8192;

/// How a [`Client`](super::Client) talks to the kernel. Build it with [`Default`] and the
/// setters.
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
    /// Requests per `sendmsg` in [`Backend::apply_all`](ipvs_core::Backend::apply_all).
    /// `None` (the default) derives it from the receive buffer the kernel granted, up to
    /// [`MAX_WINDOW`].
    pub max_in_flight: Option<usize>,
    /// How many times a dump is read at most: it is read again when the kernel marks it
    /// interrupted (`NLM_F_DUMP_INTR`) or busy, and to check it (see
    /// [`verify_dumps`](Self::verify_dumps)). Running out is
    /// [`Error::Interrupted`](ipvs_core::Error::Interrupted), except for the service dump's
    /// checks (see there). Default 5.
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
    /// entries. For services, every read is on that socket, with another chunk size each time,
    /// and the reads go on until every chunk boundary of the first read falls inside one chunk
    /// of a later read
    /// (which then has whatever the first read skipped there), or
    /// [`dump_attempts`](Self::dump_attempts) reads; services that the last read lacks but an
    /// earlier one had are read one by one (GET_SERVICE, pipelined): kept if they exist,
    /// dropped if not. Real servers cannot be read one by one, so their dump is read
    /// (alternately on both sockets) until a read comes in one chunk or two reads have the
    /// same entries, or [`Error::Interrupted`](ipvs_core::Error::Interrupted) after
    /// `dump_attempts` reads (only changes to that same service shift it).
    ///
    /// A chunk holds 7.5 KiB on the main socket (about 20 real servers) and 16 to 28 KiB on the
    /// second one (about 50 to 90 services), so small tables are read once. The second socket
    /// is opened with the client, in the same namespace, and carries nothing else; its chunks
    /// change size from one read to the next, so that its chunk boundaries fall elsewhere (see
    /// [`ChunkSizes`]): a table that does not change meanwhile is read twice.
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

/// The receive lengths of the client's two sockets, which are also the sizes of the dump
/// chunks the kernel sends them.
///
/// The kernel allocates each dump chunk at the larger of `NLMSG_GOODSIZE` and the largest
/// length ever passed to `recvmsg` on the socket (capped at 32 KiB minus its overhead;
/// `netlink_dump` in `net/netlink/af_netlink.c`). `NLMSG_GOODSIZE` is a page, at most 8 KiB,
/// minus the `skb_shared_info` overhead (320 bytes on 64-bit kernels): 3776 bytes with 4 KiB
/// pages, 7872 with 16 or 64 KiB pages (arm64, ppc64le). So every receive length must be at
/// least `min(page, 8192)` bytes: shorter, and a chunk could be larger than the buffer (a
/// listing longer than one chunk would fail with `EMSGSIZE`). And the verifying socket's
/// lengths must differ from the main socket's, so that its chunks end at other entries.
///
/// ```
/// use ipvs_sys_netlink::client::ChunkSizes;
/// for page in [4096, 16384, 65536] {
///     let c = ChunkSizes::for_page_size(page);
///     assert!(c.main >= page.min(8192));
///     assert!(c.verify().all(|v| v >= page.min(8192) && v != c.main));
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSizes {
    /// The main socket's receive length.
    pub main: usize,
    /// The verifying socket's first receive length.
    pub verify_first: usize,
    /// How much the verifying socket's receive length grows from one check to the next.
    pub verify_step: usize,
    /// The verifying socket's largest receive length; past it, the socket is replaced by a
    /// fresh one (the kernel remembers the largest length, so it can only grow).
    pub verify_max: usize,
}

/// The kernel's overhead in a dump allocation (`SKB_DATA_ALIGN(sizeof(struct
/// skb_shared_info))`, 320 bytes on 64-bit kernels).
pub(crate) const SKB_OVERHEAD: usize = 320;

/// The largest receive length the kernel takes into account (`SKB_WITH_OVERHEAD(32768)`).
pub(crate) const MAX_RECV_LEN: usize = 32768 - SKB_OVERHEAD;

impl ChunkSizes {
    /// The sizes for a kernel with pages of `page` bytes.
    ///
    /// With 4 KiB pages, the main socket reads 7680 bytes (a chunk in one 8 KiB allocation
    /// with the kernel's overhead: Debian's kernels zero every allocation, and a save makes one
    /// real-server dump per service, so a larger chunk costs more cleared memory); with larger
    /// pages every length must be at least 8192 bytes, and the main socket reads 8192. The
    /// verifying socket, which reads the service list, reads 16 to 28 KiB in 4 KiB steps: a
    /// service dump restarts its walk of the kernel's table from the start for every chunk,
    /// so large chunks make it several times cheaper, and the few allocations cost little.
    pub fn for_page_size(page: usize) -> Self {
        let floor = page.clamp(4096, 8192);
        let main = if floor <= 4096 { 7680 } else { floor };
        ChunkSizes { main, verify_first: 16384, verify_step: 4096, verify_max: 28672 }
    }

    /// The sizes for the running kernel's page size.
    pub fn current() -> Self {
        Self::for_page_size(super::socket::page_size())
    }

    /// Every receive length the verifying socket uses, in order.
    pub fn verify(&self) -> impl Iterator<Item = usize> {
        let step = self.verify_step.max(1);
        (self.verify_first..=self.verify_max).step_by(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `NLMSG_GOODSIZE` for a page size.
    fn goodsize(page: usize) -> usize {
        page.min(8192) - SKB_OVERHEAD
    }

    #[test]
    fn chunk_sizes_fit_every_page_size() {
        for page in [4096, 8192, 16384, 65536] {
            let c = ChunkSizes::for_page_size(page);
            // The kernel's chunk is max(goodsize, largest receive length): every length must be
            // at least goodsize (with margin for the overhead, min(page, 8 KiB)), or a chunk
            // would not fit the buffer.
            assert!(c.main >= page.min(8192), "{page}: main {}", c.main);
            assert!(c.main > goodsize(page));
            let v: Vec<usize> = c.verify().collect();
            assert!(v.len() >= 3, "{page}: the verifying socket needs several sizes: {v:?}");
            for &len in &v {
                assert!(len >= page.min(8192), "{page}: verify {len} below the kernel's minimum");
                assert_ne!(len, c.main, "{page}: a verifying chunk as large as the main socket's");
                assert!(len <= MAX_RECV_LEN, "{page}: {len} beyond what the kernel honours");
            }
            assert!(v.windows(2).all(|w| w[0] < w[1]), "{page}: sizes only grow: {v:?}");
        }
    }

    #[test]
    fn four_k_pages_keep_the_measured_sizes() {
        let c = ChunkSizes::for_page_size(4096);
        assert_eq!((c.main, c.verify_first, c.verify_max), (7680, 16384, 28672));
        assert_eq!(c.verify().collect::<Vec<_>>(), [16384, 20480, 24576, 28672]);
    }
}
