//! Real servers: `ipvs_dest`.

use std::ffi::c_char;

use ipvs_core::{Destination, ForwardMethod, TunnelFlags, TunnelType};

use crate::addr::{self, ipvs_addr};
use crate::error::{ipvs_result, Failure};
use crate::ffi::{self, Opaque, Out, TextOut};
use crate::service::ipvs_service_key;

/// How packets reach a real server: the kernel's `IP_VS_CONN_F_*` forwarding numbers (0 to 7;
/// 5 to 7 have no name and are refused when used).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ipvs_forward {
    /// NAT (masquerading), `-m`.
    Masquerade = 0,
    /// The real server is this host (the kernel picks it for local addresses).
    Local = 1,
    /// IP tunnelling, `-i`.
    Tunnel = 2,
    /// Direct routing (gatewaying), `-g`: ipvsadm's default.
    DirectRoute = 3,
    /// Cache bypass (internal to the kernel).
    Bypass = 4,
}

/// A tunnelling real server's encapsulation (`--tun-type`). Other numbers are refused when
/// used.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ipvs_tunnel_type {
    /// IP in IP (the default).
    Ipip = 0,
    /// Generic UDP Encapsulation; needs a tunnel port.
    Gue = 1,
    /// GRE.
    Gre = 2,
}

/// Tunnel checksum flag: outer checksum (`--tun-csum`; GUE and GRE).
pub const IPVS_TUNNEL_F_CSUM: u32 = 1;
/// Tunnel checksum flag: remote checksum offload (`--tun-remcsum`; GUE only).
pub const IPVS_TUNNEL_F_REMCSUM: u32 = 2;

/// A real server's settings (what `ipvsadm -a`/`-e` sets): address, port, forwarding method,
/// weight, thresholds, tunnel settings. Created by `ipvs_dest_new` (free with
/// `ipvs_dest_free`) or borrowed from a list, a table or an operation (never freed then).
/// Nothing is checked until it is used (or `ipvs_dest_validate`). A real server no thread
/// changes may be read from any thread.
pub struct ipvs_dest {
    _private: [u8; 0],
}

impl Opaque for ipvs_dest {
    type Inner = Destination;
}

/// Creates a real server at `addr`, `port` with ipvsadm's defaults: direct routing, weight 1,
/// no thresholds, ipip tunnel settings. Writes `*out` on success; free it with
/// `ipvs_dest_free`.
#[no_mangle]
pub extern "C" fn ipvs_dest_new(addr: *const ipvs_addr, port: u16, out: *mut *mut ipvs_dest) -> ipvs_result {
    ffi::call(|| {
        let a = addr::get(addr, "addr")?;
        let out = Out::new(out, "out")?;
        let ip = a.to_ip("addr")?;
        out.write(ffi::boxed(Destination::new(std::net::SocketAddr::new(ip, port))));
        Ok(())
    })
}

/// Copies a real server. Writes `*out` on success; free it with `ipvs_dest_free`.
#[no_mangle]
pub extern "C" fn ipvs_dest_clone(dest: *const ipvs_dest, out: *mut *mut ipvs_dest) -> ipvs_result {
    ffi::call(|| {
        let d = ffi::get(dest, "dest")?;
        Out::new(out, "out")?.write(ffi::boxed(d.clone()));
        Ok(())
    })
}

/// Frees a real server created by `ipvs_dest_new` or `ipvs_dest_clone`. NULL is a no-op.
/// Never pass a borrowed one.
#[no_mangle]
pub extern "C" fn ipvs_dest_free(dest: *mut ipvs_dest) {
    ffi::void(|| ffi::free(dest))
}

/// Writes the real server's address into `*out`.
#[no_mangle]
pub extern "C" fn ipvs_dest_addr(dest: *const ipvs_dest, out: *mut ipvs_addr) -> ipvs_result {
    ffi::call(|| {
        let d = ffi::get(dest, "dest")?;
        addr::out(out, "out")?.write(ipvs_addr::from_ip(d.addr));
        Ok(())
    })
}

/// The real server's port (0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_dest_port(dest: *const ipvs_dest) -> u16 {
    ffi::value(0, || Ok(ffi::get(dest, "dest")?.port))
}

/// Sets the forwarding method (an `ipvs_forward` number, 0 to 7; above 7 is
/// `IPVS_RESULT_INVALID_PARAMETER`).
#[no_mangle]
pub extern "C" fn ipvs_dest_set_forward(dest: *mut ipvs_dest, forward: u32) -> ipvs_result {
    ffi::call(|| {
        let d = ffi::get_mut(dest, "dest")?;
        if forward > 7 {
            return Err(Failure::Invalid(format!("forward: {forward} is not a forwarding method (0 to 7)")));
        }
        d.forward = ForwardMethod::from_raw(forward);
        Ok(())
    })
}

/// The forwarding method (an `ipvs_forward` number; 0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_dest_forward(dest: *const ipvs_dest) -> u32 {
    ffi::value(0, || Ok(ffi::get(dest, "dest")?.forward.to_raw()))
}

/// Sets the weight (0 quiesces the server; at most INT_MAX when used).
#[no_mangle]
pub extern "C" fn ipvs_dest_set_weight(dest: *mut ipvs_dest, weight: u32) -> ipvs_result {
    ffi::call(|| {
        ffi::get_mut(dest, "dest")?.weight = weight;
        Ok(())
    })
}

/// The weight (0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_dest_weight(dest: *const ipvs_dest) -> u32 {
    ffi::value(0, || Ok(ffi::get(dest, "dest")?.weight))
}

/// Sets the upper connection threshold (`-x`; 0 means none).
#[no_mangle]
pub extern "C" fn ipvs_dest_set_upper_threshold(dest: *mut ipvs_dest, threshold: u32) -> ipvs_result {
    ffi::call(|| {
        ffi::get_mut(dest, "dest")?.upper_threshold = threshold;
        Ok(())
    })
}

/// The upper connection threshold (0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_dest_upper_threshold(dest: *const ipvs_dest) -> u32 {
    ffi::value(0, || Ok(ffi::get(dest, "dest")?.upper_threshold))
}

/// Sets the lower connection threshold (`-y`; 0 means 3/4 of the upper one; never above the
/// upper one when used).
#[no_mangle]
pub extern "C" fn ipvs_dest_set_lower_threshold(dest: *mut ipvs_dest, threshold: u32) -> ipvs_result {
    ffi::call(|| {
        ffi::get_mut(dest, "dest")?.lower_threshold = threshold;
        Ok(())
    })
}

/// The lower connection threshold (0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_dest_lower_threshold(dest: *const ipvs_dest) -> u32 {
    ffi::value(0, || Ok(ffi::get(dest, "dest")?.lower_threshold))
}

/// Sets the tunnel type (an `ipvs_tunnel_type` number; above 255 is
/// `IPVS_RESULT_INVALID_PARAMETER`). The kernel keeps tunnel settings for every method.
#[no_mangle]
pub extern "C" fn ipvs_dest_set_tunnel_type(dest: *mut ipvs_dest, tunnel_type: u32) -> ipvs_result {
    ffi::call(|| {
        let d = ffi::get_mut(dest, "dest")?;
        let t = u8::try_from(tunnel_type)
            .map_err(|_| Failure::Invalid(format!("tunnel_type: {tunnel_type} is not a tunnel type")))?;
        d.tunnel.kind = TunnelType::from_raw(t);
        Ok(())
    })
}

/// The tunnel type (an `ipvs_tunnel_type` number; 0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_dest_tunnel_type(dest: *const ipvs_dest) -> u32 {
    ffi::value(0, || Ok(u32::from(ffi::get(dest, "dest")?.tunnel.kind.to_raw())))
}

/// Sets the tunnel's UDP port (`--tun-port`, for GUE).
#[no_mangle]
pub extern "C" fn ipvs_dest_set_tunnel_port(dest: *mut ipvs_dest, port: u16) -> ipvs_result {
    ffi::call(|| {
        ffi::get_mut(dest, "dest")?.tunnel.port = port;
        Ok(())
    })
}

/// The tunnel's UDP port (0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_dest_tunnel_port(dest: *const ipvs_dest) -> u16 {
    ffi::value(0, || Ok(ffi::get(dest, "dest")?.tunnel.port))
}

/// Sets the tunnel checksum flags (`IPVS_TUNNEL_F_*` bits; above 0xffff is
/// `IPVS_RESULT_INVALID_PARAMETER`; unknown bits are refused when used).
#[no_mangle]
pub extern "C" fn ipvs_dest_set_tunnel_flags(dest: *mut ipvs_dest, flags: u32) -> ipvs_result {
    ffi::call(|| {
        let d = ffi::get_mut(dest, "dest")?;
        let f = u16::try_from(flags)
            .map_err(|_| Failure::Invalid(format!("flags: {flags:#x} does not fit the tunnel flags")))?;
        d.tunnel.flags = TunnelFlags::from_bits_retain(f);
        Ok(())
    })
}

/// The tunnel checksum flags (`IPVS_TUNNEL_F_*` bits; 0 for NULL).
#[no_mangle]
pub extern "C" fn ipvs_dest_tunnel_flags(dest: *const ipvs_dest) -> u32 {
    ffi::value(0, || Ok(u32::from(ffi::get(dest, "dest")?.tunnel.flags.bits())))
}

/// Checks the real server, and its fit with the service `key` (a family other than the
/// service's only for tunnels), as every use does: OK or the code of the first field that is
/// wrong.
#[no_mangle]
pub extern "C" fn ipvs_dest_validate(dest: *const ipvs_dest, key: *const ipvs_service_key) -> ipvs_result {
    ffi::call(|| {
        let d = ffi::get(dest, "dest")?;
        let k = ffi::get(key, "key")?;
        Ok(d.validate_for(k)?)
    })
}

/// Writes the real server as the part of an `ipvsadm -S -n` line after the service
/// (`-r 192.168.1.10:80 -m -w 2`) into `buf`. Buffer rules as `ipvs_result_message`.
#[no_mangle]
pub extern "C" fn ipvs_dest_text(
    dest: *const ipvs_dest,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> ipvs_result {
    ffi::call(|| {
        let d = ffi::get(dest, "dest")?;
        TextOut::new(buf, len, written)?.write(d.to_string().as_bytes())
    })
}
