//! Structure-aware: any operation (valid or not) goes through `convert::operation_message`
//! and the request encoder without panicking; a valid one, decoded again
//! (`parse_reply`, then `convert::operation_from_message`), is the same operation, as the
//! kernel would read it.
#![no_main]

use arbitrary::Unstructured;
use ipvs_core::Operation;
use ipvs_sys_netlink::codec::{consts::NLM_F_ACK, encode_request, parse_reply, RequestHeader};
use ipvs_sys_netlink::convert;
use libfuzzer_sys::fuzz_target;

/// What a valid operation reads back as: the kernel's HASHED flag is never sent.
fn as_sent(op: &Operation) -> Operation {
    let mut op = op.clone();
    if let Operation::AddService(s) | Operation::EditService(s) = &mut op {
        s.flags = s.flags_to_write();
    }
    op
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(op) = ipvs_fuzz::operation(&mut u) else { return };
    let valid = op.validate().is_ok();
    let Ok(msg) = convert::operation_message(&op) else { return };
    let header = RequestHeader { family_id: 0x20, flags: NLM_F_ACK, sequence: 7, port: 0 };
    let Ok(bytes) = encode_request(&msg, header) else {
        assert!(!valid, "a valid operation does not encode: {op:?}");
        return;
    };
    let msgs = parse_reply(&bytes).expect("an encoded request decodes");
    assert_eq!(msgs.len(), 1);
    let decoded = msgs[0].ipvs().expect("an IPVS message");
    let back = convert::operation_from_message(decoded);
    if valid {
        // (An invalid name such as "\0" is sent NUL-terminated and reads back shorter.)
        assert_eq!(decoded, &msg, "decode(encode(msg)) != msg");
        let back = back.unwrap_or_else(|e| panic!("{op:?} does not read back: {e}"));
        assert_eq!(back, as_sent(&op));
    }
});
