//! Reading dumps whole: retries on `NLM_F_DUMP_INTR` and `EBUSY`, and the reconciliation of a
//! dump that came in more than one chunk with a second read whose chunks end elsewhere (see
//! [`ClientOptions::verify_dumps`](super::ClientOptions::verify_dumps)).

use std::collections::{HashMap, HashSet};

use ipvs_core::{
    AddressFamily, DestinationKey, DestinationStatus, Error, Object, Result, ServiceKey, ServiceStatus,
};
use netlink_packet_core::{NLMSG_DONE, NLMSG_ERROR};

use super::exchange::{Entries, Kind, Slot};
use super::options::{MAX_RECV_LEN, SKB_OVERHEAD};
use super::transport::Received;
use super::{errno, Client, On};
use crate::codec::{Frames, IpvsAttr, IpvsCmd, IpvsMessage};
use crate::convert;

/// What identifies a dump entry: the service's key, the real server's key, or the whole entry
/// (daemons). Entries are compared by identity only, so that changing counters do not make two
/// reads of the same table differ. Identities are decoded with the same decoders as the
/// entries themselves ([`convert::service_key_from_genl`], [`convert::dest_key_from_genl`]):
/// an entry whose identity does not decode is a decode error, never padded or cut to fit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Identity {
    Service(ServiceKey),
    Dest(DestinationKey),
    Other(Vec<u8>),
}

/// How the entries of a dump are identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdentityOf {
    /// Service entries (GET_SERVICE dump).
    Service,
    /// Real-server entries of a service of this family (GET_DEST dump; the family is used for
    /// entries without ADDR_FAMILY, from kernels before 3.18).
    Dest(AddressFamily),
    /// Anything else, by its bytes.
    Bytes,
}

impl IdentityOf {
    /// How the entries of the dump `req` asks for are identified.
    pub(crate) fn of(req: &IpvsMessage) -> Self {
        match req.cmd {
            IpvsCmd::GetService => IdentityOf::Service,
            IpvsCmd::GetDest => {
                let family = req
                    .service()
                    .and_then(|s| convert::service_key_from_attrs(s).ok())
                    .map_or(AddressFamily::Inet, |k| k.family());
                IdentityOf::Dest(family)
            }
            _ => IdentityOf::Bytes,
        }
    }

    pub(crate) fn identity(self, payload: &[u8]) -> Result<Identity> {
        Ok(match self {
            IdentityOf::Service => Identity::Service(convert::service_key_from_genl(payload)?),
            IdentityOf::Dest(family) => Identity::Dest(convert::dest_key_from_genl(payload, family)?),
            IdentityOf::Bytes => Identity::Other(payload.to_vec()),
        })
    }
}

/// What a GET or a dump brought back.
#[derive(Debug, Default)]
pub(crate) struct Reply {
    pub(crate) entries: Entries,
    /// The chunk each message came in.
    pub(crate) chunk_of: Vec<u32>,
    /// How many chunks carried messages.
    pub(crate) chunks: u32,
    /// Each entry's identity, for dumps of more than one chunk (empty otherwise).
    pub(crate) ids: Vec<Identity>,
}

impl Reply {
    fn from_slot(mut slot: Slot) -> Result<Reply> {
        let chunk_of = std::mem::take(&mut slot.chunk_of);
        let chunks = slot.chunks;
        Ok(Reply { entries: slot.into_result()?, chunk_of, chunks, ids: Vec::new() })
    }

    /// Computes the identities and drops the entries a dump sent twice, keeping the first.
    fn identify(&mut self, of: IdentityOf) -> Result<()> {
        let ids = self.entries.iter().map(|m| of.identity(m)).collect::<Result<Vec<_>>>()?;
        let mut seen = HashSet::with_capacity(ids.len());
        let keep: Vec<bool> = ids.iter().map(|id| seen.insert(id.clone())).collect();
        self.entries.retain(&keep);
        let mut k = keep.iter();
        self.chunk_of.retain(|_| *k.next().unwrap_or(&true));
        let mut k = keep.iter();
        self.ids = ids.into_iter().filter(|_| *k.next().unwrap_or(&true)).collect();
        Ok(())
    }

    /// The chunk boundaries: (last entry of a chunk, first entry of the next), by identity.
    pub(crate) fn boundaries(&self) -> Vec<(Identity, Identity)> {
        let mut out = Vec::new();
        for i in 1..self.ids.len() {
            if self.chunk_of.get(i) != self.chunk_of.get(i - 1) {
                if let (Some(a), Some(b)) = (self.ids.get(i - 1), self.ids.get(i)) {
                    out.push((a.clone(), b.clone()));
                }
            }
        }
        out
    }

    /// Where each entry is: identity → (index, chunk).
    pub(crate) fn positions(&self) -> HashMap<&Identity, (usize, u32)> {
        self.ids.iter().zip(&self.chunk_of).enumerate().map(|(i, (id, c))| (id, (i, *c))).collect()
    }

    /// The identities, as a set.
    fn identity_set(&self) -> HashSet<&Identity> {
        self.ids.iter().collect()
    }
}

/// The netlink header before each generic-netlink payload.
const NLMSG_HDRLEN: usize = 16;

/// Where the chunks of a dump of messages of `lens` bytes start (entry indices, after the
/// first), as `netlink_dump` fills them: each chunk takes messages while they fit its size,
/// `first_chunk` bytes for the first (produced when the request arrives) and `size` for the
/// others.
pub(crate) fn predicted_starts(
    lens: &[usize],
    first_chunk: usize,
    size: usize,
) -> impl Iterator<Item = usize> + '_ {
    let mut cap = first_chunk.max(1);
    let mut used = 0;
    lens.iter().enumerate().filter_map(move |(i, &len)| {
        if used + len > cap && used > 0 {
            cap = size.max(1);
            used = len;
            Some(i)
        } else {
            used += len;
            None
        }
    })
}

/// Whether `a` comes before `b` in one chunk, given a reply's [`Reply::positions`].
pub(crate) fn same_chunk(positions: &HashMap<&Identity, (usize, u32)>, a: &Identity, b: &Identity) -> bool {
    match (positions.get(a), positions.get(b)) {
        (Some((i, ci)), Some((j, cj))) => i < j && ci == cj,
        _ => false,
    }
}

impl Client {
    /// Reads through `reqs` (GET requests and dumps) on socket `on`, retrying the whole
    /// exchange when a dump was interrupted or refused as busy. The entries of a dump that
    /// came in more than one chunk are identified, and those the kernel sent twice dropped.
    /// Returns what each request brought back, or the first request's error.
    pub(crate) fn read(&mut self, on: On, reqs: &[(&IpvsMessage, Kind)]) -> Result<Vec<Reply>> {
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
            let mut replies = slots.into_iter().map(Reply::from_slot).collect::<Result<Vec<_>>>()?;
            if interrupted {
                continue;
            }
            // The 6.1 dumps resume by position (see ClientOptions::verify_dumps): an entry sent
            // twice is such a shift, and harmless; keep the first copy. One chunk was produced
            // in one go and cannot repeat an entry.
            for ((reply, kind), (req, _)) in replies.iter_mut().zip(&kinds).zip(reqs) {
                if *kind == Kind::Dump && reply.chunks > 1 {
                    reply.identify(IdentityOf::of(req))?;
                }
            }
            return Ok(replies);
        }
        Err(Error::interrupted(attempts))
    }

    /// Makes sure a dump that came in more than one chunk (`first`, read on the main socket)
    /// is whole, for dumps whose entries cannot be read one by one (real servers, daemons): it
    /// is read again, alternating the verifying and the main socket (their chunks end at
    /// different entries), until a read comes in one chunk (produced in one go under the IPVS
    /// mutex, so whole) or two reads have the same entries.
    pub(crate) fn settle(&mut self, req: &IpvsMessage, first: Reply) -> Result<Entries> {
        if first.chunks <= 1 || self.verify.is_none() {
            return Ok(first.entries);
        }
        let attempts = self.opts.dump_attempts.max(2);
        let mut current = first;
        let mut on = On::Verify;
        for _ in 1..attempts {
            let again = self.read(on, &[(req, Kind::Dump)])?.pop().unwrap_or_default();
            // One chunk was produced in one go; two reads that agree were not shifted.
            if again.chunks <= 1 || again.identity_set() == current.identity_set() {
                return Ok(again.entries);
            }
            current = again;
            on = if on == On::Verify { On::Main } else { On::Verify };
        }
        Err(Error::interrupted(attempts))
    }

    /// Gives the verifying socket chunks of another size than in its last read (and than the
    /// main socket's), so that its next dump ends its chunks at other entries. The kernel sizes
    /// a socket's dump chunks by the largest buffer ever passed to `recvmsg` on it, so the size
    /// can only grow: through [`ChunkSizes::verify`](super::ChunkSizes::verify), then the
    /// socket is replaced by a fresh one, opened in the client's namespace (whatever thread
    /// calls). Without a handle on that namespace the socket stays at its largest size. Called
    /// after each service-dump check.
    fn next_verify_chunk(&mut self) -> Result<()> {
        let Some(v) = self.verify.as_mut() else { return Ok(()) };
        let next = v.rx.len() + self.chunks.verify_step;
        if next <= self.chunks.verify_max {
            v.rx.resize(next, 0);
            return Ok(());
        }
        if let Some(reopen) = &self.reopen {
            *v = reopen(&self.opts, self.chunks.verify_first)?;
        }
        Ok(())
    }

    /// Sizes the verifying socket for the read after `first` (a read of it in more than one
    /// chunk) so that, as far as the kernel's way of filling chunks predicts, no chunk of that
    /// read ends where one of `first` ends: of the sizes the socket can take (its length can
    /// only grow; a fresh socket starts at `NLMSG_GOODSIZE`), the largest such (fewest
    /// restarts of the kernel's walk). A wrong prediction only costs another read: every
    /// boundary is still checked.
    fn choose_verify_chunk(&mut self, first: &Reply) -> Result<()> {
        let Some(v) = self.verify.as_ref() else { return Ok(()) };
        // Where the first read's chunks start (entry indices).
        let starts: HashSet<usize> = (1..first.entries.len())
            .filter(|&i| first.chunk_of.get(i) != first.chunk_of.get(i - 1))
            .collect();
        let lens: Vec<usize> =
            first.entries.iter().map(|m| (NLMSG_HDRLEN + m.len()).next_multiple_of(4)).collect();
        let conflicts = |first_chunk: usize, size: usize| {
            predicted_starts(&lens, first_chunk, size)
                .map(|q| {
                    2 * usize::from(starts.contains(&q))
                        + usize::from(starts.contains(&(q + 1)))
                        + usize::from(q > 0 && starts.contains(&(q - 1)))
                })
                .sum::<usize>()
        };
        let goodsize = super::socket::page_size().min(8192) - SKB_OVERHEAD;
        let seen = v.seen;
        let current = v.rx.len();
        // (conflicts, reopen, size): the fewest conflicts, then no new socket, then the largest.
        let mut best: Option<(usize, bool, usize)> = None;
        let step = 256;
        let low = self.chunks.verify_first.min(current);
        let mut size = MAX_RECV_LEN;
        while size >= low {
            for reopen in [false, true] {
                if !reopen && size < current {
                    continue;
                }
                let first_chunk = if reopen { goodsize } else { seen.max(goodsize) };
                let c = conflicts(first_chunk, size);
                let better = match best {
                    None => true,
                    Some((bc, br, _)) => c < bc || (c == bc && !reopen && br),
                };
                if better {
                    best = Some((c, reopen, size));
                }
            }
            size -= step.min(size);
        }
        let Some((_, reopen, size)) = best else { return Ok(()) };
        if reopen {
            if let Some(open) = &self.reopen {
                let fresh = open(&self.opts, size)?;
                self.verify = Some(fresh);
                return Ok(());
            }
        }
        if let Some(v) = self.verify.as_mut() {
            if size > v.rx.len() {
                v.rx.resize(size, 0);
            }
        }
        Ok(())
    }

    /// The service dump, whole: see [`ClientOptions::verify_dumps`](super::ClientOptions::verify_dumps).
    ///
    /// Every read is on the verifying socket, with another chunk size each time (see
    /// [`Client::next_verify_chunk`]). A service the kernel skipped at a chunk boundary of the
    /// first read lies between the two
    /// entries around that boundary. A later read that has both of them in one chunk (produced
    /// in one go under the IPVS mutex) has every service that lies between them. So the dump is
    /// read again until every boundary of the first read is covered that way (up to
    /// `dump_attempts` reads in all; with no change meanwhile, the second read covers them,
    /// as its chunks end elsewhere). Services that the last read lacks but an
    /// earlier one had are then read one by one (GET_SERVICE, pipelined): kept if they exist,
    /// dropped if not. Only the last read is decoded in full.
    pub(crate) fn service_dump(&mut self) -> Result<Vec<ServiceStatus>> {
        let req = IpvsMessage::new(IpvsCmd::GetService, vec![]);
        if self.verify.is_none() {
            let first = self.read(On::Main, &[(&req, Kind::Dump)])?.pop().unwrap_or_default();
            return first.entries.decode(convert::service_status_from_genl);
        }
        // Every read of the list goes through the verifying socket, whose chunks are large
        // (few restarts of the kernel's walk, each from the start of its table) and of another
        // size from one read to the next.
        let first = self.read(On::Verify, &[(&req, Kind::Dump)])?.pop().unwrap_or_default();
        if first.chunks <= 1 {
            self.next_verify_chunk()?;
            return first.entries.decode(convert::service_status_from_genl);
        }
        // The second read's chunk size is chosen so that none of its chunks ends where one of
        // the first read's does: with no change meanwhile, it covers every boundary at once.
        self.choose_verify_chunk(&first)?;
        let mut uncovered = first.boundaries();
        // Seen in an earlier read only, so far: (identity, entry).
        let mut extra: Vec<(Identity, Vec<u8>)> = Vec::new();
        let mut last = first;
        let attempts = self.opts.dump_attempts.max(2);
        for _ in 1..attempts {
            let mut again = self.read(On::Verify, &[(&req, Kind::Dump)])?.pop().unwrap_or_default();
            self.next_verify_chunk()?;
            if again.ids.is_empty() && again.entries.len() > 0 {
                // A read in one chunk is not identified by `read`.
                again.identify(IdentityOf::Service)?;
            }
            {
                let positions = again.positions();
                uncovered.retain(|(a, b)| !same_chunk(&positions, a, b));
                // Keep what earlier reads had and this one lacks, to be checked at the end.
                extra.retain(|(id, _)| !positions.contains_key(id));
                for (id, m) in last.ids.iter().zip(last.entries.iter()) {
                    if !positions.contains_key(id) {
                        extra.push((id.clone(), m.to_vec()));
                    }
                }
            }
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
        let mut seen = HashSet::new();
        extra.retain(|(id, _)| seen.insert(id.clone()));
        let gets: Vec<IpvsMessage> = extra
            .iter()
            .filter_map(|(id, _)| match id {
                Identity::Service(k) => Some(k),
                _ => None,
            })
            .map(|k| {
                IpvsMessage::new(IpvsCmd::GetService, vec![IpvsAttr::Service(convert::service_key_attrs(k))])
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
                    Err(Error::NotFound { object: Object::Service, .. }) => {}
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
            chan.seen = chan.seen.max(chan.rx.len());
            let len = match chan.sock.recv(&mut chan.rx, false) {
                Ok(Received::Datagram { len, sender: 0 }) => len,
                Ok(Received::Datagram { .. }) => continue,
                Ok(Received::WouldBlock) => return Err(Error::Timeout),
                Err(e) => return Err(errno::io(&e, "receiving IPVS replies")),
            };
            let ended = Frames::new(chan.rx.get(..len).unwrap_or_default())
                .filter_map(|f| f.ok())
                .any(|f| matches!(f.header.message_type, NLMSG_DONE | NLMSG_ERROR));
            if ended {
                return Ok(());
            }
        }
    }

    /// A dump whose entries cannot be read one by one (real servers, daemons), settled.
    pub(crate) fn dump(&mut self, msg: &IpvsMessage) -> Result<Entries> {
        let first = self.read(On::Main, &[(msg, Kind::Dump)])?.pop().unwrap_or_default();
        self.settle(msg, first)
    }

    /// A GET request's one reply message, as the kernel's generic-netlink payload.
    pub(crate) fn get_payload(&mut self, msg: &IpvsMessage) -> Result<Vec<u8>> {
        let name = errno::describe(msg.cmd);
        let reply = self.read(On::Main, &[(msg, Kind::Get)])?.pop().unwrap_or_default();
        Ok(reply.entries.single(name)?.to_vec())
    }

    /// The real servers of a service, settled.
    pub(crate) fn dest_dump(&mut self, key: &ServiceKey) -> Result<Vec<DestinationStatus>> {
        let dump =
            IpvsMessage::new(IpvsCmd::GetDest, vec![IpvsAttr::Service(convert::service_key_attrs(key))]);
        self.dump(&dump)?.decode(|m| convert::dest_status_from_genl(m, key.family()))
    }
}
