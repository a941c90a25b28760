//! **Not API** (public for `examples/cost.rs` only). The requests of the service and
//! real-server operations written straight into the send
//! buffer, byte for byte what the codec writes for [`convert::operation_message`] (checked by
//! the tests below on arbitrary operations), without building the message's attribute lists
//! first: a restore sends tens of thousands of them, and building and freeing those lists cost
//! more than the rest of the client's work.

use ipvs_core::{AddressFamily, Destination, DestinationKey, Operation, Result, Service, ServiceKey};

use crate::codec::consts::{
    IPVS_CMD_ATTR_DEST, IPVS_CMD_ATTR_SERVICE, IPVS_DEST_ATTR_ADDR, IPVS_DEST_ATTR_ADDR_FAMILY,
    IPVS_DEST_ATTR_FWD_METHOD, IPVS_DEST_ATTR_L_THRESH, IPVS_DEST_ATTR_PORT, IPVS_DEST_ATTR_TUN_FLAGS,
    IPVS_DEST_ATTR_TUN_PORT, IPVS_DEST_ATTR_TUN_TYPE, IPVS_DEST_ATTR_U_THRESH, IPVS_DEST_ATTR_WEIGHT,
    IPVS_GENL_VERSION, IPVS_SVC_ATTR_ADDR, IPVS_SVC_ATTR_AF, IPVS_SVC_ATTR_FLAGS, IPVS_SVC_ATTR_FWMARK,
    IPVS_SVC_ATTR_NETMASK, IPVS_SVC_ATTR_PE_NAME, IPVS_SVC_ATTR_PORT, IPVS_SVC_ATTR_PROTOCOL,
    IPVS_SVC_ATTR_SCHED_NAME, IPVS_SVC_ATTR_TIMEOUT, NLM_F_REQUEST,
};
use crate::codec::{encode_request_into, InetAddr, IpvsCmd, RequestHeader, NLMSG_MIN_TYPE};
use crate::convert;

/// Appends the request for `op` to `out`. Operations other than those on services and real
/// servers go through the codec.
pub fn encode_operation(out: &mut Vec<u8>, op: &Operation, header: RequestHeader) -> Result<()> {
    let start = out.len();
    let cmd = match op {
        Operation::AddService(_) => IpvsCmd::NewService,
        Operation::EditService(_) => IpvsCmd::SetService,
        Operation::DeleteService(_) => IpvsCmd::DelService,
        Operation::AddDestination(..) => IpvsCmd::NewDest,
        Operation::EditDestination(..) => IpvsCmd::SetDest,
        Operation::DeleteDestination(..) => IpvsCmd::DelDest,
        _ => return general(out, op, header),
    };
    if header.family_id < NLMSG_MIN_TYPE {
        // The codec's refusal, with its message.
        return general(out, op, header);
    }
    // The header, its length written at the end.
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&header.family_id.to_ne_bytes());
    out.extend_from_slice(&(header.flags | NLM_F_REQUEST).to_ne_bytes());
    out.extend_from_slice(&header.sequence.to_ne_bytes());
    out.extend_from_slice(&header.port.to_ne_bytes());
    out.extend_from_slice(&[cmd.into(), IPVS_GENL_VERSION, 0, 0]);
    match op {
        Operation::AddService(s) | Operation::EditService(s) => service(out, s),
        Operation::DeleteService(k) => nest(out, IPVS_CMD_ATTR_SERVICE, |out| service_key(out, k)),
        Operation::AddDestination(k, d) | Operation::EditDestination(k, d) => {
            nest(out, IPVS_CMD_ATTR_SERVICE, |out| service_key(out, k));
            nest(out, IPVS_CMD_ATTR_DEST, |out| dest(out, d));
        }
        Operation::DeleteDestination(k, d) => {
            nest(out, IPVS_CMD_ATTR_SERVICE, |out| service_key(out, k));
            nest(out, IPVS_CMD_ATTR_DEST, |out| dest_key(out, d));
        }
        _ => {}
    }
    let len = (out.len() - start) as u32;
    if let Some(l) = out.get_mut(start..start + 4) {
        l.copy_from_slice(&len.to_ne_bytes());
    }
    Ok(())
}

fn general(out: &mut Vec<u8>, op: &Operation, header: RequestHeader) -> Result<()> {
    let msg = convert::operation_message(op)?;
    encode_request_into(out, &msg, header)
        .map(drop)
        .map_err(|e| ipvs_core::Error::decode(format!("cannot encode the request: {e}")))
}

/// One attribute: header, value, zero padding to 4 bytes.
fn attr(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    out.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    pad(out, value.len());
}

/// A string attribute (`nla_put_string`: the bytes and one NUL).
fn c_string(out: &mut Vec<u8>, kind: u16, s: &str) {
    out.extend_from_slice(&((4 + s.len() + 1) as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(s.as_bytes());
    out.push(0);
    pad(out, s.len() + 1);
}

/// Zero padding after a value of `len` bytes, to netlink's 4-byte alignment.
fn pad(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&[0; 3][..(4 - len % 4) % 4]);
}

/// A nest (without `NLA_F_NESTED`, as the codec writes them) of what `inner` writes.
fn nest(out: &mut Vec<u8>, kind: u16, inner: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&kind.to_ne_bytes());
    inner(out);
    let len = (out.len() - start) as u16;
    if let Some(l) = out.get_mut(start..start + 2) {
        l.copy_from_slice(&len.to_ne_bytes());
    }
}

/// [`convert::service_key_attrs`].
fn service_key(out: &mut Vec<u8>, key: &ServiceKey) {
    match *key {
        ServiceKey::Addr { protocol, addr, port } => {
            attr(out, IPVS_SVC_ATTR_AF, &key.family().to_raw().to_ne_bytes());
            attr(out, IPVS_SVC_ATTR_PROTOCOL, &protocol.to_raw().to_ne_bytes());
            attr(out, IPVS_SVC_ATTR_ADDR, InetAddr::from(addr).as_bytes());
            attr(out, IPVS_SVC_ATTR_PORT, &port.to_be_bytes());
        }
        ServiceKey::Fwmark { mark, family } => {
            attr(out, IPVS_SVC_ATTR_AF, &family.to_raw().to_ne_bytes());
            attr(out, IPVS_SVC_ATTR_FWMARK, &mark.to_ne_bytes());
        }
    }
}

/// [`convert::service_attrs`], in its nest.
fn service(out: &mut Vec<u8>, s: &Service) {
    nest(out, IPVS_CMD_ATTR_SERVICE, |out| {
        service_key(out, &s.key);
        c_string(out, IPVS_SVC_ATTR_SCHED_NAME, s.scheduler.name());
        if let Some(pe) = &s.pe_name {
            c_string(out, IPVS_SVC_ATTR_PE_NAME, pe.as_str());
        }
        let mut flags = [0u8; 8];
        flags[..4].copy_from_slice(&s.flags_to_write().bits().to_ne_bytes());
        flags[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
        attr(out, IPVS_SVC_ATTR_FLAGS, &flags);
        attr(out, IPVS_SVC_ATTR_TIMEOUT, &s.timeout.to_ne_bytes());
        attr(out, IPVS_SVC_ATTR_NETMASK, &convert::raw_netmask(&s.netmask).0);
    });
}

/// [`convert::dest_key_attrs`].
fn dest_key(out: &mut Vec<u8>, key: &DestinationKey) {
    attr(out, IPVS_DEST_ATTR_ADDR_FAMILY, &AddressFamily::of(&key.addr).to_raw().to_ne_bytes());
    attr(out, IPVS_DEST_ATTR_ADDR, InetAddr::from(key.addr).as_bytes());
    attr(out, IPVS_DEST_ATTR_PORT, &key.port.to_be_bytes());
}

/// [`convert::dest_attrs`].
fn dest(out: &mut Vec<u8>, d: &Destination) {
    dest_key(out, &d.key());
    attr(out, IPVS_DEST_ATTR_FWD_METHOD, &d.forward.to_raw().to_ne_bytes());
    attr(out, IPVS_DEST_ATTR_WEIGHT, &d.weight.to_ne_bytes());
    attr(out, IPVS_DEST_ATTR_TUN_TYPE, &[d.tunnel.kind.to_raw()]);
    attr(out, IPVS_DEST_ATTR_TUN_PORT, &d.tunnel.port.to_be_bytes());
    attr(out, IPVS_DEST_ATTR_TUN_FLAGS, &d.tunnel.flags.bits().to_ne_bytes());
    attr(out, IPVS_DEST_ATTR_U_THRESH, &d.upper_threshold.to_ne_bytes());
    attr(out, IPVS_DEST_ATTR_L_THRESH, &d.lower_threshold.to_ne_bytes());
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use ipvs_core::{
        ForwardMethod, Netmask, PeName, Protocol, Scheduler, ServiceFlags, Tunnel, TunnelFlags, TunnelType,
    };
    use proptest::prelude::*;

    use super::*;

    fn arb_addr() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o))),
            any::<[u8; 16]>().prop_map(|o| IpAddr::V6(Ipv6Addr::from(o))),
        ]
    }

    fn arb_key() -> impl Strategy<Value = ServiceKey> {
        prop_oneof![
            (any::<u8>(), arb_addr(), any::<u16>()).prop_map(|(p, addr, port)| ServiceKey::Addr {
                protocol: Protocol::from_raw(u16::from(p)),
                addr,
                port
            }),
            (any::<u32>(), any::<bool>()).prop_map(|(mark, v6)| ServiceKey::fwmark(
                mark,
                if v6 { AddressFamily::Inet6 } else { AddressFamily::Inet }
            )),
        ]
    }

    fn arb_service() -> impl Strategy<Value = Service> {
        (
            arb_key(),
            "[a-z]{0,16}",
            prop_oneof![Just(None), "[a-z]{0,17}".prop_map(Some)],
            any::<u32>(),
            any::<u32>(),
            prop_oneof![any::<u32>().prop_map(|m| Netmask::V4(m.into())), any::<u8>().prop_map(Netmask::V6)],
        )
            .prop_map(|(key, sched, pe, flags, timeout, netmask)| {
                let mut s = Service::new(key).with_scheduler(Scheduler::from(sched.as_str()));
                s.pe_name = pe.map(PeName::from_kernel);
                s.flags = ServiceFlags::from_bits_retain(flags);
                s.timeout = timeout;
                s.netmask = netmask;
                s
            })
    }

    fn arb_dest() -> impl Strategy<Value = Destination> {
        (
            arb_addr(),
            any::<u16>(),
            any::<u32>(),
            any::<u32>(),
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
            any::<(u32, u32)>(),
        )
            .prop_map(|(addr, port, fwd, weight, kind, tport, tflags, (u, l))| {
                let mut d = Destination::new((addr, port).into())
                    .with_forward(ForwardMethod::from_raw(fwd))
                    .with_weight(weight);
                d.tunnel = Tunnel::ipip();
                d.tunnel.kind = TunnelType::from_raw(kind);
                d.tunnel.port = tport;
                d.tunnel.flags = TunnelFlags::from_bits_retain(tflags);
                d.upper_threshold = u;
                d.lower_threshold = l;
                d
            })
    }

    fn arb_op() -> impl Strategy<Value = Operation> {
        prop_oneof![
            arb_service().prop_map(Operation::AddService),
            arb_service().prop_map(Operation::EditService),
            arb_key().prop_map(Operation::DeleteService),
            (arb_key(), arb_dest()).prop_map(|(k, d)| Operation::AddDestination(k, d)),
            (arb_key(), arb_dest()).prop_map(|(k, d)| Operation::EditDestination(k, d)),
            (arb_key(), arb_dest()).prop_map(|(k, d)| Operation::DeleteDestination(k, d.key())),
            Just(Operation::Flush),
            arb_key().prop_map(|k| Operation::Zero(Some(k))),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The bytes are the codec's for the same operation, whatever its values (valid or not).
        #[test]
        fn requests_are_the_codecs_bytes(
            ops in proptest::collection::vec(arb_op(), 1..4),
            family_id in prop_oneof![Just(0x23u16), any::<u16>()],
            flags in any::<u16>(),
            sequence in any::<u32>(),
            port in any::<u32>(),
        ) {
            let header = RequestHeader { family_id, flags, sequence, port };
            let (mut got, mut want) = (vec![7u8], vec![7u8]);
            for op in &ops {
                let a = encode_operation(&mut got, op, header);
                let b = convert::operation_message(op).and_then(|m| {
                    encode_request_into(&mut want, &m, header)
                        .map(drop)
                        .map_err(|e| ipvs_core::Error::decode(format!("cannot encode the request: {e}")))
                });
                prop_assert_eq!(a.is_ok(), b.is_ok(), "{:?}", op);
                if a.is_err() {
                    got.truncate(want.len());
                }
            }
            prop_assert_eq!(got, want);
        }
    }
}
