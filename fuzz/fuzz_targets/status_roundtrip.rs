//! Structure-aware: a service or real server as a kernel reports it (any counters), emitted
//! the way a 6.1 kernel writes it (`convert::service_reply_attrs` / `dest_reply_attrs`, then
//! `encode_message`), comes back equal through the client's read path
//! (`convert::service_status_from_genl` / `dest_status_from_genl`).
#![no_main]

use arbitrary::Unstructured;
use ipvs_sys_netlink::codec::{
    consts::NLM_F_MULTI, encode_message, IpvsAttr, IpvsCmd, IpvsMessage, Message, MessageBody, MessageHeader,
    NLMSG_HDRLEN,
};
use ipvs_sys_netlink::convert;
use libfuzzer_sys::fuzz_target;

fn genl_payload(msg: IpvsMessage) -> Vec<u8> {
    let header = MessageHeader { length: 0, message_type: 0x20, flags: NLM_F_MULTI, sequence: 1, port: 9 };
    let bytes = encode_message(&Message { header, body: MessageBody::Ipvs(msg) }).expect("encodes");
    bytes[NLMSG_HDRLEN..].to_vec()
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    if let Ok(st) = ipvs_fuzz::service_status(&mut u) {
        let attrs = convert::service_reply_attrs(&st);
        let payload = genl_payload(IpvsMessage::new(IpvsCmd::NewService, vec![IpvsAttr::Service(attrs)]));
        let back = convert::service_status_from_genl(&payload);
        // A kernel only ever holds services that validate (names included).
        if st.service.validate().is_ok() {
            assert_eq!(back.as_ref().ok(), Some(&st), "service read back as {back:?}");
            assert_eq!(convert::service_key_from_genl(&payload).ok(), Some(st.service.key));
        }
    }
    if let Ok(st) = ipvs_fuzz::dest_status(&mut u) {
        let family = st.dest.family();
        let attrs = convert::dest_reply_attrs(&st);
        let payload = genl_payload(IpvsMessage::new(IpvsCmd::NewDest, vec![IpvsAttr::Dest(attrs)]));
        let back = convert::dest_status_from_genl(&payload, family);
        // The kernel holds weights and thresholds as ints: only valid ones can come back.
        if st.dest.validate().is_ok() {
            assert_eq!(back.as_ref().ok(), Some(&st), "real server read back as {back:?}");
            assert_eq!(convert::dest_key_from_genl(&payload, family).ok(), Some(st.dest.key()));
        }
    }
});
