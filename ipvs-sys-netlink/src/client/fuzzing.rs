//! **Not API.** An entry point into the client's sans-IO reply matching (the `exchange`
//! module), for the fuzz targets in `fuzz/` only. It may change or go away in any release.
//!
//! [`exchange`] encodes `kinds.len()` requests (a change, a GET or a dump for each kind byte,
//! modulo 3) with consecutive sequence numbers from `first_seq`, then hands every datagram in
//! to the matching code exactly as the client does after a `recvmsg`, and decodes what each
//! request collected with the read path's decoders. It opens nothing and never panics; what
//! it returns is only a summary for the fuzz target's own checks.

use ipvs_core::AddressFamily;

use super::exchange::{Exchange, Kind};
use crate::codec::{IpvsAttr, IpvsCmd, IpvsMessage, ServiceAttr};
use crate::convert;

/// What one request of [`exchange`] ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotSummary {
    /// The request's sequence number.
    pub sequence: u32,
    /// Messages collected for it.
    pub entries: usize,
    /// Datagrams that carried data for it.
    pub chunks: u32,
    /// Whether an answer (acknowledgement, error, DONE) ended it.
    pub answered: bool,
    /// Whether the kernel flagged it `NLM_F_DUMP_INTR`.
    pub interrupted: bool,
}

/// Runs the reply matching over `datagrams` (each with its sender port); see the
/// [module docs](self). Returns one summary per request, whether every request was answered,
/// and whether a datagram could not be split into messages (which fails every open request,
/// as in the client, whose read then returns that error and uses none of the slots).
pub fn exchange(
    family_id: u16,
    port: u32,
    first_seq: u32,
    kinds: &[u8],
    datagrams: &[(&[u8], u32)],
) -> (Vec<SlotSummary>, bool, bool) {
    let msgs: Vec<(IpvsMessage, Kind)> = kinds
        .iter()
        .map(|k| match k % 3 {
            0 => (IpvsMessage::new(IpvsCmd::Flush, vec![]), Kind::Ack),
            1 => (IpvsMessage::new(IpvsCmd::GetService, vec![]), Kind::Get),
            _ => (
                IpvsMessage::new(
                    IpvsCmd::GetDest,
                    vec![IpvsAttr::Service(vec![ServiceAttr::AddressFamily(libc::AF_INET as u16)])],
                ),
                Kind::Dump,
            ),
        })
        .collect();
    let reqs: Vec<(&IpvsMessage, Kind)> = msgs.iter().map(|(m, k)| (m, *k)).collect();
    let mut next_seq = first_seq;
    let mut tx = Vec::new();
    let Ok(mut ex) = Exchange::encode(&reqs, family_id, port, &mut next_seq, &mut tx) else {
        return (Vec::new(), false, false);
    };
    let mut broken = false;
    for (buf, sender) in datagrams {
        if ex.done() {
            break;
        }
        if let Err(e) = ex.handle_datagram(buf, *sender) {
            ex.fail_open(&e);
            broken = true;
        }
    }
    let done = ex.done();
    let summaries = ex
        .into_slots()
        .into_iter()
        .map(|s| {
            // The read path's decoders over what came back (results are not judged here).
            for entry in s.entries.iter() {
                let _ = convert::service_status_from_genl(entry);
                let _ = convert::dest_status_from_genl(entry, AddressFamily::Inet);
                let _ = convert::service_key_from_genl(entry);
                let _ = convert::dest_key_from_genl(entry, AddressFamily::Inet6);
            }
            SlotSummary {
                sequence: s.seq,
                entries: s.entries.len(),
                chunks: s.chunks,
                answered: s.result.is_some(),
                interrupted: s.interrupted,
            }
        })
        .collect();
    (summaries, done, broken)
}
