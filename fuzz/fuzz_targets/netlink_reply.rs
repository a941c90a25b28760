//! The codec's reply decoder on any receive buffer: `parse_messages`, `parse_reply`, `Frames`
//! with `Frame::decode` and `Frame::decode_control`. Never panics; every IPVS message that
//! decodes re-encodes to bytes that decode to the same message.
#![no_main]

use ipvs_sys_netlink::codec::{
    encode_message, parse_messages, parse_reply, Frames, Message, MessageBody, MessageHeader,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let all: Vec<_> = parse_messages(data).collect();
    let strict = parse_reply(data);
    // parse_reply is parse_messages stopping at the first error.
    match &strict {
        Ok(msgs) => assert_eq!(msgs.len(), all.len()),
        Err(_) => assert!(all.iter().any(|m| m.is_err())),
    }
    for frame in Frames::new(data).flatten() {
        assert_eq!(frame.bytes.len(), frame.header.length as usize);
        let control = frame.decode_control();
        let Ok(msg) = frame.decode() else { continue };
        if let (Ok(Some(body)), MessageBody::Ipvs(_)) = (&control, &msg.body) {
            panic!("a control message decoded as IPVS: {body:?}");
        }
        let MessageBody::Ipvs(ipvs) = msg.body else { continue };
        let header = MessageHeader { length: 0, ..frame.header };
        let bytes = encode_message(&Message { header, body: MessageBody::Ipvs(ipvs.clone()) })
            .expect("a decoded message encodes");
        let again = parse_reply(&bytes).expect("re-encoded bytes decode");
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].ipvs(), Some(&ipvs), "decode(encode(m)) != m");
    }
});
