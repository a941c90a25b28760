//! `IPVS_STATS_ATTR_*`: counters and rates, in two layouts.

use netlink_packet_core::{Nla, NlaBuffer, ParseableParametrized};

use super::consts::*;
use super::unknown::UnknownAttr;
use super::wire::{self, NlError};

/// Which nest a stats attribute lives in; the value widths depend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatsLayout {
    /// `IPVS_SVC_ATTR_STATS` / `IPVS_DEST_ATTR_STATS`: every value is a u32
    /// except `INBYTES` and `OUTBYTES`, which are u64
    /// (`ip_vs_genl_fill_stats`, `ip_vs_ctl.c:3062-3090`). The kernel
    /// truncates its 64-bit counters to their low 32 bits here.
    Stats32,
    /// `IPVS_SVC_ATTR_STATS64` / `IPVS_DEST_ATTR_STATS64` (since Linux 4.1):
    /// every value is a u64 (`ip_vs_genl_fill_stats64`, `ip_vs_ctl.c:3092-3128`).
    Stats64,
}

/// One statistics attribute. Values are host order in both layouts.
///
/// Every counter is held as a `u64`. In the [`StatsLayout::Stats32`] layout
/// the u32 fields are emitted as their low 32 bits, exactly like the kernel's
/// `(u32)` cast; parse never loses anything.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatsAttr {
    /// `IPVS_STATS_ATTR_CONNS`: connections scheduled.
    Conns(u64),
    /// `IPVS_STATS_ATTR_INPKTS`: incoming packets.
    InPkts(u64),
    /// `IPVS_STATS_ATTR_OUTPKTS`: outgoing packets.
    OutPkts(u64),
    /// `IPVS_STATS_ATTR_INBYTES`: incoming bytes (u64 in both layouts).
    InBytes(u64),
    /// `IPVS_STATS_ATTR_OUTBYTES`: outgoing bytes (u64 in both layouts).
    OutBytes(u64),
    /// `IPVS_STATS_ATTR_CPS`: connection rate per second.
    Cps(u64),
    /// `IPVS_STATS_ATTR_INPPS`: incoming packet rate.
    InPps(u64),
    /// `IPVS_STATS_ATTR_OUTPPS`: outgoing packet rate.
    OutPps(u64),
    /// `IPVS_STATS_ATTR_INBPS`: incoming byte rate.
    InBps(u64),
    /// `IPVS_STATS_ATTR_OUTBPS`: outgoing byte rate.
    OutBps(u64),
    /// `IPVS_STATS_ATTR_PAD` (since Linux 4.7): the zero-length attribute that
    /// `nla_put_u64_64bit` inserts before a u64 on architectures without
    /// efficient unaligned access (never on x86-64). It carries nothing;
    /// keep it only to reproduce the bytes. A PAD with a payload is kept as
    /// [`StatsAttr::Other`].
    Pad,
    /// An attribute this crate does not know (a newer kernel's), kept byte
    /// for byte; it has the same wire form in both layouts.
    Other(UnknownAttr),
}

impl StatsAttr {
    /// The `IPVS_STATS_ATTR_*` number (for [`StatsAttr::Other`], its raw
    /// type, flag bits included).
    pub fn kind(&self) -> u16 {
        match self {
            Self::Conns(_) => IPVS_STATS_ATTR_CONNS,
            Self::InPkts(_) => IPVS_STATS_ATTR_INPKTS,
            Self::OutPkts(_) => IPVS_STATS_ATTR_OUTPKTS,
            Self::InBytes(_) => IPVS_STATS_ATTR_INBYTES,
            Self::OutBytes(_) => IPVS_STATS_ATTR_OUTBYTES,
            Self::Cps(_) => IPVS_STATS_ATTR_CPS,
            Self::InPps(_) => IPVS_STATS_ATTR_INPPS,
            Self::OutPps(_) => IPVS_STATS_ATTR_OUTPPS,
            Self::InBps(_) => IPVS_STATS_ATTR_INBPS,
            Self::OutBps(_) => IPVS_STATS_ATTR_OUTBPS,
            Self::Pad => IPVS_STATS_ATTR_PAD,
            Self::Other(nla) => nla.kind,
        }
    }

    /// The counter value, for every variant but `Pad` and `Other`.
    pub fn value(&self) -> Option<u64> {
        match self {
            Self::Conns(v)
            | Self::InPkts(v)
            | Self::OutPkts(v)
            | Self::InBytes(v)
            | Self::OutBytes(v)
            | Self::Cps(v)
            | Self::InPps(v)
            | Self::OutPps(v)
            | Self::InBps(v)
            | Self::OutBps(v) => Some(*v),
            Self::Pad | Self::Other(_) => None,
        }
    }

    /// Wire width of the value in `layout`.
    fn width(&self, layout: StatsLayout) -> usize {
        match (self, layout) {
            (Self::Pad, _) => 0,
            (Self::Other(nla), _) => nla.value.len(),
            (Self::InBytes(_) | Self::OutBytes(_), _) | (_, StatsLayout::Stats64) => 8,
            (_, StatsLayout::Stats32) => 4,
        }
    }
}

fn name(kind: u16) -> &'static str {
    match kind {
        IPVS_STATS_ATTR_CONNS => "IPVS_STATS_ATTR_CONNS",
        IPVS_STATS_ATTR_INPKTS => "IPVS_STATS_ATTR_INPKTS",
        IPVS_STATS_ATTR_OUTPKTS => "IPVS_STATS_ATTR_OUTPKTS",
        IPVS_STATS_ATTR_INBYTES => "IPVS_STATS_ATTR_INBYTES",
        IPVS_STATS_ATTR_OUTBYTES => "IPVS_STATS_ATTR_OUTBYTES",
        IPVS_STATS_ATTR_CPS => "IPVS_STATS_ATTR_CPS",
        IPVS_STATS_ATTR_INPPS => "IPVS_STATS_ATTR_INPPS",
        IPVS_STATS_ATTR_OUTPPS => "IPVS_STATS_ATTR_OUTPPS",
        IPVS_STATS_ATTR_INBPS => "IPVS_STATS_ATTR_INBPS",
        IPVS_STATS_ATTR_OUTBPS => "IPVS_STATS_ATTR_OUTBPS",
        _ => "IPVS_STATS_ATTR_PAD",
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> ParseableParametrized<NlaBuffer<&'a T>, StatsLayout> for StatsAttr {
    fn parse_with_param(buf: &NlaBuffer<&'a T>, layout: StatsLayout) -> Result<Self, NlError> {
        let kind = buf.kind();
        let v = buf.value();
        // Counters: u32 in the 32-bit layout, u64 in STATS64. Bytes: u64 in both.
        let counter = |kind| match layout {
            StatsLayout::Stats32 => wire::u32_ne(name(kind), v).map(u64::from),
            StatsLayout::Stats64 => wire::u64_ne(name(kind), v),
        };
        Ok(match kind {
            IPVS_STATS_ATTR_CONNS => Self::Conns(counter(kind)?),
            IPVS_STATS_ATTR_INPKTS => Self::InPkts(counter(kind)?),
            IPVS_STATS_ATTR_OUTPKTS => Self::OutPkts(counter(kind)?),
            IPVS_STATS_ATTR_INBYTES => Self::InBytes(wire::u64_ne(name(kind), v)?),
            IPVS_STATS_ATTR_OUTBYTES => Self::OutBytes(wire::u64_ne(name(kind), v)?),
            IPVS_STATS_ATTR_CPS => Self::Cps(counter(kind)?),
            IPVS_STATS_ATTR_INPPS => Self::InPps(counter(kind)?),
            IPVS_STATS_ATTR_OUTPPS => Self::OutPps(counter(kind)?),
            IPVS_STATS_ATTR_INBPS => Self::InBps(counter(kind)?),
            IPVS_STATS_ATTR_OUTBPS => Self::OutBps(counter(kind)?),
            IPVS_STATS_ATTR_PAD if v.is_empty() => Self::Pad,
            _ => Self::Other(UnknownAttr::from_nla(buf)),
        })
    }
}

/// A stats attribute paired with its layout, so it can be emitted.
struct LaidOut<'a> {
    attr: &'a StatsAttr,
    layout: StatsLayout,
}

impl Nla for LaidOut<'_> {
    fn value_len(&self) -> usize {
        self.attr.width(self.layout)
    }

    fn kind(&self) -> u16 {
        self.attr.kind()
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match (self.attr, self.attr.width(self.layout)) {
            (StatsAttr::Pad, _) => {}
            (StatsAttr::Other(nla), _) => nla.emit_value(buffer),
            (attr, 4) => {
                // Low 32 bits, like the kernel's `(u32)kstats->conns`.
                let v = attr.value().unwrap_or_default() as u32;
                wire::put(buffer, &v.to_ne_bytes());
            }
            (attr, _) => wire::put(buffer, &attr.value().unwrap_or_default().to_ne_bytes()),
        }
    }
}

/// Total emitted length of a stats nest's contents.
pub(crate) fn nest_len(attrs: &[StatsAttr], layout: StatsLayout) -> usize {
    attrs.iter().map(|attr| wire::nla_size(&LaidOut { attr, layout })).sum()
}

/// Emits a stats nest's contents into `buffer` (sized by [`nest_len`]).
pub(crate) fn emit_nest(attrs: &[StatsAttr], layout: StatsLayout, buffer: &mut [u8]) {
    let mut offset = 0;
    for attr in attrs {
        let nla = LaidOut { attr, layout };
        let end = offset + wire::nla_size(&nla);
        if let Some(dst) = buffer.get_mut(offset..end) {
            wire::emit_nla(&nla, dst);
        }
        offset = end;
    }
}

/// Parses the contents of a `STATS` or `STATS64` nest.
///
/// Unknown attribute numbers become [`StatsAttr::Other`]; a known one with
/// the wrong size is an error that names it.
pub fn parse_stats_attrs(value: &[u8], layout: StatsLayout) -> Result<Vec<StatsAttr>, super::DecodeError> {
    attrs(value, layout).map_err(wire::public)
}

/// [`parse_stats_attrs`] with netlink-packet-core's error, for the trait impls.
pub(crate) fn attrs(value: &[u8], layout: StatsLayout) -> Result<Vec<StatsAttr>, NlError> {
    wire::parse_nest(value, |nla| StatsAttr::parse_with_param(nla, layout))
}
