//! Shared pieces of the fuzz targets: structure-aware generators of the model's values from
//! libFuzzer's bytes (`arbitrary::Unstructured`), built through the model's own constructors
//! and public fields, so `ipvs-core` needs no `arbitrary` dependency.
//!
//! The generators reach every variant the model can hold, invalid ones included (an
//! out-of-range weight, an unknown protocol number, a scheduler name of any length): the
//! targets check validated values for round trips and every value for the absence of panics.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use arbitrary::{Result, Unstructured};
use ipvs_core::{
    AddressFamily, Destination, DestinationKey, DestinationStatus, ForwardMethod, Netmask, Operation, PeName,
    Protocol, Scheduler, Service, ServiceFlags, ServiceKey, ServiceStatus, Stats, SyncDaemon, SyncRole,
    Timeouts, Tunnel, TunnelFlags, TunnelType,
};

/// Addresses from a few small pools most of the time (so keys collide and families mix), any
/// address otherwise.
pub fn addr(u: &mut Unstructured<'_>) -> Result<IpAddr> {
    Ok(match u.int_in_range(0..=5u8)? {
        0 => IpAddr::V4(Ipv4Addr::new(10, 0, 0, u.int_in_range(1..=4)?)),
        1 => IpAddr::V4(Ipv4Addr::new(192, 168, 1, u.int_in_range(1..=4)?)),
        2 => IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u.int_in_range(1..=4)?)),
        3 => IpAddr::V4(Ipv4Addr::from(u.arbitrary::<u32>()?)),
        4 => IpAddr::V6(Ipv6Addr::from(u.arbitrary::<u128>()?)),
        _ => IpAddr::V4(Ipv4Addr::new(224, 0, 0, u.int_in_range(1..=4)?)),
    })
}

/// A family.
pub fn family(u: &mut Unstructured<'_>) -> Result<AddressFamily> {
    Ok(if u.arbitrary()? { AddressFamily::Inet6 } else { AddressFamily::Inet })
}

/// A protocol: the three named ones, or any other number.
pub fn protocol(u: &mut Unstructured<'_>) -> Result<Protocol> {
    Ok(match u.int_in_range(0..=3u8)? {
        0 => Protocol::Tcp,
        1 => Protocol::Udp,
        2 => Protocol::Sctp,
        _ => Protocol::from_raw(u.arbitrary()?),
    })
}

/// A service key: address-keyed or firewall mark (0 included).
pub fn service_key(u: &mut Unstructured<'_>) -> Result<ServiceKey> {
    Ok(if u.ratio(1, 4)? {
        let mark = if u.arbitrary()? { u.int_in_range(0..=3)? } else { u.arbitrary()? };
        ServiceKey::fwmark(mark, family(u)?)
    } else {
        ServiceKey::Addr { protocol: protocol(u)?, addr: addr(u)?, port: u.arbitrary()? }
    })
}

/// A name: a known one, or arbitrary text of any length (NUL and all).
fn name(u: &mut Unstructured<'_>, known: &[&str]) -> Result<String> {
    if u.ratio(3, 4)? {
        Ok((*u.choose(known)?).to_owned())
    } else {
        u.arbitrary::<String>()
    }
}

/// A scheduler: every kernel scheduler, or any name (so also too long, empty, with NUL).
pub fn scheduler(u: &mut Unstructured<'_>) -> Result<Scheduler> {
    let known =
        ["rr", "wrr", "lc", "wlc", "sed", "nq", "fo", "ovf", "dh", "sh", "mh", "lblc", "lblcr", "twos"];
    Ok(name(u, &known)?.parse().unwrap_or_default())
}

/// A netmask of either family (an IPv6 prefix of any u8, 0 and 129..=255 included).
pub fn netmask(u: &mut Unstructured<'_>, fam: AddressFamily) -> Result<Netmask> {
    let fam = if u.ratio(1, 8)? { family(u)? } else { fam };
    Ok(match fam {
        AddressFamily::Inet => {
            if u.arbitrary()? {
                let p: u32 = u.int_in_range(0..=32)?;
                Netmask::V4(Ipv4Addr::from(u32::MAX.checked_shl(32 - p).unwrap_or(0)))
            } else {
                Netmask::V4(Ipv4Addr::from(u.arbitrary::<u32>()?))
            }
        }
        AddressFamily::Inet6 => Netmask::V6(u.arbitrary()?),
    })
}

/// A service with any settings.
pub fn service(u: &mut Unstructured<'_>) -> Result<Service> {
    let key = service_key(u)?;
    let mut s = Service::new(key).with_scheduler(scheduler(u)?);
    if u.arbitrary()? {
        let timeout = if u.arbitrary()? { u.int_in_range(0..=3000)? } else { u.arbitrary()? };
        s = s.with_persistence(timeout, None);
    }
    if u.arbitrary()? {
        s = s.with_netmask(netmask(u, key.family())?);
    }
    if u.ratio(1, 4)? {
        s.flags |= ServiceFlags::from_bits_retain(u.arbitrary()?);
    }
    if u.ratio(1, 4)? {
        let pe = name(u, &["sip"])?;
        s.pe_name = Some(PeName::new(pe.clone()).unwrap_or_else(|_| PeName::from_kernel(pe)));
    }
    if u.ratio(1, 8)? {
        s.timeout = u.arbitrary()?;
    }
    Ok(s)
}

/// A tunnel: the three types or another number, any port and flag bits.
pub fn tunnel(u: &mut Unstructured<'_>) -> Result<Tunnel> {
    let kind = TunnelType::from_raw(if u.arbitrary()? { u.int_in_range(0..=2)? } else { u.arbitrary()? });
    let mut t = match kind {
        TunnelType::Gue => Tunnel::gue(u.arbitrary()?),
        TunnelType::Gre => Tunnel::gre(),
        _ => Tunnel::ipip(),
    };
    t.kind = kind;
    t.flags =
        TunnelFlags::from_bits_retain(if u.arbitrary()? { u.int_in_range(0..=3)? } else { u.arbitrary()? });
    Ok(t)
}

/// A real server with any settings.
pub fn destination(u: &mut Unstructured<'_>) -> Result<Destination> {
    let mut d = Destination::new((addr(u)?, u.arbitrary::<u16>()?).into());
    d = d.with_forward(ForwardMethod::from_raw(if u.arbitrary()? {
        u.int_in_range(0..=4)?
    } else {
        u.arbitrary()?
    }));
    let small = u.arbitrary::<bool>()?;
    let int = |u: &mut Unstructured<'_>| -> Result<u32> {
        if small {
            u.int_in_range(0..=100)
        } else {
            u.arbitrary()
        }
    };
    d = d.with_weight(int(u)?);
    let (upper, lower) = (int(u)?, int(u)?);
    d = d.with_thresholds(upper, lower);
    if u.arbitrary()? {
        d = d.with_tunnel(tunnel(u)?);
    }
    Ok(d)
}

/// A sync daemon with any settings (interface names of any bytes).
pub fn daemon(u: &mut Unstructured<'_>) -> Result<SyncDaemon> {
    let role = if u.arbitrary()? { SyncRole::Master } else { SyncRole::Backup };
    let ifn: Vec<u8> = if u.ratio(3, 4)? {
        (*u.choose(&["eth0", "lo", "dummy0", "a-very-long-if15"])?).as_bytes().to_vec()
    } else {
        u.arbitrary()?
    };
    let mut d = SyncDaemon::new(role, ifn.as_slice(), u.arbitrary()?);
    d = d.with_max_len(u.arbitrary()?).with_port(u.arbitrary()?).with_ttl(u.arbitrary()?);
    if u.arbitrary()? {
        d = d.with_group(addr(u)?);
    }
    Ok(d)
}

/// Timeouts of any values.
pub fn timeouts(u: &mut Unstructured<'_>) -> Result<Timeouts> {
    Ok(Timeouts::new(u.arbitrary()?, u.arbitrary()?, u.arbitrary()?))
}

/// Any operation.
pub fn operation(u: &mut Unstructured<'_>) -> Result<Operation> {
    Ok(match u.int_in_range(0..=10u8)? {
        0 => Operation::AddService(service(u)?),
        1 => Operation::EditService(service(u)?),
        2 => Operation::DeleteService(service_key(u)?),
        3 => Operation::AddDestination(service_key(u)?, destination(u)?),
        4 => Operation::EditDestination(service_key(u)?, destination(u)?),
        5 => Operation::DeleteDestination(
            service_key(u)?,
            DestinationKey { addr: addr(u)?, port: u.arbitrary()? },
        ),
        6 => Operation::Flush,
        7 => Operation::Zero(if u.arbitrary()? { Some(service_key(u)?) } else { None }),
        8 => Operation::SetTimeouts(timeouts(u)?),
        9 => Operation::StartDaemon(daemon(u)?),
        _ => Operation::StopDaemon(if u.arbitrary()? { SyncRole::Master } else { SyncRole::Backup }),
    })
}

/// Statistics with any counters.
pub fn stats(u: &mut Unstructured<'_>) -> Result<Stats> {
    let mut s = Stats::default();
    for v in [
        &mut s.conns,
        &mut s.in_packets,
        &mut s.out_packets,
        &mut s.in_bytes,
        &mut s.out_bytes,
        &mut s.cps,
        &mut s.in_pps,
        &mut s.out_pps,
        &mut s.in_bps,
        &mut s.out_bps,
    ] {
        *v = u.arbitrary()?;
    }
    Ok(s)
}

/// 32-bit statistics as the kernel's `STATS` nest holds them: every counter fits a u32 except
/// the byte counts (u64).
pub fn stats32(u: &mut Unstructured<'_>) -> Result<Stats> {
    let mut s = stats(u)?;
    for v in [
        &mut s.conns,
        &mut s.in_packets,
        &mut s.out_packets,
        &mut s.cps,
        &mut s.in_pps,
        &mut s.out_pps,
        &mut s.in_bps,
        &mut s.out_bps,
    ] {
        *v &= u64::from(u32::MAX);
    }
    Ok(s)
}

/// A service as a kernel could report it.
pub fn service_status(u: &mut Unstructured<'_>) -> Result<ServiceStatus> {
    let mut st = ServiceStatus::new(service(u)?);
    st.stats = stats(u)?;
    st.stats32 = stats32(u)?;
    Ok(st)
}

/// A real server as a kernel could report it.
pub fn dest_status(u: &mut Unstructured<'_>) -> Result<DestinationStatus> {
    let mut st = DestinationStatus::new(destination(u)?);
    st.active_conns = u.arbitrary()?;
    st.inactive_conns = u.arbitrary()?;
    st.persist_conns = u.arbitrary()?;
    st.stats = stats(u)?;
    st.stats32 = stats32(u)?;
    Ok(st)
}
