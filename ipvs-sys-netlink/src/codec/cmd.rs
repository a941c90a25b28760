//! IPVS commands: the `cmd` byte of the generic-netlink header.

use std::fmt;

use super::consts::*;

/// An IPVS command (`IPVS_CMD_*`, the `cmd` byte of the genl header).
///
/// Replies reuse the "set" commands: GET_SERVICE answers with
/// [`NewService`](Self::NewService), the GET_DEST dump with
/// [`NewDest`](Self::NewDest), the GET_DAEMON dump with
/// [`NewDaemon`](Self::NewDaemon), GET_CONFIG with
/// [`SetConfig`](Self::SetConfig) and GET_INFO with [`SetInfo`](Self::SetInfo).
///
/// Every number converts both ways ([`From<u8>`], `u8::from`); a number with
/// a named variant is always that variant, never [`Other`](Self::Other):
///
/// ```
/// use ipvs_sys_netlink::codec::IpvsCmd;
///
/// assert_eq!(IpvsCmd::from(1), IpvsCmd::NewService);
/// let IpvsCmd::Other(other) = IpvsCmd::from(18) else { unreachable!() };
/// assert_eq!(other.get(), 18);
/// assert_eq!(u8::from(IpvsCmd::from(18)), 18);
/// assert_eq!(IpvsCmd::NewDest.to_string(), "IPVS_CMD_NEW_DEST");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IpvsCmd {
    /// `IPVS_CMD_NEW_SERVICE` (1).
    NewService,
    /// `IPVS_CMD_SET_SERVICE` (2).
    SetService,
    /// `IPVS_CMD_DEL_SERVICE` (3).
    DelService,
    /// `IPVS_CMD_GET_SERVICE` (4).
    GetService,
    /// `IPVS_CMD_NEW_DEST` (5).
    NewDest,
    /// `IPVS_CMD_SET_DEST` (6).
    SetDest,
    /// `IPVS_CMD_DEL_DEST` (7).
    DelDest,
    /// `IPVS_CMD_GET_DEST` (8), dump only.
    GetDest,
    /// `IPVS_CMD_NEW_DAEMON` (9).
    NewDaemon,
    /// `IPVS_CMD_DEL_DAEMON` (10).
    DelDaemon,
    /// `IPVS_CMD_GET_DAEMON` (11), dump only.
    GetDaemon,
    /// `IPVS_CMD_SET_CONFIG` (12); libipvs calls it `SET_TIMEOUT`.
    SetConfig,
    /// `IPVS_CMD_GET_CONFIG` (13); libipvs calls it `GET_TIMEOUT`.
    GetConfig,
    /// `IPVS_CMD_SET_INFO` (14): only the reply command of GET_INFO.
    SetInfo,
    /// `IPVS_CMD_GET_INFO` (15).
    GetInfo,
    /// `IPVS_CMD_ZERO` (16).
    Zero,
    /// `IPVS_CMD_FLUSH` (17).
    Flush,
    /// Any other number (0 = `IPVS_CMD_UNSPEC`, or a newer kernel's command),
    /// built only by [`IpvsCmd::from`].
    Other(OtherCmd),
}

/// A command number that none of [`IpvsCmd`]'s named variants has (built only
/// by [`IpvsCmd::from`], so it never holds 1 to 17).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OtherCmd(u8);

impl OtherCmd {
    /// The command number.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl From<u8> for IpvsCmd {
    fn from(cmd: u8) -> Self {
        match cmd {
            IPVS_CMD_NEW_SERVICE => Self::NewService,
            IPVS_CMD_SET_SERVICE => Self::SetService,
            IPVS_CMD_DEL_SERVICE => Self::DelService,
            IPVS_CMD_GET_SERVICE => Self::GetService,
            IPVS_CMD_NEW_DEST => Self::NewDest,
            IPVS_CMD_SET_DEST => Self::SetDest,
            IPVS_CMD_DEL_DEST => Self::DelDest,
            IPVS_CMD_GET_DEST => Self::GetDest,
            IPVS_CMD_NEW_DAEMON => Self::NewDaemon,
            IPVS_CMD_DEL_DAEMON => Self::DelDaemon,
            IPVS_CMD_GET_DAEMON => Self::GetDaemon,
            IPVS_CMD_SET_CONFIG => Self::SetConfig,
            IPVS_CMD_GET_CONFIG => Self::GetConfig,
            IPVS_CMD_SET_INFO => Self::SetInfo,
            IPVS_CMD_GET_INFO => Self::GetInfo,
            IPVS_CMD_ZERO => Self::Zero,
            IPVS_CMD_FLUSH => Self::Flush,
            other => Self::Other(OtherCmd(other)),
        }
    }
}

impl From<IpvsCmd> for u8 {
    fn from(cmd: IpvsCmd) -> u8 {
        match cmd {
            IpvsCmd::NewService => IPVS_CMD_NEW_SERVICE,
            IpvsCmd::SetService => IPVS_CMD_SET_SERVICE,
            IpvsCmd::DelService => IPVS_CMD_DEL_SERVICE,
            IpvsCmd::GetService => IPVS_CMD_GET_SERVICE,
            IpvsCmd::NewDest => IPVS_CMD_NEW_DEST,
            IpvsCmd::SetDest => IPVS_CMD_SET_DEST,
            IpvsCmd::DelDest => IPVS_CMD_DEL_DEST,
            IpvsCmd::GetDest => IPVS_CMD_GET_DEST,
            IpvsCmd::NewDaemon => IPVS_CMD_NEW_DAEMON,
            IpvsCmd::DelDaemon => IPVS_CMD_DEL_DAEMON,
            IpvsCmd::GetDaemon => IPVS_CMD_GET_DAEMON,
            IpvsCmd::SetConfig => IPVS_CMD_SET_CONFIG,
            IpvsCmd::GetConfig => IPVS_CMD_GET_CONFIG,
            IpvsCmd::SetInfo => IPVS_CMD_SET_INFO,
            IpvsCmd::GetInfo => IPVS_CMD_GET_INFO,
            IpvsCmd::Zero => IPVS_CMD_ZERO,
            IpvsCmd::Flush => IPVS_CMD_FLUSH,
            IpvsCmd::Other(other) => other.0,
        }
    }
}

/// The kernel's name (`IPVS_CMD_NEW_SERVICE`, ..., `IPVS_CMD_UNSPEC` for 0),
/// or `IPVS command N` for a number the kernel headers this crate follows do
/// not define.
impl fmt::Display for IpvsCmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::NewService => "IPVS_CMD_NEW_SERVICE",
            Self::SetService => "IPVS_CMD_SET_SERVICE",
            Self::DelService => "IPVS_CMD_DEL_SERVICE",
            Self::GetService => "IPVS_CMD_GET_SERVICE",
            Self::NewDest => "IPVS_CMD_NEW_DEST",
            Self::SetDest => "IPVS_CMD_SET_DEST",
            Self::DelDest => "IPVS_CMD_DEL_DEST",
            Self::GetDest => "IPVS_CMD_GET_DEST",
            Self::NewDaemon => "IPVS_CMD_NEW_DAEMON",
            Self::DelDaemon => "IPVS_CMD_DEL_DAEMON",
            Self::GetDaemon => "IPVS_CMD_GET_DAEMON",
            Self::SetConfig => "IPVS_CMD_SET_CONFIG",
            Self::GetConfig => "IPVS_CMD_GET_CONFIG",
            Self::SetInfo => "IPVS_CMD_SET_INFO",
            Self::GetInfo => "IPVS_CMD_GET_INFO",
            Self::Zero => "IPVS_CMD_ZERO",
            Self::Flush => "IPVS_CMD_FLUSH",
            Self::Other(OtherCmd(IPVS_CMD_UNSPEC)) => "IPVS_CMD_UNSPEC",
            Self::Other(OtherCmd(n)) => return write!(f, "IPVS command {n}"),
        };
        f.write_str(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_number_round_trips_and_known_ones_are_never_other() {
        for n in 0..=u8::MAX {
            let cmd = IpvsCmd::from(n);
            assert_eq!(u8::from(cmd), n);
            let is_other = matches!(cmd, IpvsCmd::Other(_));
            assert_eq!(is_other, !(IPVS_CMD_NEW_SERVICE..=IPVS_CMD_FLUSH).contains(&n), "{n}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(IpvsCmd::Flush.to_string(), "IPVS_CMD_FLUSH");
        assert_eq!(IpvsCmd::from(0).to_string(), "IPVS_CMD_UNSPEC");
        assert_eq!(IpvsCmd::from(200).to_string(), "IPVS command 200");
    }
}
