//! One request/reply exchange with the kernel, sans-IO: the requests are encoded into one
//! buffer with consecutive sequence numbers, and every datagram the socket receives is handed
//! in; the exchange matches each message to its request and says when every request has its
//! answer. It performs no I/O and reads no clock, so every path (chunked dumps,
//! `NLM_F_DUMP_INTR`, `EBUSY`, dropped replies, stale and foreign messages, sequence numbers
//! wrapping) is tested on the host.
//!
//! The client drives it (`Client::exchange`): [`Exchange::encode`], send the buffer, then
//! receive until [`Exchange::done`], passing each datagram to [`Exchange::handle_datagram`],
//! an `ENOBUFS` to [`Exchange::handle_overrun`], and a receive that found nothing to
//! [`Exchange::silence`].

use ipvs_core::{Error, Operation, Result};

use super::encode::encode_operation;
use super::errno;
use crate::codec::consts::{NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR};
use crate::codec::{encode_request_into, Frames, IpvsCmd, IpvsMessage, MessageBody, RequestHeader};

/// What a request expects back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
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
pub(crate) struct Entries {
    raw: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

impl Entries {
    pub(crate) fn push(&mut self, payload: &[u8]) {
        let start = self.raw.len();
        self.raw.extend_from_slice(payload);
        self.spans.push((start, self.raw.len()));
    }

    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    pub(crate) fn get(&self, i: usize) -> &[u8] {
        self.spans.get(i).and_then(|&(a, b)| self.raw.get(a..b)).unwrap_or_default()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Keeps the entries whose flag is set (`keep` has one flag per entry).
    pub(crate) fn retain(&mut self, keep: &[bool]) {
        let mut k = keep.iter();
        self.spans.retain(|_| *k.next().unwrap_or(&true));
    }

    /// Each entry decoded by `f`.
    pub(crate) fn decode<T>(&self, f: impl Fn(&[u8]) -> Result<T>) -> Result<Vec<T>> {
        self.iter().map(f).collect()
    }

    /// The one entry of a GET reply, or a decode error naming the request.
    pub(crate) fn single(&self, what: &str) -> Result<&[u8]> {
        if self.len() != 1 {
            return Err(Error::decode(format!("{what}: expected one reply message, got {}", self.len())));
        }
        Ok(self.get(0))
    }
}

/// One outstanding request and what came back for it.
#[derive(Debug)]
pub(crate) struct Slot {
    /// The request's sequence number.
    pub(crate) seq: u32,
    pub(crate) cmd: IpvsCmd,
    pub(crate) kind: Kind,
    pub(crate) entries: Entries,
    /// The chunk (datagram with data, counted from 0) each message came in.
    pub(crate) chunk_of: Vec<u32>,
    /// How many datagrams carried data for this request: for a dump, how many times the
    /// kernel's dump function produced entries.
    pub(crate) chunks: u32,
    /// The kernel flagged the dump as inconsistent (`NLM_F_DUMP_INTR`).
    pub(crate) interrupted: bool,
    /// The kernel refused the dump with `EBUSY`: another dump is running on the socket.
    pub(crate) busy: bool,
    /// The answer: `None` while none came.
    pub(crate) result: Option<Result<()>>,
}

impl Slot {
    fn new(seq: u32, cmd: IpvsCmd, kind: Kind) -> Self {
        Slot {
            seq,
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

    /// The entries, or the request's error.
    pub(crate) fn into_result(self) -> Result<Entries> {
        match self.result {
            Some(Ok(())) => Ok(self.entries),
            Some(Err(e)) => Err(e),
            None => Err(Error::Timeout),
        }
    }
}

/// Requests sent together and the answers collected so far.
#[derive(Debug)]
pub(crate) struct Exchange {
    slots: Vec<Slot>,
    first_seq: u32,
    open: usize,
    overrun: bool,
    family_id: u16,
    port: u32,
}

impl Exchange {
    /// Encodes `reqs` into `tx` (cleared first) with consecutive sequence numbers taken from
    /// `next_seq`, which is advanced past them. Sequence numbers wrap through 0, so that they
    /// stay consecutive: the slot of a reply is its sequence number minus the first one.
    pub(crate) fn encode(
        reqs: &[(&IpvsMessage, Kind)],
        family_id: u16,
        port: u32,
        next_seq: &mut u32,
        tx: &mut Vec<u8>,
    ) -> Result<Exchange> {
        tx.clear();
        let first_seq = *next_seq;
        let mut slots = Vec::with_capacity(reqs.len());
        for (msg, kind) in reqs {
            let sequence = *next_seq;
            *next_seq = next_seq.wrapping_add(1);
            let flags = match kind {
                Kind::Ack | Kind::Get => NLM_F_ACK,
                Kind::Dump => NLM_F_DUMP,
            };
            let header = RequestHeader { family_id, flags, sequence, port: 0 };
            encode_request_into(tx, msg, header)
                .map_err(|e| Error::decode(format!("cannot encode the request: {e}")))?;
            slots.push(Slot::new(sequence, msg.cmd, *kind));
        }
        Ok(Exchange { open: slots.len(), slots, first_seq, overrun: false, family_id, port })
    }

    /// [`Exchange::encode`] for table changes (each expecting an acknowledgement), written
    /// straight into `tx` ([`encode_operation`]). Encodes as many of `ops` as fit in
    /// `max_bytes` (at least one); the caller sends the rest later. Returns the exchange and
    /// how many operations it holds.
    pub(crate) fn encode_ops(
        ops: &[&Operation],
        max_bytes: usize,
        family_id: u16,
        port: u32,
        next_seq: &mut u32,
        tx: &mut Vec<u8>,
    ) -> Result<(Exchange, usize)> {
        tx.clear();
        let first_seq = *next_seq;
        let mut slots = Vec::with_capacity(ops.len());
        for op in ops {
            let sequence = *next_seq;
            let before = tx.len();
            let header = RequestHeader { family_id, flags: NLM_F_ACK, sequence, port: 0 };
            encode_operation(tx, op, header)?;
            if !slots.is_empty() && tx.len() > max_bytes {
                tx.truncate(before);
                break;
            }
            *next_seq = next_seq.wrapping_add(1);
            slots.push(Slot::new(sequence, op_cmd(op), Kind::Ack));
        }
        let n = slots.len();
        Ok((Exchange { open: n, slots, first_seq, overrun: false, family_id, port }, n))
    }

    /// Whether every request has its answer.
    pub(crate) fn done(&self) -> bool {
        self.open == 0
    }

    /// Whether the next receive must not wait: after an overrun every reply to the buffer is
    /// already queued (the kernel produced them while it processed the `sendmsg`).
    pub(crate) fn nonblocking(&self) -> bool {
        self.overrun
    }

    /// The socket reported `ENOBUFS`: some replies were dropped. Read what is left without
    /// waiting; the requests whose reply is missing get `ENOBUFS`.
    pub(crate) fn handle_overrun(&mut self) {
        self.overrun = true;
    }

    /// A receive found nothing (the timeout expired, or nothing was left after an overrun):
    /// the error for the requests without an answer.
    pub(crate) fn silence(&self) -> Error {
        if self.overrun {
            errno::os(
                libc::ENOBUFS,
                "receiving IPVS replies",
                Some("the kernel dropped replies: the receive buffer overflowed"),
            )
        } else {
            Error::Timeout
        }
    }

    /// Gives `e` to every request without an answer.
    pub(crate) fn fail_open(&mut self, e: &Error) {
        for s in self.slots.iter_mut().filter(|s| s.result.is_none()) {
            s.result = Some(Err(e.clone()));
        }
        self.open = 0;
    }

    /// Gives `e` to every request, answered or not.
    pub(crate) fn fail_all(&mut self, e: &Error) {
        for s in &mut self.slots {
            s.result = Some(Err(e.clone()));
        }
        self.open = 0;
    }

    /// The requests with what came back, in the order they were sent.
    pub(crate) fn into_slots(self) -> Vec<Slot> {
        self.slots
    }

    /// Hands every message of one datagram from port `sender` to the request it answers.
    /// Datagrams not from the kernel (another process writing to our port), messages for
    /// another port and messages for no outstanding request (a late reply to an earlier
    /// exchange) are skipped. Returns an error only when the datagram cannot be split into
    /// messages.
    pub(crate) fn handle_datagram(&mut self, buf: &[u8], sender: u32) -> Result<()> {
        if sender != 0 {
            return Ok(());
        }
        let mut with_data: Vec<usize> = Vec::new();
        for frame in Frames::new(buf) {
            let frame = frame.map_err(|e| Error::decode(e.to_string()))?;
            let h = frame.header;
            if h.port != self.port {
                continue;
            }
            let idx = h.sequence.wrapping_sub(self.first_seq) as usize;
            let Some(slot) = self.slots.get_mut(idx).filter(|s| s.seq == h.sequence && s.result.is_none())
            else {
                continue; // stale: an earlier request's late reply
            };
            // The 6.1 IPVS dumps never set it (they keep no generation counter), but a dump that
            // changed under us must not pass for a consistent one. Checked on DONE too.
            if h.flags & NLM_F_DUMP_INTR != 0 {
                slot.interrupted = true;
            }
            if h.message_type == self.family_id {
                // Kept as bytes; decoded when read (see Entries).
                slot.entries.push(frame.payload());
                slot.chunk_of.push(slot.chunks);
                if !with_data.contains(&idx) {
                    with_data.push(idx);
                }
                continue;
            }
            // NLMSG_ERROR ends a request (an ack, or its error), NLMSG_DONE a dump (with the
            // dump's final status: a negative errno if it failed midway). A control message
            // that does not decode ends its request with a decode error.
            let r = match frame.decode_control() {
                Ok(Some(MessageBody::Error { code: 0, .. })) => Ok(()),
                Ok(Some(MessageBody::Error { code, message, .. })) if code < 0 => {
                    let errno = code.saturating_neg();
                    if slot.kind == Kind::Dump && errno == libc::EBUSY {
                        slot.busy = true;
                    }
                    Err(errno::map(slot.cmd, errno, message.as_deref()))
                }
                Ok(Some(MessageBody::Error { code, .. })) => {
                    Err(Error::decode(format!("NLMSG_ERROR with positive code {code}")))
                }
                Ok(Some(MessageBody::Done { code, message, .. })) => {
                    if code < 0 {
                        Err(errno::map(slot.cmd, code.saturating_neg(), message.as_deref()))
                    } else {
                        Ok(())
                    }
                }
                // NLMSG_NOOP, NLMSG_OVERRUN, other families: nothing to do.
                Ok(_) => continue,
                Err(e) => Err(Error::decode(e.to_string())),
            };
            slot.result = Some(r);
            self.open -= 1;
        }
        for idx in with_data {
            if let Some(slot) = self.slots.get_mut(idx) {
                slot.chunks += 1;
            }
        }
        Ok(())
    }
}

/// Slots for `reqs` that all failed with `e` (the requests could not be encoded).
pub(crate) fn failed(reqs: &[(&IpvsMessage, Kind)], e: &Error) -> Vec<Slot> {
    reqs.iter()
        .map(|(m, k)| {
            let mut s = Slot::new(0, m.cmd, *k);
            s.result = Some(Err(e.clone()));
            s
        })
        .collect()
}

/// The command of the request for `op` (what [`convert::operation_message`] would give).
///
/// [`convert::operation_message`]: crate::convert::operation_message
pub(crate) fn op_cmd(op: &Operation) -> IpvsCmd {
    match op {
        Operation::AddService(_) => IpvsCmd::NewService,
        Operation::EditService(_) => IpvsCmd::SetService,
        Operation::DeleteService(_) => IpvsCmd::DelService,
        Operation::AddDestination(..) => IpvsCmd::NewDest,
        Operation::EditDestination(..) => IpvsCmd::SetDest,
        Operation::DeleteDestination(..) => IpvsCmd::DelDest,
        Operation::Flush => IpvsCmd::Flush,
        Operation::Zero(_) => IpvsCmd::Zero,
        Operation::SetTimeouts(_) => IpvsCmd::SetConfig,
        Operation::StartDaemon(_) => IpvsCmd::NewDaemon,
        Operation::StopDaemon(_) => IpvsCmd::DelDaemon,
        _ => IpvsCmd::from(0),
    }
}
