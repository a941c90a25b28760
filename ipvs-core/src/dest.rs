//! Real servers (destinations): address, forwarding method, tunnel settings, weight, thresholds.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use crate::error::{Field, ValidationError};
use crate::fmt_util::SockAddr;
use crate::service::{AddressFamily, ServiceKey};

/// How packets reach a real server (the `IP_VS_CONN_F_FWD_MASK` bits).
///
/// [`ForwardMethod::Other`] holds only the numbers 5 to 7, which have no name (it is built by
/// [`ForwardMethod::from_raw`]), so two values equal to the kernel are equal here.
///
/// ```
/// use ipvs_core::ForwardMethod;
/// assert_eq!(ForwardMethod::from_raw(0), ForwardMethod::Masquerade);
/// assert_eq!(ForwardMethod::from_raw(8), ForwardMethod::Masquerade); // only the low 3 bits count
/// assert!(matches!(ForwardMethod::from_raw(6), ForwardMethod::Other(o) if o.get() == 6));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[non_exhaustive]
pub enum ForwardMethod {
    /// NAT (masquerading), `-m`.
    Masquerade,
    /// The real server is this host (the kernel picks this itself for local addresses).
    Local,
    /// IP tunnelling (ipip, GUE or GRE), `-i`.
    Tunnel,
    /// Direct routing (gatewaying), `-g`: ipvsadm's default.
    #[default]
    DirectRoute,
    /// Cache bypass (internal to the kernel).
    Bypass,
    /// A value 5 to 7, which the kernel passes unvalidated.
    Other(OtherForwardMethod),
}

/// A forwarding-method number without a name, 5 to 7 (built only by
/// [`ForwardMethod::from_raw`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OtherForwardMethod(u8);

impl OtherForwardMethod {
    /// The number.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl ForwardMethod {
    /// The kernel's number for the method.
    pub fn to_raw(self) -> u32 {
        match self {
            ForwardMethod::Masquerade => 0,
            ForwardMethod::Local => 1,
            ForwardMethod::Tunnel => 2,
            ForwardMethod::DirectRoute => 3,
            ForwardMethod::Bypass => 4,
            ForwardMethod::Other(n) => u32::from(n.0 & 7),
        }
    }

    /// The method for the kernel's number (only the low three bits count, as in the kernel).
    pub fn from_raw(raw: u32) -> Self {
        match raw & 7 {
            0 => ForwardMethod::Masquerade,
            1 => ForwardMethod::Local,
            2 => ForwardMethod::Tunnel,
            3 => ForwardMethod::DirectRoute,
            4 => ForwardMethod::Bypass,
            // raw & 7 is at most 7.
            n => ForwardMethod::Other(OtherForwardMethod(n as u8)),
        }
    }

    /// The name `ipvsadm -L` shows (`Masq`, `Local`, `Tunnel`, `Route`); `None` for methods
    /// ipvsadm has no name for.
    pub fn list_name(self) -> Option<&'static str> {
        match self {
            ForwardMethod::Masquerade => Some("Masq"),
            ForwardMethod::Local => Some("Local"),
            ForwardMethod::Tunnel => Some("Tunnel"),
            ForwardMethod::DirectRoute => Some("Route"),
            _ => None,
        }
    }

    /// The switch `ipvsadm -S` writes (`-m`, `-i`, `-g`; Local is written as `-g`).
    pub fn switch(self) -> Option<&'static str> {
        match self {
            ForwardMethod::Masquerade => Some("-m"),
            ForwardMethod::Tunnel => Some("-i"),
            ForwardMethod::Local | ForwardMethod::DirectRoute => Some("-g"),
            _ => None,
        }
    }
}

/// The encapsulation of a tunnelling real server (`--tun-type`, kernel 5.2+).
///
/// [`TunnelType::Other`] holds only numbers without a name (built by [`TunnelType::from_raw`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[non_exhaustive]
pub enum TunnelType {
    /// IP in IP (the default).
    #[default]
    Ipip,
    /// Generic UDP Encapsulation; needs a tunnel port.
    Gue,
    /// GRE (kernel 5.3+).
    Gre,
    /// A number the kernel accepts but does not know.
    Other(OtherTunnelType),
}

/// A tunnel-type number without a name, 3 or more (built only by [`TunnelType::from_raw`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OtherTunnelType(u8);

impl OtherTunnelType {
    /// The number.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TunnelType {
    /// The kernel's number.
    pub fn to_raw(self) -> u8 {
        match self {
            TunnelType::Ipip => 0,
            TunnelType::Gue => 1,
            TunnelType::Gre => 2,
            TunnelType::Other(n) => n.0,
        }
    }

    /// The type for the kernel's number.
    pub fn from_raw(raw: u8) -> Self {
        match raw {
            0 => TunnelType::Ipip,
            1 => TunnelType::Gue,
            2 => TunnelType::Gre,
            n => TunnelType::Other(OtherTunnelType(n)),
        }
    }

    /// ipvsadm's name (`ipip`, `gue`, `gre`).
    pub fn name(self) -> Option<&'static str> {
        match self {
            TunnelType::Ipip => Some("ipip"),
            TunnelType::Gue => Some("gue"),
            TunnelType::Gre => Some("gre"),
            TunnelType::Other(_) => None,
        }
    }
}

bitflags::bitflags! {
    /// Tunnel checksum flags (`IP_VS_TUNNEL_ENCAP_FLAG_*`, kernel 5.3+). Empty means no checksum.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
    pub struct TunnelFlags: u16 {
        /// Outer checksum (`--tun-csum`; GUE and GRE).
        const CSUM = 1;
        /// Remote checksum offload (`--tun-remcsum`; GUE only).
        const REMCSUM = 2;
        const _ = !0;
    }
}

impl TunnelFlags {
    /// ipvsadm's option for the flags value, chosen by number as ipvsadm does (0, 1, 2).
    pub fn option(self) -> Option<&'static str> {
        match self.bits() {
            0 => Some("--tun-nocsum"),
            1 => Some("--tun-csum"),
            2 => Some("--tun-remcsum"),
            _ => None,
        }
    }

    /// ipvsadm's short form in `--tun-info` listings (`-c`, `+c`, `r+c`).
    pub fn short(self) -> Option<&'static str> {
        match self.bits() {
            0 => Some("-c"),
            1 => Some("+c"),
            2 => Some("r+c"),
            _ => None,
        }
    }
}

/// Tunnel settings of a real server. The kernel keeps them even for non-tunnel methods.
///
/// ```
/// use ipvs_core::{Tunnel, TunnelFlags, TunnelType};
/// let t = Tunnel::gue(6080).with_flags(TunnelFlags::CSUM);
/// assert_eq!((t.kind, t.port, t.flags), (TunnelType::Gue, 6080, TunnelFlags::CSUM));
/// assert_eq!(Tunnel::default(), Tunnel::ipip());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Tunnel {
    /// Encapsulation.
    pub kind: TunnelType,
    /// UDP destination port for GUE (0 otherwise).
    pub port: u16,
    /// Checksum flags.
    pub flags: TunnelFlags,
}

impl Tunnel {
    /// IP in IP, no port, no checksum flags (the kernel's default).
    pub fn ipip() -> Self {
        Tunnel::default()
    }

    /// Generic UDP Encapsulation to UDP port `port` (which must not be 0).
    pub fn gue(port: u16) -> Self {
        Tunnel { kind: TunnelType::Gue, port, flags: TunnelFlags::empty() }
    }

    /// GRE (kernel 5.3+).
    pub fn gre() -> Self {
        Tunnel { kind: TunnelType::Gre, port: 0, flags: TunnelFlags::empty() }
    }

    /// The same tunnel with these checksum flags.
    pub fn with_flags(mut self, flags: TunnelFlags) -> Self {
        self.flags = flags;
        self
    }
}

/// A real server's configuration: what `ipvsadm -a`/`-e` sets.
///
/// `Display` writes the part of an `ipvsadm -S -n` line after the service:
/// ```
/// use ipvs_core::{Destination, ForwardMethod, Tunnel, TunnelFlags};
/// let d = Destination::new("192.168.1.10:80".parse().unwrap())
///     .with_forward(ForwardMethod::Masquerade)
///     .with_weight(2);
/// assert_eq!(d.to_string(), "-r 192.168.1.10:80 -m -w 2");
/// let t = Destination::new("[2001:db8::2]:0".parse().unwrap())
///     .with_forward(ForwardMethod::Tunnel)
///     .with_tunnel(Tunnel::gue(6080).with_flags(TunnelFlags::CSUM));
/// assert_eq!(t.to_string(), "-r [2001:db8::2]:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Destination {
    /// The real server's address. Its family may differ from the service's only for tunnels.
    pub addr: IpAddr,
    /// The real server's port.
    pub port: u16,
    /// How packets reach it.
    pub forward: ForwardMethod,
    /// Weight; 0 quiesces the server (no new connections). The kernel allows up to `i32::MAX`.
    pub weight: u32,
    /// Upper connection threshold; 0 means none.
    pub upper_threshold: u32,
    /// Lower connection threshold; 0 means 3/4 of the upper one.
    pub lower_threshold: u32,
    /// Tunnel settings.
    pub tunnel: Tunnel,
}

impl Destination {
    /// The largest weight and threshold the kernel accepts (`INT_MAX`).
    pub const MAX_WEIGHT: u32 = i32::MAX as u32;
    /// The largest weight ipvsadm accepts.
    pub const IPVSADM_MAX_WEIGHT: u32 = 65_535;

    /// A real server with ipvsadm's defaults: direct routing, weight 1, no thresholds.
    pub fn new(addr: SocketAddr) -> Self {
        Destination {
            addr: addr.ip(),
            port: addr.port(),
            forward: ForwardMethod::DirectRoute,
            weight: 1,
            upper_threshold: 0,
            lower_threshold: 0,
            tunnel: Tunnel::default(),
        }
    }

    /// The same server with another forwarding method.
    pub fn with_forward(mut self, forward: ForwardMethod) -> Self {
        self.forward = forward;
        self
    }

    /// The same server with another weight.
    pub fn with_weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }

    /// The same server with thresholds.
    pub fn with_thresholds(mut self, upper: u32, lower: u32) -> Self {
        self.upper_threshold = upper;
        self.lower_threshold = lower;
        self
    }

    /// The same server with tunnel settings.
    pub fn with_tunnel(mut self, tunnel: Tunnel) -> Self {
        self.tunnel = tunnel;
        self
    }

    /// The address and port that identify the server within its service.
    pub fn key(&self) -> DestinationKey {
        DestinationKey { addr: self.addr, port: self.port }
    }

    /// The server's address family.
    pub fn family(&self) -> AddressFamily {
        AddressFamily::of(&self.addr)
    }

    /// Checks every field against the kernel's limits.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_dest_addr(&self.addr)?;
        if let ForwardMethod::Other(n) = self.forward {
            return Err(ValidationError::OutOfRange {
                field: Field::ForwardMethod,
                value: u64::from(n.get()),
                min: 0,
                max: 4,
            });
        }
        for (field, value) in [
            (Field::Weight, self.weight),
            (Field::UpperThreshold, self.upper_threshold),
            (Field::LowerThreshold, self.lower_threshold),
        ] {
            if value > Self::MAX_WEIGHT {
                return Err(ValidationError::OutOfRange {
                    field,
                    value: u64::from(value),
                    min: 0,
                    max: u64::from(Self::MAX_WEIGHT),
                });
            }
        }
        // The kernel compares the two thresholds even when the upper one is 0 (ERANGE).
        if self.lower_threshold > self.upper_threshold {
            return Err(ValidationError::OutOfRange {
                field: Field::LowerThreshold,
                value: u64::from(self.lower_threshold),
                min: 0,
                max: u64::from(self.upper_threshold),
            });
        }
        if let TunnelType::Other(n) = self.tunnel.kind {
            return Err(ValidationError::OutOfRange {
                field: Field::TunnelType,
                value: u64::from(n.get()),
                min: 0,
                max: 2,
            });
        }
        // The kernel refuses a GUE tunnel without a port, whatever the forwarding method.
        if self.tunnel.kind == TunnelType::Gue && self.tunnel.port == 0 {
            return Err(ValidationError::Invalid {
                field: Field::TunnelPort,
                reason: "a GUE tunnel needs a port (1..=65535)",
            });
        }
        let unknown = (self.tunnel.flags - (TunnelFlags::CSUM | TunnelFlags::REMCSUM)).bits();
        if unknown != 0 {
            return Err(ValidationError::UnknownBits { field: Field::TunnelFlags, bits: u32::from(unknown) });
        }
        if self.tunnel.flags == TunnelFlags::CSUM | TunnelFlags::REMCSUM {
            return Err(ValidationError::Invalid {
                field: Field::TunnelFlags,
                reason: "csum and remcsum cannot both be set",
            });
        }
        if self.tunnel.flags.contains(TunnelFlags::REMCSUM) && self.tunnel.kind != TunnelType::Gue {
            return Err(ValidationError::Invalid {
                field: Field::TunnelFlags,
                reason: "remote checksum offload is only for GUE tunnels",
            });
        }
        // ipvsadm refuses these ("Illegal '--tun-csum' option with the 'ipip' tunnel type",
        // "Tunnel options conflict with forward method"); the kernel would store them unused.
        if !self.tunnel.flags.is_empty() && self.tunnel.kind == TunnelType::Ipip {
            return Err(ValidationError::Invalid {
                field: Field::TunnelFlags,
                reason: "an ipip tunnel has no checksum options",
            });
        }
        if self.forward != ForwardMethod::Tunnel && self.tunnel != Tunnel::default() {
            return Err(ValidationError::Invalid {
                field: Field::TunnelType,
                reason: "tunnel settings are only for tunnelling (-i) real servers",
            });
        }
        Ok(())
    }

    /// Checks the server and its fit with `service`: a family other than the service's is only
    /// allowed for tunnelling servers (the kernel's rule).
    pub fn validate_for(&self, service: &ServiceKey) -> Result<(), ValidationError> {
        self.validate()?;
        if self.family() != service.family() && self.forward != ForwardMethod::Tunnel {
            return Err(ValidationError::FamilyMismatch {
                field: Field::DestinationAddress,
                expected: service.family(),
                got: self.family(),
            });
        }
        Ok(())
    }
}

fn validate_dest_addr(addr: &IpAddr) -> Result<(), ValidationError> {
    let reason = match addr {
        IpAddr::V4(a) if a.is_unspecified() => Some("0.0.0.0 is not a unicast address"),
        IpAddr::V4(a) if a.is_broadcast() => Some("the broadcast address is not a unicast address"),
        IpAddr::V4(a) if a.is_multicast() => Some("a multicast address is not a unicast address"),
        IpAddr::V6(a) if a.is_unspecified() => Some(":: is not a unicast address"),
        IpAddr::V6(a) if a.is_multicast() => Some("a multicast address is not a unicast address"),
        _ => None,
    };
    match reason {
        Some(reason) => Err(ValidationError::Invalid { field: Field::DestinationAddress, reason }),
        None => Ok(()),
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "-r {}", SockAddr(self.addr, self.port))?;
        if let Some(s) = self.forward.switch() {
            write!(f, " {s}")?;
        }
        write!(f, " -w {}", self.weight)?;
        if self.forward == ForwardMethod::Tunnel {
            let flag = self.tunnel.flags.option();
            match self.tunnel.kind {
                TunnelType::Ipip => f.write_str(" --tun-type ipip")?,
                TunnelType::Gue => {
                    write!(f, " --tun-type gue --tun-port {}", self.tunnel.port)?;
                    if let Some(flag) = flag {
                        write!(f, " {flag}")?;
                    }
                }
                TunnelType::Gre => {
                    f.write_str(" --tun-type gre")?;
                    if let Some(flag) = flag {
                        write!(f, " {flag}")?;
                    }
                }
                TunnelType::Other(_) => {}
            }
        }
        Ok(())
    }
}

/// What identifies a real server within a service: its address and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DestinationKey {
    /// Address.
    pub addr: IpAddr,
    /// Port.
    pub port: u16,
}

impl From<SocketAddr> for DestinationKey {
    fn from(s: SocketAddr) -> Self {
        DestinationKey { addr: s.ip(), port: s.port() }
    }
}

impl fmt::Display for DestinationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        SockAddr(self.addr, self.port).fmt(f)
    }
}
