//! What the kernel reports besides configuration: statistics, connection counts, timeouts,
//! sync daemons and version information.

use std::fmt;
use std::net::IpAddr;

use crate::dest::Destination;
use crate::error::{Field, ValidationError};
use crate::service::Service;

/// Counters and rates of a service, a real server or the whole table.
///
/// Counters count since the last zeroing. Rates are the kernel's smoothed per-second estimates
/// (updated every 2 seconds). The kernel reports the same values twice: with 64-bit fields
/// (`STATS64`, kernel 4.1+) and in a 32-bit layout where only the byte counters are 64-bit.
///
/// ```
/// use ipvs_core::Stats;
/// let mut s = Stats::default();
/// s.conns = 3;
/// assert_eq!(s.conns, 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Packets in.
    pub in_packets: u64,
    /// Packets out.
    pub out_packets: u64,
    /// Bytes in.
    pub in_bytes: u64,
    /// Bytes out.
    pub out_bytes: u64,
    /// Connections per second.
    pub cps: u64,
    /// Packets in per second.
    pub in_pps: u64,
    /// Packets out per second.
    pub out_pps: u64,
    /// Bytes in per second.
    pub in_bps: u64,
    /// Bytes out per second.
    pub out_bps: u64,
}

/// A service as the kernel reports it: its configuration and its statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceStatus {
    /// The configuration.
    pub service: Service,
    /// 64-bit statistics (`STATS64`; from `STATS` on kernels before 4.1).
    pub stats: Stats,
    /// The 32-bit statistics layout as the kernel sent it (counters truncated to 32 bits).
    pub stats32: Stats,
}

/// A real server as the kernel reports it: configuration, connection counts and statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DestinationStatus {
    /// The configuration.
    pub dest: Destination,
    /// Active connections (established TCP, and others the kernel counts as active).
    pub active_conns: u32,
    /// Inactive connections.
    pub inactive_conns: u32,
    /// Persistence templates pointing at this server.
    pub persist_conns: u32,
    /// 64-bit statistics.
    pub stats: Stats,
    /// The 32-bit statistics layout as the kernel sent it.
    pub stats32: Stats,
}

impl ServiceStatus {
    /// A status with zero counters, for a configuration.
    ///
    /// ```
    /// use ipvs_core::{Service, ServiceKey, ServiceStatus};
    /// let st = ServiceStatus::new(Service::new(ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80)));
    /// assert_eq!(st.stats.conns, 0);
    /// ```
    pub fn new(service: Service) -> Self {
        ServiceStatus { service, stats: Stats::default(), stats32: Stats::default() }
    }
}

impl DestinationStatus {
    /// A status with zero counters, for a configuration.
    pub fn new(dest: Destination) -> Self {
        DestinationStatus {
            dest,
            active_conns: 0,
            inactive_conns: 0,
            persist_conns: 0,
            stats: Stats::default(),
            stats32: Stats::default(),
        }
    }
}

/// Connection timeouts in seconds (`ipvsadm --set tcp tcpfin udp`). On a write, 0 leaves a
/// value unchanged.
///
/// ```
/// use ipvs_core::Timeouts;
/// let t = Timeouts::new(900, 120, 300);
/// assert_eq!(t.to_string(), "Timeout (tcp tcpfin udp): 900 120 300");
/// t.validate().unwrap();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Timeouts {
    /// TCP ESTABLISHED timeout (kernel default 900).
    pub tcp: u32,
    /// TCP FIN_WAIT timeout (kernel default 120).
    pub tcp_fin: u32,
    /// UDP timeout (kernel default 300).
    pub udp: u32,
}

impl Timeouts {
    /// ipvsadm's largest timeout, in seconds (31 days).
    pub const MAX: u32 = 2_678_400;

    /// The kernel's defaults: TCP 900 s, TCP FIN_WAIT 120 s, UDP 300 s.
    pub const DEFAULT: Timeouts = Timeouts { tcp: 900, tcp_fin: 120, udp: 300 };

    /// Timeouts of `tcp`, `tcp_fin` and `udp` seconds (0 leaves a value unchanged on a write).
    pub const fn new(tcp: u32, tcp_fin: u32, udp: u32) -> Self {
        Timeouts { tcp, tcp_fin, udp }
    }

    /// Checks each value against ipvsadm's limit (which is below the kernel's).
    pub fn validate(&self) -> Result<(), ValidationError> {
        for (field, value) in [
            (Field::TimeoutTcp, self.tcp),
            (Field::TimeoutTcpFin, self.tcp_fin),
            (Field::TimeoutUdp, self.udp),
        ] {
            if value > Self::MAX {
                return Err(ValidationError::OutOfRange {
                    field,
                    value: u64::from(value),
                    min: 0,
                    max: u64::from(Self::MAX),
                });
            }
        }
        Ok(())
    }
}

impl fmt::Display for Timeouts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timeout (tcp tcpfin udp): {} {} {}", self.tcp, self.tcp_fin, self.udp)
    }
}

/// The role of a connection-sync daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SyncRole {
    /// Sends the director's connections to the backups.
    Master,
    /// Receives connections from a master.
    Backup,
}

impl SyncRole {
    /// The kernel's number (`IP_VS_STATE_MASTER` = 1, `IP_VS_STATE_BACKUP` = 2).
    pub fn to_raw(self) -> u32 {
        match self {
            SyncRole::Master => 1,
            SyncRole::Backup => 2,
        }
    }

    /// The role for the kernel's number.
    pub fn from_raw(raw: u32) -> Option<Self> {
        match raw {
            1 => Some(SyncRole::Master),
            2 => Some(SyncRole::Backup),
            _ => None,
        }
    }

    /// `master` or `backup`.
    pub fn name(self) -> &'static str {
        match self {
            SyncRole::Master => "master",
            SyncRole::Backup => "backup",
        }
    }
}

impl fmt::Display for SyncRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A network interface name as the kernel stores it: up to 15 bytes, which need not be UTF-8
/// (Linux refuses only `/`, `:`, white space and NUL in interface names).
///
/// Built from a string or bytes without checks, like every value of the model;
/// [`InterfaceName::validate`] (and [`SyncDaemon::validate`]) checks it. `Display` writes it
/// lossily (invalid UTF-8 as U+FFFD); [`InterfaceName::as_bytes`] gives the bytes.
///
/// ```
/// use ipvs_core::status::InterfaceName;
/// let eth = InterfaceName::from("eth0");
/// assert_eq!(eth.to_string(), "eth0");
/// let odd = InterfaceName::from(&b"v\xe9th0"[..]);
/// assert_eq!(odd.as_bytes(), b"v\xe9th0");
/// assert!(odd.validate().is_ok());
/// assert!(InterfaceName::from("eth 0").validate().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct InterfaceName(Vec<u8>);

impl InterfaceName {
    /// The longest interface name (`IFNAMSIZ` - 1).
    pub const MAX_LEN: usize = 15;

    /// The name's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The name as a string, if it is UTF-8.
    pub fn to_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The name as a string, invalid UTF-8 replaced by U+FFFD.
    pub fn to_string_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// Checks the name as Linux checks interface names (`dev_valid_name`): 1 to 15 bytes, not
    /// `.` or `..`, without `/`, `:`, white space or NUL. White space is the kernel's `isspace`
    /// (`lib/ctype.c`): space, `\t`, `\n`, `\v`, `\f`, `\r`, and the Latin-1 no-break space
    /// 0xA0.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let bad = |reason| ValidationError::BadName {
            field: Field::SyncInterface,
            value: self.to_string_lossy().into_owned(),
            reason,
        };
        if self.0.is_empty() {
            return Err(bad("empty"));
        }
        if self.0.len() > Self::MAX_LEN {
            return Err(ValidationError::TooLong {
                field: Field::SyncInterface,
                len: self.0.len(),
                max: Self::MAX_LEN,
            });
        }
        if self.0 == b"." || self.0 == b".." {
            return Err(bad("not a valid interface name"));
        }
        let kernel_space = |b: u8| b.is_ascii_whitespace() || b == 0x0b || b == 0xa0;
        if self.0.iter().any(|&b| b == 0 || b == b'/' || b == b':' || kernel_space(b)) {
            return Err(bad("an interface name cannot hold '/', ':', white space or NUL"));
        }
        Ok(())
    }
}

impl fmt::Debug for InterfaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string_lossy(), f)
    }
}

impl fmt::Display for InterfaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

impl From<&str> for InterfaceName {
    fn from(s: &str) -> Self {
        InterfaceName(s.as_bytes().to_vec())
    }
}

impl From<String> for InterfaceName {
    fn from(s: String) -> Self {
        InterfaceName(s.into_bytes())
    }
}

impl From<&[u8]> for InterfaceName {
    fn from(b: &[u8]) -> Self {
        InterfaceName(b.to_vec())
    }
}

impl From<Vec<u8>> for InterfaceName {
    fn from(b: Vec<u8>) -> Self {
        InterfaceName(b)
    }
}

impl PartialEq<str> for InterfaceName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for InterfaceName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

/// A connection-sync daemon's configuration (`ipvsadm --start-daemon`).
///
/// `Display` writes the line `ipvsadm -L --daemon` prints:
/// ```
/// use ipvs_core::{SyncDaemon, SyncRole};
/// let d = SyncDaemon::new(SyncRole::Master, "eth0", 7);
/// assert_eq!(d.to_string(), "master sync daemon (mcast=eth0, syncid=7)");
/// d.validate().unwrap();
/// let d = d.with_group("224.0.0.82".parse().unwrap()).with_port(8849).with_ttl(2).with_max_len(1400);
/// assert_eq!(d.to_string(), "master sync daemon (mcast=eth0, syncid=7, maxlen=1400, group=224.0.0.82, port=8849, ttl=2)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SyncDaemon {
    /// Master or backup.
    pub role: SyncRole,
    /// The interface for multicast.
    pub interface: InterfaceName,
    /// The sync id (0..=255).
    pub sync_id: u32,
    /// Largest sync payload; 0 lets the kernel choose (kernel 4.3+).
    pub max_len: u16,
    /// Multicast group; `None` means the kernel's default 224.0.0.81 (kernel 4.3+).
    pub group: Option<IpAddr>,
    /// Base UDP port; 0 means the kernel's default 8848 (kernel 4.3+).
    pub port: u16,
    /// Multicast TTL; 0 means the kernel's default 1 (kernel 4.3+).
    pub ttl: u8,
}

impl SyncDaemon {
    /// The longest interface name (`IP_VS_IFNAME_MAXLEN` - 1).
    pub const MAX_INTERFACE_LEN: usize = InterfaceName::MAX_LEN;
    /// ipvsadm's largest sync id.
    pub const MAX_SYNC_ID: u32 = 255;
    /// ipvsadm's largest sync message length.
    pub const MAX_LEN: u16 = 65_507;

    /// A daemon with the kernel's defaults for everything optional.
    pub fn new(role: SyncRole, interface: impl Into<InterfaceName>, sync_id: u32) -> Self {
        SyncDaemon { role, interface: interface.into(), sync_id, max_len: 0, group: None, port: 0, ttl: 0 }
    }

    /// The same daemon with a largest sync payload (`--sync-maxlen`).
    pub fn with_max_len(mut self, max_len: u16) -> Self {
        self.max_len = max_len;
        self
    }

    /// The same daemon with a multicast group (`--mcast-group`).
    pub fn with_group(mut self, group: IpAddr) -> Self {
        self.group = Some(group);
        self
    }

    /// The same daemon with a base UDP port (`--mcast-port`).
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The same daemon with a multicast TTL (`--mcast-ttl`).
    pub fn with_ttl(mut self, ttl: u8) -> Self {
        self.ttl = ttl;
        self
    }

    /// Checks every field against the kernel's and ipvsadm's limits.
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.interface.validate()?;
        if self.sync_id > Self::MAX_SYNC_ID {
            return Err(ValidationError::OutOfRange {
                field: Field::SyncId,
                value: u64::from(self.sync_id),
                min: 0,
                max: u64::from(Self::MAX_SYNC_ID),
            });
        }
        if self.max_len > Self::MAX_LEN {
            return Err(ValidationError::OutOfRange {
                field: Field::SyncMaxlen,
                value: u64::from(self.max_len),
                min: 0,
                max: u64::from(Self::MAX_LEN),
            });
        }
        if let Some(g) = self.group {
            if !g.is_multicast() {
                return Err(ValidationError::Invalid {
                    field: Field::SyncGroup,
                    reason: "the group must be a multicast address",
                });
            }
        }
        Ok(())
    }
}

impl fmt::Display for SyncDaemon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} sync daemon (mcast={}, syncid={}", self.role, self.interface, self.sync_id)?;
        if self.max_len != 0 {
            write!(f, ", maxlen={}", self.max_len)?;
        }
        if let Some(g) = self.group {
            write!(f, ", group={g}")?;
        }
        if self.port != 0 {
            write!(f, ", port={}", self.port)?;
        }
        if self.ttl != 0 {
            write!(f, ", ttl={}", self.ttl)?;
        }
        f.write_str(")")
    }
}

/// The IPVS version and connection table size (`GET_INFO`).
///
/// ```
/// use ipvs_core::Info;
/// let i = Info::new(0x010201, 4096);
/// assert_eq!(i.to_string(), "IP Virtual Server version 1.2.1 (size=4096)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Info {
    /// The version as the kernel encodes it: `0x010201` is 1.2.1.
    pub version: u32,
    /// The number of buckets of the connection hash table.
    pub conn_tab_size: u32,
}

impl Info {
    /// Version `version` (`0x010201` is 1.2.1) with a connection table of `conn_tab_size`
    /// buckets.
    pub const fn new(version: u32, conn_tab_size: u32) -> Self {
        Info { version, conn_tab_size }
    }

    /// The version as (major, minor, patch).
    pub fn version_triple(&self) -> (u32, u32, u32) {
        ((self.version >> 16) & 0xff, (self.version >> 8) & 0xff, self.version & 0xff)
    }
}

impl fmt::Display for Info {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b, c) = self.version_triple();
        write!(f, "IP Virtual Server version {a}.{b}.{c} (size={})", self.conn_tab_size)
    }
}
