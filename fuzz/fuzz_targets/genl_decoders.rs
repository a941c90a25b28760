//! The client's read-path decoders on any generic-netlink payload:
//! `convert::{service_status_from_genl, dest_status_from_genl, service_key_from_genl,
//! dest_key_from_genl, daemon_from_genl}`. Never panics, and each agrees with the codec path
//! (`IpvsMessage::decode` then the `*_from_message` decoders) that it replaces: wherever the
//! codec path reads a value the fast path reads the same one, and it refuses what the codec
//! refuses in the nest it reads and in the framing of the payload (it does not look inside the
//! other nests: a reply has one); a key decoded alone is the key of the full decode.
#![no_main]

use ipvs_core::AddressFamily;
use ipvs_sys_netlink::codec::IpvsMessage;
use ipvs_sys_netlink::convert;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let codec = IpvsMessage::decode(data);

    let fast = convert::service_status_from_genl(data);
    let slow =
        codec.as_ref().map_err(|_| ()).and_then(|m| convert::service_status_from_message(m).map_err(drop));
    if slow.is_ok() {
        assert_eq!(fast.as_ref().ok(), slow.as_ref().ok(), "service: fast {fast:?} vs codec {slow:?}");
    }
    if let Ok(st) = &fast {
        let key = convert::service_key_from_genl(data);
        assert_eq!(key.as_ref().ok(), Some(&st.service.key), "service key alone: {key:?}");
    }

    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
        let fast = convert::dest_status_from_genl(data, family);
        let slow = codec
            .as_ref()
            .map_err(|_| ())
            .and_then(|m| convert::dest_status_from_message(m, family).map_err(drop));
        if slow.is_ok() {
            assert_eq!(fast.as_ref().ok(), slow.as_ref().ok(), "dest: fast {fast:?} vs codec {slow:?}");
        }
        if let Ok(st) = &fast {
            let key = convert::dest_key_from_genl(data, family);
            assert_eq!(key.as_ref().ok(), Some(&st.dest.key()), "dest key alone: {key:?}");
        }
    }

    let daemon = convert::daemon_from_genl(data);
    if let (Ok(d), Ok(m)) = (&daemon, &codec) {
        let again = m.daemon().map(convert::daemon_from_attrs);
        assert_eq!(again.and_then(Result::ok).as_ref(), Some(d));
    }
    let _ = convert::message_from_genl(data);
});
