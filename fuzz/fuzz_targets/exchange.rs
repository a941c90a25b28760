//! The client's reply matching (its sans-IO `exchange`, through the hidden
//! `client::fuzzing::exchange` entry point) on any sequence of datagrams. Input: family id
//! (u16), port id (u32), first sequence number (u32), a count byte and that many request kinds,
//! then datagrams, each a sender port (u32: 0 is the kernel) and a u16 length before its bytes.
//! Never panics; requests keep consecutive sequence numbers (wrapping), every entry is counted
//! in a chunk, and an exchange is done only when every request has its answer.
#![no_main]

use ipvs_sys_netlink::client::fuzzing::exchange;
use libfuzzer_sys::fuzz_target;

fn take<'a>(data: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, rest) = data.split_at_checked(n)?;
    *data = rest;
    Some(head)
}

fn u32_of(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fuzz_target!(|data: &[u8]| {
    let mut d = data;
    let Some(head) = take(&mut d, 11) else { return };
    let family_id = u16::from_le_bytes([head[0], head[1]]);
    let port = u32_of(&head[2..6]);
    let first_seq = u32_of(&head[6..10]);
    let Some(kinds) = take(&mut d, usize::from(head[10] % 9)) else { return };
    let mut datagrams = Vec::new();
    while let Some(sender) = take(&mut d, 4) {
        let sender = u32_of(sender);
        let Some(len) = take(&mut d, 2) else { break };
        let len = usize::from(u16::from_le_bytes([len[0], len[1]]));
        let avail = d.len();
        let buf = take(&mut d, len.min(avail)).unwrap_or_default();
        datagrams.push((buf, sender));
    }
    let (slots, done, broken) = exchange(family_id, port, first_seq, kinds, &datagrams);
    if slots.is_empty() {
        return; // requests that cannot be encoded (a family id below NLMSG_MIN_TYPE)
    }
    assert_eq!(slots.len(), kinds.len());
    for (i, s) in slots.iter().enumerate() {
        assert_eq!(s.sequence, first_seq.wrapping_add(i as u32));
        assert!(s.chunks as usize <= s.entries, "more chunks than entries: {s:?}");
        // A datagram that does not split into messages fails the exchange midway (the client
        // then uses no slot); otherwise every entry came in a counted chunk.
        assert!(broken || s.entries == 0 || s.chunks >= 1, "entries without a chunk: {s:?}");
    }
    assert_eq!(done, slots.iter().all(|s| s.answered));
});
