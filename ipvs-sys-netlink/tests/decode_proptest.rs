//! The client's read path decodes the kernel's bytes straight into the model
//! (`convert::service_status_from_genl`, `dest_status_from_genl`, and the identity decoders the
//! dump reconciliation uses); the codec path decodes the whole message first
//! (`IpvsMessage`, then `service_status_from_message`). There is one decoder per attribute, so
//! both must agree on every input: the same value, or both an error. These properties feed
//! them nests of arbitrary attributes, well-formed and not.
#![allow(clippy::unwrap_used)]

use ipvs_core::AddressFamily;
use ipvs_sys_netlink::codec::consts::*;
use ipvs_sys_netlink::convert;
use proptest::prelude::*;

/// One attribute: its type and value, padded to 4 bytes.
fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
    v.extend_from_slice(&kind.to_ne_bytes());
    v.extend_from_slice(value);
    v.resize(v.len().next_multiple_of(4), 0);
    v
}

/// A value for attribute `kind`: mostly of the right length (with arbitrary content), sometimes
/// of any length.
fn value(len_ok: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), len_ok),
        1 => proptest::collection::vec(any::<u8>(), 0..24),
    ]
}

/// A stats nest: each counter as u32 (STATS) or u64 (STATS64), in any order, some missing,
/// some malformed.
fn stats_nest(wide: bool) -> impl Strategy<Value = Vec<u8>> {
    let n = if wide { 8 } else { 4 };
    proptest::collection::vec((1u16..=12, value(n)), 0..12)
        .prop_map(|attrs| attrs.iter().flat_map(|(k, v)| attr(*k, v)).collect())
}

/// A string value: a NUL-terminated name, or arbitrary bytes.
fn name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => "[a-z]{1,15}".prop_map(|s| { let mut b = s.into_bytes(); b.push(0); b }),
        1 => proptest::collection::vec(any::<u8>(), 0..20),
    ]
}

fn family() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop_oneof![Just(2u16), Just(10u16)].prop_map(|f| f.to_ne_bytes().to_vec()),
        1 => value(2),
    ]
}

fn service_attr() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        family().prop_map(|v| attr(IPVS_SVC_ATTR_AF, &v)),
        value(2).prop_map(|v| attr(IPVS_SVC_ATTR_PROTOCOL, &v)),
        prop_oneof![value(16), value(4)].prop_map(|v| attr(IPVS_SVC_ATTR_ADDR, &v)),
        value(2).prop_map(|v| attr(IPVS_SVC_ATTR_PORT, &v)),
        value(4).prop_map(|v| attr(IPVS_SVC_ATTR_FWMARK, &v)),
        name().prop_map(|v| attr(IPVS_SVC_ATTR_SCHED_NAME, &v)),
        value(8).prop_map(|v| attr(IPVS_SVC_ATTR_FLAGS, &v)),
        value(4).prop_map(|v| attr(IPVS_SVC_ATTR_TIMEOUT, &v)),
        value(4).prop_map(|v| attr(IPVS_SVC_ATTR_NETMASK, &v)),
        stats_nest(false).prop_map(|v| attr(IPVS_SVC_ATTR_STATS, &v)),
        name().prop_map(|v| attr(IPVS_SVC_ATTR_PE_NAME, &v)),
        stats_nest(true).prop_map(|v| attr(IPVS_SVC_ATTR_STATS64, &v)),
        (13u16..40, value(4)).prop_map(|(k, v)| attr(k, &v)),
    ]
}

fn dest_attr() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop_oneof![value(16), value(4)].prop_map(|v| attr(IPVS_DEST_ATTR_ADDR, &v)),
        value(2).prop_map(|v| attr(IPVS_DEST_ATTR_PORT, &v)),
        value(4).prop_map(|v| attr(IPVS_DEST_ATTR_FWD_METHOD, &v)),
        value(4).prop_map(|v| attr(IPVS_DEST_ATTR_WEIGHT, &v)),
        value(4).prop_map(|v| attr(IPVS_DEST_ATTR_U_THRESH, &v)),
        value(4).prop_map(|v| attr(IPVS_DEST_ATTR_L_THRESH, &v)),
        value(4).prop_map(|v| attr(IPVS_DEST_ATTR_ACTIVE_CONNS, &v)),
        value(4).prop_map(|v| attr(IPVS_DEST_ATTR_INACT_CONNS, &v)),
        value(4).prop_map(|v| attr(IPVS_DEST_ATTR_PERSIST_CONNS, &v)),
        stats_nest(false).prop_map(|v| attr(IPVS_DEST_ATTR_STATS, &v)),
        family().prop_map(|v| attr(IPVS_DEST_ATTR_ADDR_FAMILY, &v)),
        stats_nest(true).prop_map(|v| attr(IPVS_DEST_ATTR_STATS64, &v)),
        value(1).prop_map(|v| attr(IPVS_DEST_ATTR_TUN_TYPE, &v)),
        value(2).prop_map(|v| attr(IPVS_DEST_ATTR_TUN_PORT, &v)),
        value(2).prop_map(|v| attr(IPVS_DEST_ATTR_TUN_FLAGS, &v)),
        (16u16..40, value(4)).prop_map(|(k, v)| attr(k, &v)),
    ]
}

/// A generic-netlink payload (genl header, then one top-level nest), as a dump entry.
fn payload(cmd: u8, top: u16, nest: &[u8]) -> Vec<u8> {
    let mut p = vec![cmd, 1, 0, 0];
    p.extend(attr(top, nest));
    p
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn service_decoders_agree(attrs in proptest::collection::vec(service_attr(), 0..14), cut in any::<prop::sample::Index>()) {
        let mut nest: Vec<u8> = attrs.concat();
        // Sometimes cut the nest short, in the middle of an attribute.
        if cut.index(8) == 0 && !nest.is_empty() {
            nest.truncate(cut.index(nest.len()));
        }
        let p = payload(1, IPVS_CMD_ATTR_SERVICE, &nest);
        let fast = convert::service_status_from_genl(&p);
        let slow = convert::message_from_genl(&p).and_then(|m| convert::service_status_from_message(&m));
        prop_assert_eq!(fast.is_ok(), slow.is_ok(), "fast {:?}\nslow {:?}", fast, slow);
        if let (Ok(f), Ok(s)) = (&fast, &slow) {
            prop_assert_eq!(f, s);
        }
        // The identity the dump reconciliation compares is the one the full decode gives.
        if let Ok(f) = &fast {
            prop_assert_eq!(convert::service_key_from_genl(&p).unwrap(), f.service.key);
        }
    }

    #[test]
    fn dest_decoders_agree(
        attrs in proptest::collection::vec(dest_attr(), 0..18),
        v6 in any::<bool>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut nest: Vec<u8> = attrs.concat();
        if cut.index(8) == 0 && !nest.is_empty() {
            nest.truncate(cut.index(nest.len()));
        }
        let family = if v6 { AddressFamily::Inet6 } else { AddressFamily::Inet };
        let p = payload(5, IPVS_CMD_ATTR_DEST, &nest);
        let fast = convert::dest_status_from_genl(&p, family);
        let slow = convert::message_from_genl(&p).and_then(|m| convert::dest_status_from_message(&m, family));
        prop_assert_eq!(fast.is_ok(), slow.is_ok(), "fast {:?}\nslow {:?}", fast, slow);
        if let (Ok(f), Ok(s)) = (&fast, &slow) {
            prop_assert_eq!(f, s);
        }
        if let Ok(f) = &fast {
            prop_assert_eq!(convert::dest_key_from_genl(&p, family).unwrap(), f.dest.key());
        }
    }

    /// Whatever the bytes, no decoder panics.
    #[test]
    fn arbitrary_payloads_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = convert::service_status_from_genl(&bytes);
        let _ = convert::dest_status_from_genl(&bytes, AddressFamily::Inet);
        let _ = convert::service_key_from_genl(&bytes);
        let _ = convert::dest_key_from_genl(&bytes, AddressFamily::Inet6);
        let _ = convert::daemon_from_genl(&bytes);
        let _ = convert::message_from_genl(&bytes);
    }
}
