//! Virtual services: `ipvs_service_key` (what identifies one) and `ipvs_service` (its
//! settings).

use std::ffi::c_char;

use ipvs_core::{AddressFamily, Netmask, PeName, Protocol, Scheduler, Service, ServiceFlags, ServiceKey};

use crate::addr::{self, ipvs_addr, IPVS_AF_INET, IPVS_AF_INET6};
use crate::error::{ipvs_result, Failure};
use crate::ffi::{self, Opaque, Out, TextOut};

/// IP protocol number of TCP (`-t`).
pub const IPVS_PROTOCOL_TCP: u16 = 6;
/// IP protocol number of UDP (`-u`).
pub const IPVS_PROTOCOL_UDP: u16 = 17;
/// IP protocol number of SCTP (`--sctp-service`).
pub const IPVS_PROTOCOL_SCTP: u16 = 132;

/// Service flag: persistent service (`-p`).
pub const IPVS_SVC_F_PERSISTENT: u32 = 0x0001;
/// Service flag: the service is in the kernel's hash table (every listed service has it;
/// ignored on writes).
pub const IPVS_SVC_F_HASHED: u32 = 0x0002;
/// Service flag: one-packet scheduling (`-o`, UDP and firewall-mark services).
pub const IPVS_SVC_F_ONEPACKET: u32 = 0x0004;
/// Service flag: scheduler flag 1 (`sh-fallback` for sh, `mh-fallback` for mh).
pub const IPVS_SVC_F_SCHED1: u32 = 0x0008;
/// Service flag: scheduler flag 2 (`sh-port` for sh, `mh-port` for mh).
pub const IPVS_SVC_F_SCHED2: u32 = 0x0010;
/// Service flag: scheduler flag 3 (no in-tree scheduler uses it).
pub const IPVS_SVC_F_SCHED3: u32 = 0x0020;

/// What identifies a virtual service: a protocol, a virtual address and a port, or a firewall
/// mark and an address family. Created by `ipvs_service_key_new` or
/// `ipvs_service_key_new_fwmark` (free with `ipvs_service_key_free`), or borrowed from a
/// service (`ipvs_service_get_key`) or an operation (never freed then). Immutable: may be
/// shared between threads.
pub struct ipvs_service_key {
    _private: [u8; 0],
}

impl Opaque for ipvs_service_key {
    type Inner = ServiceKey;
}

/// A virtual service's settings (what `ipvsadm -A`/`-E` sets): key, scheduler, flags,
/// persistence timeout and netmask, persistence engine. Created by `ipvs_service_new` (free
/// with `ipvs_service_free`) or borrowed from a list, a table or an operation (never freed
/// then, and not changed: the borrowed pointers are const). Nothing is checked until the
/// service is used (or `ipvs_service_validate`); the setters only store. A service no thread
/// changes may be read from any thread.
pub struct ipvs_service {
    _private: [u8; 0],
}

impl Opaque for ipvs_service {
    type Inner = Service;
}

pub(crate) fn family_of(raw: u16, name: &str) -> Result<AddressFamily, Failure> {
    match raw {
        IPVS_AF_INET => Ok(AddressFamily::Inet),
        IPVS_AF_INET6 => Ok(AddressFamily::Inet6),
        f => Err(Failure::Invalid(format!("{name}: address family {f} is neither AF_INET nor AF_INET6"))),
    }
}

// --- keys -----------------------------------------------------------------------------------

/// Creates the key of an address-keyed service: IP protocol number `protocol` (6 TCP, 17 UDP,
/// 132 SCTP; any other number can name a service another program made, to delete or zero it,
/// but not create one), virtual address `addr` and `port` (0: every port, persistent services
/// only). Writes `*out` on success; free it with `ipvs_service_key_free`.
#[no_mangle]
pub extern "C" fn ipvs_service_key_new(
    protocol: u16,
    addr: *const ipvs_addr,
    port: u16,
    out: *mut *mut ipvs_service_key,
) -> ipvs_result {
    ffi::call(|| {
        let a = addr::get(addr, "addr")?;
        let out = Out::new(out, "out")?;
        let key = ServiceKey::Addr { protocol: Protocol::from_raw(protocol), addr: a.to_ip("addr")?, port };
        out.write(ffi::boxed(key));
        Ok(())
    })
}

/// Creates the key of a firewall-mark service (`-f mark`, with `-6` for AF_INET6): `family` is
/// AF_INET or AF_INET6 (else `IPVS_RESULT_INVALID_PARAMETER`). A mark of 0 is stored, and
/// refused when used. Writes `*out` on success; free it with `ipvs_service_key_free`.
#[no_mangle]
pub extern "C" fn ipvs_service_key_new_fwmark(
    mark: u32,
    family: u16,
    out: *mut *mut ipvs_service_key,
) -> ipvs_result {
    ffi::call(|| {
        let out = Out::new(out, "out")?;
        let family = family_of(family, "family")?;
        out.write(ffi::boxed(ServiceKey::fwmark(mark, family)));
        Ok(())
    })
}

/// Copies a key (for example one borrowed from a list that is about to be freed). Writes
/// `*out` on success; free it with `ipvs_service_key_free`.
#[no_mangle]
pub extern "C" fn ipvs_service_key_clone(
    key: *const ipvs_service_key,
    out: *mut *mut ipvs_service_key,
) -> ipvs_result {
    ffi::call(|| {
        let key = ffi::get(key, "key")?;
        Out::new(out, "out")?.write(ffi::boxed(*key));
        Ok(())
    })
}

/// Frees a key created by this library (`_new`, `_new_fwmark`, `_clone`). NULL is a no-op.
/// Never pass a borrowed key.
#[no_mangle]
pub extern "C" fn ipvs_service_key_free(key: *mut ipvs_service_key) {
    ffi::void(|| ffi::free(key))
}

/// Whether the key is a firewall-mark key (false for NULL).
#[no_mangle]
pub extern "C" fn ipvs_service_key_is_fwmark(key: *const ipvs_service_key) -> bool {
    ffi::value(false, || Ok(matches!(ffi::get(key, "key")?, ServiceKey::Fwmark { .. })))
}

/// The IP protocol number of an address-keyed service; 0 for a firewall-mark key (and NULL).
#[no_mangle]
pub extern "C" fn ipvs_service_key_protocol(key: *const ipvs_service_key) -> u16 {
    ffi::value(0, || {
        Ok(match ffi::get(key, "key")? {
            ServiceKey::Addr { protocol, .. } => protocol.to_raw(),
            ServiceKey::Fwmark { .. } => 0,
        })
    })
}

/// The address family: AF_INET or AF_INET6 (0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_service_key_family(key: *const ipvs_service_key) -> u16 {
    ffi::value(0, || Ok(ffi::get(key, "key")?.family().to_raw()))
}

/// The firewall mark; 0 for an address-keyed service (and NULL).
#[no_mangle]
pub extern "C" fn ipvs_service_key_fwmark(key: *const ipvs_service_key) -> u32 {
    ffi::value(0, || Ok(ffi::get(key, "key")?.mark()))
}

/// The virtual port; 0 for a firewall-mark key (and NULL).
#[no_mangle]
pub extern "C" fn ipvs_service_key_port(key: *const ipvs_service_key) -> u16 {
    ffi::value(0, || Ok(ffi::get(key, "key")?.port()))
}

/// Writes the virtual address into `*out`; for a firewall-mark key, an address of family 0
/// (it has none).
#[no_mangle]
pub extern "C" fn ipvs_service_key_addr(key: *const ipvs_service_key, out: *mut ipvs_addr) -> ipvs_result {
    ffi::call(|| {
        let key = ffi::get(key, "key")?;
        let out = addr::out(out, "out")?;
        out.write(match key {
            ServiceKey::Addr { addr, .. } => ipvs_addr::from_ip(*addr),
            ServiceKey::Fwmark { .. } => ipvs_addr::default(),
        });
        Ok(())
    })
}

/// Whether two keys are the same service (false if either is NULL).
#[no_mangle]
pub extern "C" fn ipvs_service_key_equal(a: *const ipvs_service_key, b: *const ipvs_service_key) -> bool {
    ffi::value(false, || Ok(ffi::get(a, "a")? == ffi::get(b, "b")?))
}

/// Writes the key in ipvsadm's notation (`-t 10.1.2.3:80`, `-u [2001:db8::1]:53`,
/// `-f 5 -6`) into `buf`, NUL-terminated. Buffer rules as `ipvs_result_message`.
#[no_mangle]
pub extern "C" fn ipvs_service_key_text(
    key: *const ipvs_service_key,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> ipvs_result {
    ffi::call(|| {
        let key = ffi::get(key, "key")?;
        TextOut::new(buf, len, written)?.write(key.to_string().as_bytes())
    })
}

// --- services -------------------------------------------------------------------------------

/// Creates a service for `key` with ipvsadm's defaults: scheduler wlc, no flags, no
/// persistence, the full netmask of the key's family. Writes `*out` on success; free it with
/// `ipvs_service_free`.
#[no_mangle]
pub extern "C" fn ipvs_service_new(key: *const ipvs_service_key, out: *mut *mut ipvs_service) -> ipvs_result {
    ffi::call(|| {
        let key = ffi::get(key, "key")?;
        Out::new(out, "out")?.write(ffi::boxed(Service::new(*key)));
        Ok(())
    })
}

/// Copies a service. Writes `*out` on success; free it with `ipvs_service_free`.
#[no_mangle]
pub extern "C" fn ipvs_service_clone(
    service: *const ipvs_service,
    out: *mut *mut ipvs_service,
) -> ipvs_result {
    ffi::call(|| {
        let s = ffi::get(service, "service")?;
        Out::new(out, "out")?.write(ffi::boxed(s.clone()));
        Ok(())
    })
}

/// Frees a service created by `ipvs_service_new` or `ipvs_service_clone`. NULL is a no-op.
/// Never pass a borrowed service.
#[no_mangle]
pub extern "C" fn ipvs_service_free(service: *mut ipvs_service) {
    ffi::void(|| ffi::free(service))
}

/// The service's key, borrowed: valid as long as the service, never freed (NULL for NULL).
#[no_mangle]
pub extern "C" fn ipvs_service_get_key(service: *const ipvs_service) -> *const ipvs_service_key {
    ffi::value(std::ptr::null(), || Ok(ffi::borrowed::<ipvs_service_key>(&ffi::get(service, "service")?.key)))
}

/// Sets the scheduler by name (`wlc`, `rr`, `mh`, `none` for no scheduler, or any name a kernel
/// may know), NUL-terminated UTF-8. The name is checked when the service is used.
#[no_mangle]
pub extern "C" fn ipvs_service_set_scheduler(service: *mut ipvs_service, name: *const c_char) -> ipvs_result {
    ffi::call(|| {
        let s = ffi::get_mut(service, "service")?;
        let name = ffi::c_str(name, "name")?;
        s.scheduler = Scheduler::from(name);
        Ok(())
    })
}

/// Writes the scheduler's name into `buf`, NUL-terminated. Buffer rules as
/// `ipvs_result_message`.
#[no_mangle]
pub extern "C" fn ipvs_service_scheduler(
    service: *const ipvs_service,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> ipvs_result {
    ffi::call(|| {
        let s = ffi::get(service, "service")?;
        TextOut::new(buf, len, written)?.write(s.scheduler.name().as_bytes())
    })
}

/// Sets the flags (`IPVS_SVC_F_*` bits; unknown bits are stored and refused when used).
#[no_mangle]
pub extern "C" fn ipvs_service_set_flags(service: *mut ipvs_service, flags: u32) -> ipvs_result {
    ffi::call(|| {
        ffi::get_mut(service, "service")?.flags = ServiceFlags::from_bits_retain(flags);
        Ok(())
    })
}

/// The flags (`IPVS_SVC_F_*` bits; a listed service has `IPVS_SVC_F_HASHED`). 0 for NULL.
#[no_mangle]
pub extern "C" fn ipvs_service_flags(service: *const ipvs_service) -> u32 {
    ffi::value(0, || Ok(ffi::get(service, "service")?.flags.bits()))
}

/// Sets the persistence timeout in seconds (used with `IPVS_SVC_F_PERSISTENT`: 1 to 2678400).
#[no_mangle]
pub extern "C" fn ipvs_service_set_timeout(service: *mut ipvs_service, seconds: u32) -> ipvs_result {
    ffi::call(|| {
        ffi::get_mut(service, "service")?.timeout = seconds;
        Ok(())
    })
}

/// The persistence timeout in seconds (0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_service_timeout(service: *const ipvs_service) -> u32 {
    ffi::value(0, || Ok(ffi::get(service, "service")?.timeout))
}

/// Sets an IPv4 persistence netmask (`-M 255.255.255.0`): `mask` must be AF_INET (else
/// `IPVS_RESULT_INVALID_PARAMETER`); the service must be IPv4 when it is used.
#[no_mangle]
pub extern "C" fn ipvs_service_set_netmask_v4(
    service: *mut ipvs_service,
    mask: *const ipvs_addr,
) -> ipvs_result {
    ffi::call(|| {
        let s = ffi::get_mut(service, "service")?;
        match addr::read(mask, "mask")? {
            std::net::IpAddr::V4(m) => s.netmask = Netmask::V4(m),
            std::net::IpAddr::V6(_) => {
                return Err(Failure::Invalid("mask: an IPv6 netmask is a prefix length".into()))
            }
        }
        Ok(())
    })
}

/// Sets an IPv6 persistence netmask as a prefix length (`-M 64`; 1 to 128 when used; above
/// 255 is `IPVS_RESULT_INVALID_PARAMETER`); the service must be IPv6 when it is used.
#[no_mangle]
pub extern "C" fn ipvs_service_set_netmask_v6(service: *mut ipvs_service, prefix_len: u32) -> ipvs_result {
    ffi::call(|| {
        let s = ffi::get_mut(service, "service")?;
        let p = u8::try_from(prefix_len)
            .map_err(|_| Failure::Invalid(format!("prefix_len: {prefix_len} is not a prefix length")))?;
        s.netmask = Netmask::V6(p);
        Ok(())
    })
}

/// The netmask's family: AF_INET (a dotted mask) or AF_INET6 (a prefix length); 0 for NULL.
#[no_mangle]
pub extern "C" fn ipvs_service_netmask_family(service: *const ipvs_service) -> u16 {
    ffi::value(0, || Ok(ffi::get(service, "service")?.netmask.family().to_raw()))
}

/// The netmask's prefix length (for an IPv4 mask, its leading one bits); 0 for NULL.
#[no_mangle]
pub extern "C" fn ipvs_service_netmask_prefix(service: *const ipvs_service) -> u32 {
    ffi::value(0, || Ok(u32::from(ffi::get(service, "service")?.netmask.prefix_len())))
}

/// Writes an IPv4 netmask as an address into `*out` (`255.255.255.255` when the service does
/// not group clients); `IPVS_RESULT_INVALID_PARAMETER` when the netmask is an IPv6 prefix.
#[no_mangle]
pub extern "C" fn ipvs_service_netmask_v4(service: *const ipvs_service, out: *mut ipvs_addr) -> ipvs_result {
    ffi::call(|| {
        let s = ffi::get(service, "service")?;
        let out = addr::out(out, "out")?;
        match s.netmask {
            Netmask::V4(m) => out.write(ipvs_addr::from_ip(m.into())),
            Netmask::V6(_) => {
                return Err(Failure::Invalid("the netmask is an IPv6 prefix length, not an IPv4 mask".into()))
            }
        }
        Ok(())
    })
}

/// Sets the persistence engine (`--pe sip`), NUL-terminated UTF-8; the empty string removes
/// it. The name is checked when the service is used.
#[no_mangle]
pub extern "C" fn ipvs_service_set_pe_name(service: *mut ipvs_service, name: *const c_char) -> ipvs_result {
    ffi::call(|| {
        let s = ffi::get_mut(service, "service")?;
        let name = ffi::c_str(name, "name")?;
        s.pe_name = (!name.is_empty()).then(|| PeName::from_kernel(name));
        Ok(())
    })
}

/// Writes the persistence engine's name into `buf` (empty when there is none). Buffer rules as
/// `ipvs_result_message`.
#[no_mangle]
pub extern "C" fn ipvs_service_pe_name(
    service: *const ipvs_service,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> ipvs_result {
    ffi::call(|| {
        let s = ffi::get(service, "service")?;
        TextOut::new(buf, len, written)?.write(s.pe_name.as_ref().map_or("", PeName::as_str).as_bytes())
    })
}

/// Checks the service against the kernel's and ipvsadm's limits, as every use does: OK, or
/// the validation code of the first field that is wrong (`IPVS_RESULT_INVALID_*`).
#[no_mangle]
pub extern "C" fn ipvs_service_validate(service: *const ipvs_service) -> ipvs_result {
    ffi::call(|| Ok(ffi::get(service, "service")?.validate()?))
}

/// Writes the service as an `ipvsadm -S -n` line (`-A -t 10.1.2.3:80 -s wrr -p 300`) into
/// `buf`. Buffer rules as `ipvs_result_message`.
#[no_mangle]
pub extern "C" fn ipvs_service_text(
    service: *const ipvs_service,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> ipvs_result {
    ffi::call(|| {
        let s = ffi::get(service, "service")?;
        TextOut::new(buf, len, written)?.write(s.to_string().as_bytes())
    })
}
