//! ipvsadm 1.31's command line: parse an argv into a typed [`Command`], with ipvsadm's option
//! semantics (popt), checks, defaults, error messages and exit codes.
//!
//! ```
//! use ipvs_core::ipvsadm::cmdline::{parse, Command};
//! use ipvs_core::{ForwardMethod, Operation};
//!
//! let cmd = parse(&["-a", "-t", "10.0.0.1:80", "-r", "192.168.1.10", "-m", "-w", "3"]).unwrap();
//! let Command::AddDest(key, dest) = &cmd else { panic!() };
//! assert_eq!(key.to_string(), "-t 10.0.0.1:80");
//! assert_eq!((dest.port, dest.forward, dest.weight), (80, ForwardMethod::Masquerade, 3));
//! assert!(matches!(cmd.to_operation(), Some(Operation::AddDestination(..))));
//!
//! let err = parse(&["-A", "-t", "10.0.0.1:0"]).unwrap_err();
//! assert_eq!(err.to_string(), "Zero port specified for non-persistent service");
//! assert_eq!(err.exit_code(), 2);
//! ```
//!
//! # Differences from ipvsadm
//!
//! * Host and service names (`-t www:http`) are looked up only through a [`Resolver`] given
//!   to [`Parser::with_resolver`]; the default resolver knows no names, so only numeric
//!   addresses and ports are accepted, and a name fails exactly as an unknown name fails in
//!   ipvsadm.
//! * Arguments are `str`; an argument holding a NUL is cut there, as C would see it.
//! * `-b ,` (scheduler flags made only of commas) crashes ipvsadm 1.31 (a NULL dereference);
//!   here it is [`CmdError::EmptySchedFlags`].
//! * popt's `!#:+` argument expansion is reproduced, except where popt loops forever (no
//!   plain word after it): that is [`CmdError::ExpansionLoops`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use thiserror::Error;

use super::libc::{
    atoi, c_str, inet_aton, inet_pton4, inet_pton6, string_to_number, strtol10, truncate_bytes,
};
use super::popt::{ArgKind, OptDef, Popt, PoptErrorKind};
use super::{NumericResolver, Resolver};
use crate::backend::Operation;
use crate::dest::{Destination, DestinationKey, ForwardMethod, Tunnel, TunnelFlags, TunnelType};
use crate::service::{
    AddressFamily, Netmask, PeName, Protocol, Scheduler, Service, ServiceFlags, ServiceKey,
};
use crate::status::{SyncDaemon, SyncRole, Timeouts};

/// What `-L`/`-l` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ListTarget {
    /// Every service (`-L`), after the version line.
    #[default]
    All,
    /// One service (`-L -t vip:port`), without the version line.
    Service(ServiceKey),
    /// The connection table (`-L -c`, read from `/proc/net/ip_vs_conn`).
    Connections,
    /// The timeouts (`-L --timeout`).
    Timeout,
    /// The sync daemons (`-L --daemon`).
    Daemon,
}

/// The listing format flags (`FMT_*` in ipvsadm). When several layouts are asked for, ipvsadm
/// uses the first of stats, rate, thresholds, persistent-conn, tun-info.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ListFormat {
    /// `-n`: numeric addresses and ports (no name lookups).
    pub numeric: bool,
    /// `--stats`: counters.
    pub stats: bool,
    /// `--rate`: rates.
    pub rate: bool,
    /// `--thresholds`: upper and lower thresholds.
    pub thresholds: bool,
    /// `--persistent-conn`: persistent connection counts (and PE columns with `-c`).
    pub persistent_conn: bool,
    /// `--tun-info`: tunnel settings.
    pub tun_info: bool,
    /// `--exact` (`-X`): full numbers in `--stats` and `--rate`.
    pub exact: bool,
    /// `--nosort`: keep the kernel's order.
    pub nosort: bool,
}

impl ListFormat {
    /// The numeric format (`-n`) with nothing else.
    pub fn numeric() -> Self {
        ListFormat { numeric: true, ..ListFormat::default() }
    }
}

/// A `-L`/`-l` command: what to list and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ListCommand {
    /// What to list.
    pub target: ListTarget,
    /// How.
    pub format: ListFormat,
}

/// One ipvsadm command line, parsed and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `-A`: add a virtual service.
    AddService(Service),
    /// `-E`: edit a virtual service. Note that ipvsadm fills in every field, so options left
    /// out are reset (no `-s` means wlc, no `-p` means not persistent).
    EditService(Service),
    /// `-D`: delete a virtual service.
    DeleteService(ServiceKey),
    /// `-a`: add a real server.
    AddDest(ServiceKey, Destination),
    /// `-e`: edit a real server (every field is sent, as for `-E`).
    EditDest(ServiceKey, Destination),
    /// `-d`: delete a real server.
    DeleteDest(ServiceKey, DestinationKey),
    /// `-C`: clear the table.
    Clear,
    /// `-R`: restore rules from standard input (see [`crate::ipvsadm::rules`]).
    Restore,
    /// `-S`: save the rules to standard output (see [`crate::ipvsadm::list::save`]).
    Save {
        /// `-n`.
        numeric: bool,
    },
    /// `-L`/`-l` (and no arguments at all: list everything with name lookups).
    List(ListCommand),
    /// `-Z`: zero the counters of one service, or of everything.
    Zero(Option<ServiceKey>),
    /// `--set tcp tcpfin udp`.
    SetTimeouts(Timeouts),
    /// `--start-daemon master|backup`.
    StartDaemon(SyncDaemon),
    /// `--stop-daemon master|backup` (ipvsadm also accepts `--syncid`, which the kernel
    /// ignores when stopping).
    StopDaemon(SyncRole),
    /// `-h`: print [`usage`] to standard output and exit 0.
    Help,
    /// `-v`: print [`version`] to standard output and exit 0.
    Version,
}

impl Command {
    /// The table change the command makes, for the commands that make one.
    ///
    /// `-Z` for the all-zero service (`-Z -t 0.0.0.0:0`) zeroes everything, as libipvs decides.
    pub fn to_operation(&self) -> Option<Operation> {
        Some(match self {
            Command::AddService(s) => Operation::AddService(s.clone()),
            Command::EditService(s) => Operation::EditService(s.clone()),
            Command::DeleteService(k) => Operation::DeleteService(*k),
            Command::AddDest(k, d) => Operation::AddDestination(*k, d.clone()),
            Command::EditDest(k, d) => Operation::EditDestination(*k, d.clone()),
            Command::DeleteDest(k, d) => Operation::DeleteDestination(*k, *d),
            Command::Clear => Operation::Flush,
            Command::Zero(Some(ServiceKey::Addr { addr, port: 0, .. })) if addr.is_unspecified() => {
                Operation::Zero(None)
            }
            Command::Zero(k) => Operation::Zero(*k),
            Command::SetTimeouts(t) => Operation::SetTimeouts(*t),
            Command::StartDaemon(d) => Operation::StartDaemon(d.clone()),
            Command::StopDaemon(r) => Operation::StopDaemon(*r),
            Command::Restore | Command::Save { .. } | Command::List(_) | Command::Help | Command::Version => {
                return None
            }
        })
    }

    /// ipvsadm's name for the command (`add-service`, `list`, ...), as its messages use it;
    /// `None` for `-h` and `-v`.
    pub fn name(&self) -> Option<&'static str> {
        Some(match self {
            Command::AddService(_) => CMD_NAMES[CMD_ADD],
            Command::EditService(_) => CMD_NAMES[CMD_EDIT],
            Command::DeleteService(_) => CMD_NAMES[CMD_DEL],
            Command::Clear => CMD_NAMES[CMD_FLUSH],
            Command::List(_) => CMD_NAMES[CMD_LIST],
            Command::AddDest(..) => CMD_NAMES[CMD_ADDDEST],
            Command::DeleteDest(..) => CMD_NAMES[CMD_DELDEST],
            Command::EditDest(..) => CMD_NAMES[CMD_EDITDEST],
            Command::SetTimeouts(_) => CMD_NAMES[CMD_TIMEOUT],
            Command::StartDaemon(_) => CMD_NAMES[CMD_STARTDAEMON],
            Command::StopDaemon(_) => CMD_NAMES[CMD_STOPDAEMON],
            Command::Restore => CMD_NAMES[CMD_RESTORE],
            Command::Save { .. } => CMD_NAMES[CMD_SAVE],
            Command::Zero(_) => CMD_NAMES[CMD_ZERO],
            Command::Help | Command::Version => return None,
        })
    }
}

/// An error in a command line, with ipvsadm's message as `Display` (print it followed by a
/// newline on standard error) and its exit status as [`CmdError::exit_code`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CmdError {
    /// No command first, or a popt error on the first option (exit 255, from `exit(-1)`).
    #[error("Try `{program} -h' or '{program} --help' for more information.")]
    TryHelp {
        /// The program name ipvsadm was run as (`argv[0]`).
        program: String,
    },
    /// popt rejected an option after the command (exit 255). In `-R` this line is skipped
    /// and the restore goes on.
    #[error("{}: {message}", option.as_deref().unwrap_or("(null)"))]
    Popt {
        /// The word popt stopped at.
        option: Option<String>,
        /// popt's description (`unknown option`, `missing argument`,
        /// `option does not take an argument`).
        message: &'static str,
    },
    /// An option argument holding popt's `!#:+` with no later plain word to put there while
    /// words remain: popt 1.19 (and so ipvsadm) loops forever; this library stops (exit 255).
    #[error("`!#:+' in an option argument has no argument to expand to")]
    ExpansionLoops,
    /// A second command.
    #[error("multiple commands specified")]
    MultipleCommands,
    /// `--start-daemon` with something other than master or backup.
    #[error("illegal start-daemon parameter specified")]
    IllegalStartDaemon,
    /// `--stop-daemon` with something other than master or backup (ipvsadm's wording).
    #[error("illegal start_daemon specified")]
    IllegalStopDaemon,
    /// A known option that is not an option here (a command after the first, `-h`, `-v`).
    #[error("invalid option `{}'", .0.as_deref().unwrap_or("(null)"))]
    InvalidOption(Option<String>),
    /// An option given twice.
    #[error("multiple '{0}' options specified")]
    MultipleOptions(&'static str),
    /// A bad `-t`/`-u`/`--sctp-service` address.
    #[error("illegal virtual server address[:port] specified")]
    IllegalVirtualServer,
    /// A bad IPv4 `-M`.
    #[error("illegal virtual server persistent mask specified")]
    IllegalPersistentMask,
    /// A bad IPv6 `-M` (not 1..=128).
    #[error("illegal ipv6 netmask specified")]
    IllegalIpv6Netmask,
    /// A bad `-r` address.
    #[error("illegal real server address[:port] specified")]
    IllegalRealServer,
    /// `-w` not in 0..=2147483647. (Upstream 1.31 stops at 65535; Debian's 1:1.31-1, the
    /// reference this project is tested against, carries a patch raising it to `INT_MAX`,
    /// Debian bug #814348.)
    #[error("illegal weight specified")]
    IllegalWeight,
    /// `-x` not in 0..=INT_MAX.
    #[error("illegal u_threshold specified")]
    IllegalUThreshold,
    /// `-y` not in 0..=INT_MAX.
    #[error("illegal l_threshold specified")]
    IllegalLThreshold,
    /// `--syncid` not in 0..=255.
    #[error("illegal syncid specified")]
    IllegalSyncId,
    /// `-6` before any `-f` (ipvsadm's message ends with an extra newline).
    #[error("-6 used before -f\n")]
    Ipv6BeforeFwmark,
    /// A bad IPv6 `--mcast-group`.
    #[error("invalid IPv6 mcast-group `{0}'")]
    InvalidMcastGroup6(String),
    /// A bad IPv4 `--mcast-group`.
    #[error("invalid IPv4 mcast-group `{0}'")]
    InvalidMcastGroup4(String),
    /// `--mcast-port` not in 1..=65535.
    #[error("illegal mcast-port specified")]
    IllegalMcastPort,
    /// `--mcast-ttl` not in 1..=255.
    #[error("illegal mcast-ttl specified")]
    IllegalMcastTtl,
    /// `--sync-maxlen` not in 1..=65507.
    #[error("illegal sync-maxlen specified")]
    IllegalSyncMaxlen,
    /// `--tun-type` not ipip, gue or gre.
    #[error("illegal tunnel type specified")]
    IllegalTunnelType,
    /// `--tun-port` not in 1..=65535.
    #[error("illegal tunnel port specified")]
    IllegalTunnelPort,
    /// A `-p` or `--set` value out of range.
    #[error("invalid timeout value `{0}' specified")]
    InvalidTimeout(String),
    /// A `-f` value not in 1..=UINT_MAX.
    #[error("invalid fwmark value `{0}' specified")]
    InvalidFwmark(String),
    /// `--set` without three values.
    #[error("--set option requires 3 timeout values")]
    SetNeedsThreeValues,
    /// A plain argument left over.
    #[error("unexpected argument {0}")]
    UnexpectedArgument(String),
    /// A `sh-*`/`mh-*` flag with another scheduler.
    #[error("incompatible scheduler flag `{0}'")]
    IncompatibleSchedFlag(String),
    /// An unknown scheduler flag.
    #[error("invalid scheduler flag `{0}'")]
    InvalidSchedFlag(String),
    /// `-b` made only of commas (ipvsadm 1.31 crashes on it).
    #[error("invalid scheduler flag `'")]
    EmptySchedFlags,
    /// A compulsory option missing.
    #[error("You need to supply the '{option}' option for the '{command}' command")]
    MissingOption {
        /// ipvsadm's name of the option.
        option: &'static str,
        /// ipvsadm's name of the command.
        command: &'static str,
    },
    /// An option the command does not take.
    #[error("Illegal '{option}' option with the '{command}' command")]
    IllegalOption {
        /// ipvsadm's name of the option.
        option: &'static str,
        /// ipvsadm's name of the command.
        command: &'static str,
    },
    /// Two options of which the command takes only one.
    #[error("The option '{option}' conflicts with the '{other}' option in the '{command}' command")]
    ConflictingOptions {
        /// The later option.
        option: &'static str,
        /// The earlier option (in ipvsadm's option order, not the command line's).
        other: &'static str,
        /// The command.
        command: &'static str,
    },
    /// `-A`/`-E` with port 0 and no `-p`.
    #[error("Zero port specified for non-persistent service")]
    ZeroPort,
    /// `-o` on a TCP or SCTP service.
    #[error("One-Packet Scheduling is only for UDP virtual services")]
    OnePacketNotUdp,
    /// A real server of another family without `-i`.
    #[error("Different address family is allowed only for tunneling servers")]
    MixedFamily,
    /// Tunnel options without `-i`.
    #[error("Tunnel options conflict with forward method")]
    TunnelOptionsConflict,
    /// A tunnel option the tunnel type needs is missing (`--tun-port` for gue).
    #[error("You need to supply the '{option}' option for the '{tunnel}' tunnel type")]
    TunnelMissingOption {
        /// The option.
        option: &'static str,
        /// The tunnel type.
        tunnel: &'static str,
    },
    /// A tunnel option the tunnel type does not take.
    #[error("Illegal '{option}' option with the '{tunnel}' tunnel type")]
    TunnelIllegalOption {
        /// The option.
        option: &'static str,
        /// The tunnel type.
        tunnel: &'static str,
    },
    /// Two checksum options.
    #[error("The option '{option}' conflicts with the '{other}' option in the '{tunnel}' tunnel type")]
    TunnelConflict {
        /// The later option.
        option: &'static str,
        /// The earlier option.
        other: &'static str,
        /// The tunnel type.
        tunnel: &'static str,
    },
    /// `-L` with a connection/timeout/daemon listing and a layout option.
    #[error("options conflicts in the list command")]
    ListConflict,
}

impl CmdError {
    /// ipvsadm's exit status: 255 for [`CmdError::TryHelp`] and [`CmdError::Popt`]
    /// (`exit(-1)`), 2 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            CmdError::TryHelp { .. } | CmdError::Popt { .. } | CmdError::ExpansionLoops => 255,
            _ => 2,
        }
    }

    /// Whether `ipvsadm -R` stops at this error. Every error stops it except a popt error
    /// after the command, for which ipvsadm prints the message and goes on with the next line.
    pub fn ends_restore(&self) -> bool {
        !matches!(self, CmdError::Popt { .. })
    }
}

// ---------------------------------------------------------------------------------------------
// ipvsadm's tables: commands, options and which options each command takes.

const CMD_ADD: usize = 0;
const CMD_EDIT: usize = 1;
const CMD_DEL: usize = 2;
const CMD_FLUSH: usize = 3;
const CMD_LIST: usize = 4;
const CMD_ADDDEST: usize = 5;
const CMD_DELDEST: usize = 6;
const CMD_EDITDEST: usize = 7;
const CMD_TIMEOUT: usize = 8;
const CMD_STARTDAEMON: usize = 9;
const CMD_STOPDAEMON: usize = 10;
const CMD_RESTORE: usize = 11;
const CMD_SAVE: usize = 12;
const CMD_ZERO: usize = 13;

const CMD_NAMES: [&str; 14] = [
    "add-service",
    "edit-service",
    "delete-service",
    "flush",
    "list",
    "add-server",
    "delete-server",
    "edit-server",
    "set",
    "start-daemon",
    "stop-daemon",
    "restore",
    "save",
    "zero",
];

/// ipvsadm's option bits, by index (`OPTC_*`).
mod optc {
    pub const NUMERIC: usize = 0;
    pub const CONNECTION: usize = 1;
    pub const SERVICE: usize = 2;
    pub const SCHEDULER: usize = 3;
    pub const PERSISTENT: usize = 4;
    pub const NETMASK: usize = 5;
    pub const SERVER: usize = 6;
    pub const FORWARD: usize = 7;
    pub const WEIGHT: usize = 8;
    pub const UTHRESHOLD: usize = 9;
    pub const LTHRESHOLD: usize = 10;
    pub const MCAST: usize = 11;
    pub const TIMEOUT: usize = 12;
    pub const DAEMON: usize = 13;
    pub const STATS: usize = 14;
    pub const RATE: usize = 15;
    pub const THRESHOLDS: usize = 16;
    pub const PERSISTENTCONN: usize = 17;
    pub const NOSORT: usize = 18;
    pub const SYNCID: usize = 19;
    pub const EXACT: usize = 20;
    pub const ONEPACKET: usize = 21;
    pub const PE: usize = 22;
    pub const SCHED_FLAGS: usize = 23;
    pub const MCAST_GROUP: usize = 24;
    pub const MCAST_PORT: usize = 25;
    pub const MCAST_TTL: usize = 26;
    pub const SYNC_MAXLEN: usize = 27;
    pub const TUN_INFO: usize = 28;
    pub const TUN_TYPE: usize = 29;
    pub const TUN_PORT: usize = 30;
    pub const TUN_NOCSUM: usize = 31;
    pub const TUN_CSUM: usize = 32;
    pub const TUN_REMCSUM: usize = 33;
}

const OPT_NAMES: [&str; 34] = [
    "numeric",
    "connection",
    "service-address",
    "scheduler",
    "persistent",
    "netmask",
    "real-server",
    "forwarding-method",
    "weight",
    "u-threshold",
    "l-threshold",
    "mcast-interface",
    "timeout",
    "daemon",
    "stats",
    "rate",
    "thresholds",
    "persistent-conn",
    "nosort",
    "syncid",
    "exact",
    "ops",
    "pe",
    "sched-flags",
    "mcast-group",
    "mcast-port",
    "mcast-ttl",
    "sync-maxlen",
    "tun-info",
    "tun-type",
    "tun-port",
    "tun-nocsum",
    "tun-csum",
    "tun-remcsum",
];

/// Which options each command takes, one character per option in `OPT_NAMES` order:
/// `+` compulsory, `x` illegal, `1` at most one of the `1`s, ` ` optional.
const COMMAND_OPTIONS: [&[u8; 34]; 14] = [
    b"xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx", // add-service
    b"xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx", // edit-service
    b"xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // delete-service
    b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // flush
    b" 11xxxxxxxxx11       xxxxxxx xxxxx", // list
    b"xx+xxx+    xxxxxxxxxxxxxxxxxx     ", // add-server
    b"xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx", // delete-server
    b"xx+xxx+    xxxxxxxxxxxxxxxxxx     ", // edit-server
    b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // set
    b"xxxxxxxxxxx xxxxxxx xxxx    xxxxxx", // start-daemon
    b"xxxxxxxxxxxxxxxxxxx xxxxxxxxxxxxxx", // stop-daemon
    b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // restore
    b" xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // save
    b"xx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // zero
];

/// [`COMMAND_OPTIONS`] as bit masks of options: (compulsory, illegal, exclusive) per command.
const OPTION_MASKS: [(u64, u64, u64); 14] = {
    let mut masks = [(0u64, 0u64, 0u64); 14];
    let mut c = 0;
    while c < 14 {
        let mut j = 0;
        while j < 34 {
            let bit = 1u64 << j;
            match COMMAND_OPTIONS[c][j] {
                b'+' => masks[c].0 |= bit,
                b'x' => masks[c].1 |= bit,
                b'1' => masks[c].2 |= bit,
                _ => {}
            }
            j += 1;
        }
        c += 1;
    }
    masks
};

const TUN_NAMES: [&str; 3] = ["ipip", "gue", "gre"];
/// The tunnel options checked per tunnel type, and for ipip, gue, gre whether each is
/// compulsory, illegal, exclusive or optional (same key as `COMMAND_OPTIONS`).
const TUN_OPTS: [usize; 4] = [optc::TUN_PORT, optc::TUN_NOCSUM, optc::TUN_CSUM, optc::TUN_REMCSUM];
const TUNNEL_OPTIONS: [&[u8; 4]; 3] = [b"xxxx", b"+111", b"x11x"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    AddService,
    EditService,
    DelService,
    Clear,
    List,
    ListLower,
    Zero,
    AddServer,
    EditServer,
    DelServer,
    Set,
    Help,
    Version,
    Restore,
    Save,
    StartDaemon,
    StopDaemon,
    Tcp,
    Udp,
    Sctp,
    Fwmark,
    Scheduler,
    Persistent,
    Netmask,
    RealServer,
    Masq,
    Ipip,
    Gatewaying,
    Weight,
    UThreshold,
    LThreshold,
    Numeric,
    Connection,
    McastInterface,
    SyncId,
    Timeout,
    Daemon,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    NoSort,
    Sort,
    Exact,
    Ipv6,
    Ops,
    Pe,
    SchedFlags,
    McastGroup,
    McastPort,
    McastTtl,
    SyncMaxlen,
    TunInfo,
    TunType,
    TunPort,
    TunNocsum,
    TunCsum,
    TunRemcsum,
}

const fn o(long: &'static str, short: u8, arg: ArgKind, tag: Tag) -> OptDef<Tag> {
    OptDef { long, short, arg, tag }
}

use ArgKind::{None as N, Optional as O, Required as R};

/// ipvsadm's popt table, in its order (the order decides which entry a name finds first).
const TABLE: &[OptDef<Tag>] = &[
    o("add-service", b'A', N, Tag::AddService),
    o("edit-service", b'E', N, Tag::EditService),
    o("delete-service", b'D', N, Tag::DelService),
    o("clear", b'C', N, Tag::Clear),
    o("list", b'L', N, Tag::List),
    o("list", b'l', N, Tag::ListLower),
    o("zero", b'Z', N, Tag::Zero),
    o("add-server", b'a', N, Tag::AddServer),
    o("edit-server", b'e', N, Tag::EditServer),
    o("delete-server", b'd', N, Tag::DelServer),
    o("set", 0, N, Tag::Set),
    o("help", b'h', N, Tag::Help),
    o("version", b'v', N, Tag::Version),
    o("restore", b'R', N, Tag::Restore),
    o("save", b'S', N, Tag::Save),
    o("start-daemon", 0, R, Tag::StartDaemon),
    o("stop-daemon", 0, R, Tag::StopDaemon),
    o("tcp-service", b't', R, Tag::Tcp),
    o("udp-service", b'u', R, Tag::Udp),
    o("sctp-service", 0, R, Tag::Sctp),
    o("fwmark-service", b'f', R, Tag::Fwmark),
    o("scheduler", b's', R, Tag::Scheduler),
    o("persistent", b'p', O, Tag::Persistent),
    o("netmask", b'M', R, Tag::Netmask),
    o("real-server", b'r', R, Tag::RealServer),
    o("masquerading", b'm', N, Tag::Masq),
    o("ipip", b'i', N, Tag::Ipip),
    o("gatewaying", b'g', N, Tag::Gatewaying),
    o("weight", b'w', R, Tag::Weight),
    o("u-threshold", b'x', R, Tag::UThreshold),
    o("l-threshold", b'y', R, Tag::LThreshold),
    o("numeric", b'n', N, Tag::Numeric),
    o("connection", b'c', N, Tag::Connection),
    o("mcast-interface", 0, R, Tag::McastInterface),
    o("syncid", 0, R, Tag::SyncId),
    o("timeout", 0, N, Tag::Timeout),
    o("daemon", 0, N, Tag::Daemon),
    o("stats", 0, N, Tag::Stats),
    o("rate", 0, N, Tag::Rate),
    o("thresholds", 0, N, Tag::Thresholds),
    o("persistent-conn", 0, N, Tag::PersistentConn),
    o("nosort", 0, N, Tag::NoSort),
    o("sort", 0, N, Tag::Sort),
    o("exact", b'X', N, Tag::Exact),
    o("ipv6", b'6', N, Tag::Ipv6),
    o("ops", b'o', N, Tag::Ops),
    o("pe", 0, R, Tag::Pe),
    o("sched-flags", b'b', R, Tag::SchedFlags),
    o("mcast-group", 0, R, Tag::McastGroup),
    o("mcast-port", 0, R, Tag::McastPort),
    o("mcast-ttl", 0, R, Tag::McastTtl),
    o("sync-maxlen", 0, R, Tag::SyncMaxlen),
    o("tun-info", 0, N, Tag::TunInfo),
    o("tun-type", 0, R, Tag::TunType),
    o("tun-port", 0, R, Tag::TunPort),
    o("tun-nocsum", 0, N, Tag::TunNocsum),
    o("tun-csum", 0, N, Tag::TunCsum),
    o("tun-remcsum", 0, N, Tag::TunRemcsum),
];

/// Every long option ipvsadm knows, with a leading `--` (for tests and completion).
pub fn long_options() -> impl Iterator<Item = String> {
    TABLE.iter().map(|o| format!("--{}", o.long))
}

/// Every short option ipvsadm knows, with a leading `-`.
pub fn short_options() -> impl Iterator<Item = String> {
    TABLE.iter().filter(|o| o.short != 0).map(|o| format!("-{}", o.short as char))
}

// ---------------------------------------------------------------------------------------------
// The C structures ipvsadm fills while parsing, kept as raw as ipvsadm keeps them, because the
// order of options changes the result (e.g. `-M` before an IPv6 `-t` is overwritten).

const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;
const IPPROTO_TCP: u16 = 6;
const IPPROTO_UDP: u16 = 17;
const IPPROTO_SCTP: u16 = 132;
const SVC_F_PERSISTENT: u32 = 0x1;
const SVC_F_ONEPACKET: u32 = 0x4;
const SVC_F_SCHED1: u32 = 0x8;
const SVC_F_SCHED2: u32 = 0x10;
const SVC_F_SCHED3: u32 = 0x20;
const CONN_F_MASQ: u32 = 0;
const CONN_F_TUNNEL: u32 = 2;
const CONN_F_DROUTE: u32 = 3;
/// ipvsadm's largest timeout (31 days).
const MAX_TIMEOUT: i64 = 86_400 * 31;
const SERVICE_ADDR: u8 = 1;
const SERVICE_PORT: u8 = 2;

#[derive(Debug, Clone, Default)]
struct CSvc {
    protocol: u16,
    af: u16,
    addr: [u8; 16],
    port: u16,
    fwmark: u32,
    sched: String,
    flags: u32,
    timeout: u32,
    /// For IPv4: the mask as a host-order number (255.255.255.0 = 0xffffff00); for IPv6 the
    /// prefix length.
    netmask: u32,
    pe: String,
}

#[derive(Debug, Clone, Default)]
struct CDest {
    af: u16,
    addr: [u8; 16],
    port: u16,
    conn_flags: u32,
    weight: i64,
    u_threshold: u32,
    l_threshold: u32,
    tun_type: u16,
    tun_port: u16,
    tun_flags: u16,
}

#[derive(Debug, Clone, Default)]
struct CDaemon {
    state: u32,
    ifn: String,
    syncid: u32,
    maxlen: u16,
    port: u16,
    ttl: u8,
    group: Option<IpAddr>,
}

fn addr_of(af: u16, raw: &[u8; 16]) -> IpAddr {
    if af == AF_INET6 {
        IpAddr::V6(Ipv6Addr::from(*raw))
    } else {
        IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]))
    }
}

impl CSvc {
    fn key(&self) -> ServiceKey {
        if self.fwmark != 0 {
            let family = if self.af == AF_INET6 { AddressFamily::Inet6 } else { AddressFamily::Inet };
            ServiceKey::Fwmark { mark: self.fwmark, family }
        } else {
            ServiceKey::Addr {
                protocol: Protocol::from_raw(self.protocol),
                addr: addr_of(self.af, &self.addr),
                port: self.port,
            }
        }
    }

    fn service(&self) -> Service {
        let key = self.key();
        let netmask = if self.af == AF_INET6 {
            Netmask::V6(u8::try_from(self.netmask).unwrap_or(128))
        } else {
            Netmask::V4(Ipv4Addr::from(self.netmask))
        };
        Service {
            key,
            scheduler: Scheduler::from(self.sched.as_str()),
            flags: ServiceFlags::from_bits_retain(self.flags),
            timeout: self.timeout,
            netmask,
            pe_name: if self.pe.is_empty() { None } else { Some(PeName::from_kernel(self.pe.clone())) },
        }
    }
}

impl CDest {
    fn destination(&self) -> Destination {
        Destination {
            addr: addr_of(self.af, &self.addr),
            port: self.port,
            forward: ForwardMethod::from_raw(self.conn_flags),
            weight: self.weight as u32,
            upper_threshold: self.u_threshold,
            lower_threshold: self.l_threshold,
            tunnel: Tunnel {
                kind: TunnelType::from_raw(self.tun_type as u8),
                port: self.tun_port,
                flags: TunnelFlags::from_bits_retain(self.tun_flags),
            },
        }
    }
}

/// A command-line parser with its settings. [`parse`] uses the defaults.
pub struct Parser<'r> {
    program: String,
    posixly_correct: bool,
    resolver: &'r dyn Resolver,
}

impl Default for Parser<'static> {
    fn default() -> Self {
        Parser::new()
    }
}

impl Parser<'static> {
    /// A parser with ipvsadm's defaults: program name `ipvsadm`, numeric addresses only, no
    /// `POSIXLY_CORRECT`.
    pub fn new() -> Self {
        Parser { program: "ipvsadm".into(), posixly_correct: false, resolver: &NumericResolver }
    }
}

impl<'r> Parser<'r> {
    /// The same parser naming the program `program` in messages (ipvsadm uses its `argv[0]`).
    pub fn program(mut self, program: impl Into<String>) -> Self {
        self.program = program.into();
        self
    }

    /// The same parser with popt's `POSIXLY_CORRECT` behaviour (set when that environment
    /// variable or `POSIX_ME_HARDER` is): the first plain argument ends option processing.
    pub fn posixly_correct(mut self, on: bool) -> Self {
        self.posixly_correct = on;
        self
    }

    /// The same parser looking names up through `resolver` (gethostbyname/getservbyname).
    pub fn with_resolver<'s>(self, resolver: &'s dyn Resolver) -> Parser<'s> {
        Parser { program: self.program, posixly_correct: self.posixly_correct, resolver }
    }

    /// The program name used in messages.
    pub fn program_name(&self) -> &str {
        &self.program
    }

    /// Parses `args` (without the program name) as ipvsadm 1.31 does. An empty `args` is the
    /// bare `ipvsadm`, which lists everything with name lookups.
    pub fn parse<S: AsRef<str>>(&self, args: &[S]) -> Result<Command, CmdError> {
        let args: Vec<&str> = args.iter().map(|a| c_str(a.as_ref())).collect();
        self.parse_strs(&args)
    }

    /// [`Parser::parse`] of words already cut at their first NUL (as the rules reader cuts
    /// them). Lines made only of plain option words, as `ipvsadm -S` writes them, take the
    /// fast path ([`Parser::parse_simple`]); everything else, and every line that fails, is
    /// read by the full popt-compatible parser.
    pub(crate) fn parse_strs(&self, args: &[&str]) -> Result<Command, CmdError> {
        if args.is_empty() {
            return Ok(Command::List(ListCommand::default()));
        }
        if let Some(cmd) = self.parse_simple(args) {
            return Ok(cmd);
        }
        self.parse_full(args)
    }

    /// The full parser alone: popt's reading of the words, then ipvsadm's checks. (The
    /// differential tests compare it with [`Parser::parse_simple`].)
    #[doc(hidden)]
    pub fn parse_full<S: AsRef<str>>(&self, args: &[S]) -> Result<Command, CmdError> {
        if args.is_empty() {
            return Ok(Command::List(ListCommand::default()));
        }
        let args: Vec<String> = args.iter().map(|a| c_str(a.as_ref()).to_owned()).collect();
        State::new(self).run(args)
    }

    /// The fast path: the command of a line made only of plain option words (`-X` for a short
    /// option, `--name` for a long one, each followed by its argument when it takes one), as
    /// `ipvsadm -S` writes every line, when ipvsadm accepts it. `None` for anything else:
    /// bundles (`-Ln`), `--name=value`, `--`, plain arguments (`--set`), popt's `!#:+`, a
    /// missing argument, and every line that ipvsadm rejects; the full parser then reads the
    /// line (and gives the error), so `parse` gives the same result either way.
    ///
    /// The words are read as popt reads such words (the same option table, looked up the same
    /// way: an optional argument is taken only when the next word does not start with `-`),
    /// and each option goes through the same code as in the full parser, checks and defaults
    /// included. `ipvs-core/tests/ipvsadm_fast_path.rs` and the `fast_path` fuzz target check
    /// that it never disagrees with [`Parser::parse_full`].
    #[doc(hidden)]
    pub fn parse_simple(&self, args: &[&str]) -> Option<Command> {
        let mut i = 0;
        let (tag, arg) = simple_option(args, &mut i)?;
        let mut state = State::new(self);
        let cmd = match state.command(tag, arg).ok()? {
            First::Command(cmd) => cmd,
            First::Done(cmd) => return Some(cmd),
        };
        if cmd == CMD_TIMEOUT {
            // Its values are plain arguments.
            return None;
        }
        while i < args.len() {
            let (tag, arg) = simple_option(args, &mut i)?;
            state.option(tag, arg, None).ok()?;
        }
        state.finish(cmd).ok()
    }
}

/// Where popt's table has each short option (the first entry with that letter, as popt finds
/// it), by character.
const SHORT_INDEX: [u8; 128] = {
    let mut index = [u8::MAX; 128];
    let mut i = TABLE.len();
    // Backwards, so that the first entry of a letter is the one that stays.
    while i > 0 {
        i -= 1;
        let c = TABLE[i].short as usize;
        if c != 0 && c < 128 {
            index[c] = i as u8;
        }
    }
    index
};

/// One option of a simple line (see [`Parser::parse_simple`]) at `args[*i]`, with its argument,
/// advancing `i` past both; `None` when the words there are not a plain option word (and its
/// argument) that popt reads as such.
fn simple_option<'a>(args: &[&'a str], i: &mut usize) -> Option<(Tag, Option<&'a str>)> {
    let w = args.get(*i)?.as_bytes();
    *i += 1;
    let def = match w {
        [b'-', c] if *c != b'-' => TABLE.get(usize::from(*SHORT_INDEX.get(usize::from(*c))?))?,
        [b'-', b'-', name @ ..] if !name.is_empty() && !name.contains(&b'=') => {
            TABLE.iter().find(|o| o.long.as_bytes() == name)?
        }
        _ => return None,
    };
    // popt expands `!#:+` in arguments: left to it.
    let plain = |a: &str| !a.as_bytes().contains(&b'!') || !a.contains("!#:+");
    let arg = match def.arg {
        ArgKind::None => None,
        ArgKind::Required => {
            let a = *args.get(*i).filter(|a| plain(a))?;
            *i += 1;
            Some(a)
        }
        ArgKind::Optional => match args.get(*i) {
            Some(a) if !a.starts_with('-') => {
                if !plain(a) {
                    return None;
                }
                *i += 1;
                Some(*a)
            }
            _ => None,
        },
    };
    Some((def.tag, arg))
}

/// What the first option of a line is.
enum First {
    /// A command that reads the rest of the line.
    Command(usize),
    /// `-h` or `-v`: the rest of the line is never read.
    Done(Command),
}

/// Parses an ipvsadm argv (without the program name) with the default [`Parser`].
pub fn parse<S: AsRef<str>>(args: &[S]) -> Result<Command, CmdError> {
    Parser::new().parse(args)
}

struct State<'p, 'r> {
    parser: &'p Parser<'r>,
    cmd: Option<usize>,
    options: u64,
    format: ListFormat,
    svc: CSvc,
    dest: CDest,
    daemon: CDaemon,
    timeouts: Timeouts,
    sched_flags_arg: String,
}

impl<'p, 'r> State<'p, 'r> {
    fn new(parser: &'p Parser<'r>) -> Self {
        State {
            parser,
            cmd: None,
            options: 0,
            format: ListFormat::default(),
            svc: CSvc { netmask: 0xffff_ffff, ..CSvc::default() },
            dest: CDest { weight: 1, conn_flags: CONN_F_DROUTE, ..CDest::default() },
            daemon: CDaemon::default(),
            timeouts: Timeouts::default(),
            sched_flags_arg: String::new(),
        }
    }

    fn try_help(&self) -> CmdError {
        CmdError::TryHelp { program: self.parser.program.clone() }
    }

    fn set_option(&mut self, optc: usize) -> Result<(), CmdError> {
        let bit = 1u64 << optc;
        if self.options & bit != 0 {
            return Err(CmdError::MultipleOptions(OPT_NAMES[optc]));
        }
        self.options |= bit;
        Ok(())
    }

    fn has(&self, optc: usize) -> bool {
        self.options & (1u64 << optc) != 0
    }

    fn run(mut self, args: Vec<String>) -> Result<Command, CmdError> {
        let mut p = Popt::new(TABLE, args, self.parser.posixly_correct);
        let first = match p.next_opt() {
            Ok(Some(hit)) => hit,
            Err(PoptErrorKind::Loops) => return Err(CmdError::ExpansionLoops),
            Ok(None) | Err(_) => return Err(self.try_help()),
        };
        let cmd = match self.command(first.tag, first.arg.as_deref())? {
            First::Command(cmd) => cmd,
            First::Done(cmd) => return Ok(cmd),
        };

        loop {
            match p.next_opt() {
                Ok(Some(hit)) => {
                    self.option(hit.tag, hit.arg.as_deref(), p.bad_option())?;
                }
                Ok(None) => break,
                Err(PoptErrorKind::Loops) => return Err(CmdError::ExpansionLoops),
                Err(kind) => {
                    return Err(CmdError::Popt {
                        option: p.bad_option().map(str::to_owned),
                        message: PoptErrorKind::message(kind),
                    })
                }
            }
        }

        if cmd == CMD_TIMEOUT {
            let (a, b, c) = (p.get_arg(), p.get_arg(), p.get_arg());
            let (Some(a), Some(b), Some(c)) = (a, b, c) else { return Err(CmdError::SetNeedsThreeValues) };
            self.timeouts.tcp = parse_timeout(Some(&a), 0)?;
            self.timeouts.tcp_fin = parse_timeout(Some(&b), 0)?;
            self.timeouts.udp = parse_timeout(Some(&c), 0)?;
        }
        if let Some(a) = p.get_arg() {
            return Err(CmdError::UnexpectedArgument(a));
        }
        self.finish(cmd)
    }

    /// The command of the line's first option (`arg`: its argument).
    fn command(&mut self, tag: Tag, arg: Option<&str>) -> Result<First, CmdError> {
        let cmd = match tag {
            Tag::AddService => CMD_ADD,
            Tag::EditService => CMD_EDIT,
            Tag::DelService => CMD_DEL,
            Tag::AddServer => CMD_ADDDEST,
            Tag::EditServer => CMD_EDITDEST,
            Tag::DelServer => CMD_DELDEST,
            Tag::Clear => CMD_FLUSH,
            Tag::List | Tag::ListLower => CMD_LIST,
            Tag::Zero => CMD_ZERO,
            Tag::Set => CMD_TIMEOUT,
            Tag::Restore => CMD_RESTORE,
            Tag::Save => CMD_SAVE,
            Tag::StartDaemon | Tag::StopDaemon => {
                let start = tag == Tag::StartDaemon;
                self.daemon.state = match arg {
                    Some("master") => 1,
                    Some("backup") => 2,
                    _ if start => return Err(CmdError::IllegalStartDaemon),
                    _ => return Err(CmdError::IllegalStopDaemon),
                };
                if start {
                    CMD_STARTDAEMON
                } else {
                    CMD_STOPDAEMON
                }
            }
            Tag::Help => return Ok(First::Done(Command::Help)),
            Tag::Version => return Ok(First::Done(Command::Version)),
            _ => return Err(self.try_help()),
        };
        self.cmd = Some(cmd);
        Ok(First::Command(cmd))
    }

    /// After the options and the plain arguments: ipvsadm's checks and defaults, and the
    /// command.
    fn finish(mut self, cmd: usize) -> Result<Command, CmdError> {
        if !self.sched_flags_arg.is_empty() {
            self.svc.flags &= !(SVC_F_SCHED1 | SVC_F_SCHED2 | SVC_F_SCHED3);
            self.svc.flags |= parse_sched_flags(&self.svc.sched, &self.sched_flags_arg)?;
        }

        self.generic_opt_check(cmd)?;

        if cmd == CMD_ADD || cmd == CMD_EDIT {
            if self.svc.fwmark == 0 && self.svc.port == 0 && self.svc.flags & SVC_F_PERSISTENT == 0 {
                return Err(CmdError::ZeroPort);
            }
            if self.svc.flags & SVC_F_ONEPACKET != 0
                && self.svc.fwmark == 0
                && self.svc.protocol != IPPROTO_UDP
            {
                return Err(CmdError::OnePacketNotUdp);
            }
            if self.svc.sched.is_empty() {
                self.svc.sched = "wlc".into();
            }
        }
        if cmd == CMD_STARTDAEMON && self.daemon.ifn.is_empty() {
            self.daemon.ifn = "eth0".into();
        }
        if cmd == CMD_ADDDEST || cmd == CMD_EDITDEST {
            let fwd = self.dest.conn_flags & 7;
            if self.svc.fwmark == 0 && (fwd == CONN_F_TUNNEL || fwd == CONN_F_DROUTE) {
                self.dest.port = self.svc.port;
            }
            if self.dest.af != self.svc.af && fwd != CONN_F_TUNNEL {
                return Err(CmdError::MixedFamily);
            }
            let tun_any =
                [optc::TUN_TYPE, optc::TUN_PORT, optc::TUN_NOCSUM, optc::TUN_CSUM, optc::TUN_REMCSUM]
                    .iter()
                    .any(|&o| self.has(o));
            if tun_any && fwd != CONN_F_TUNNEL {
                return Err(CmdError::TunnelOptionsConflict);
            }
            self.tunnel_opt_check()?;
        }
        if cmd == CMD_LIST {
            let cd = self.has(optc::CONNECTION) || self.has(optc::TIMEOUT) || self.has(optc::DAEMON);
            let srt = self.has(optc::STATS) || self.has(optc::RATE) || self.has(optc::THRESHOLDS);
            let td = self.has(optc::TIMEOUT) || self.has(optc::DAEMON);
            if (cd && srt) || (td && self.has(optc::PERSISTENTCONN)) {
                return Err(CmdError::ListConflict);
            }
        }
        Ok(self.build(cmd))
    }

    fn build(self, cmd: usize) -> Command {
        match cmd {
            CMD_ADD => Command::AddService(self.svc.service()),
            CMD_EDIT => Command::EditService(self.svc.service()),
            CMD_DEL => Command::DeleteService(self.svc.key()),
            CMD_FLUSH => Command::Clear,
            CMD_LIST => {
                let target = if self.has(optc::CONNECTION) {
                    ListTarget::Connections
                } else if self.has(optc::SERVICE) {
                    ListTarget::Service(self.svc.key())
                } else if self.has(optc::TIMEOUT) {
                    ListTarget::Timeout
                } else if self.has(optc::DAEMON) {
                    ListTarget::Daemon
                } else {
                    ListTarget::All
                };
                Command::List(ListCommand { target, format: self.format })
            }
            CMD_ADDDEST => Command::AddDest(self.svc.key(), self.dest.destination()),
            CMD_EDITDEST => Command::EditDest(self.svc.key(), self.dest.destination()),
            CMD_DELDEST => Command::DeleteDest(
                self.svc.key(),
                DestinationKey { addr: addr_of(self.dest.af, &self.dest.addr), port: self.dest.port },
            ),
            CMD_TIMEOUT => Command::SetTimeouts(self.timeouts),
            CMD_STARTDAEMON => Command::StartDaemon(SyncDaemon {
                role: if self.daemon.state == 2 { SyncRole::Backup } else { SyncRole::Master },
                interface: self.daemon.ifn.into(),
                sync_id: self.daemon.syncid,
                max_len: self.daemon.maxlen,
                group: self.daemon.group,
                port: self.daemon.port,
                ttl: self.daemon.ttl,
            }),
            CMD_STOPDAEMON => {
                Command::StopDaemon(if self.daemon.state == 2 { SyncRole::Backup } else { SyncRole::Master })
            }
            CMD_RESTORE => Command::Restore,
            CMD_SAVE => Command::Save { numeric: self.format.numeric },
            _ => Command::Zero(if self.has(optc::SERVICE) { Some(self.svc.key()) } else { None }),
        }
    }

    fn generic_opt_check(&self, cmd: usize) -> Result<(), CmdError> {
        // No compulsory option missing, no illegal one, at most one of the exclusive ones: the
        // walk below would find nothing.
        if let Some(&(compulsory, illegal, exclusive)) = OPTION_MASKS.get(cmd) {
            if self.options & illegal == 0
                && self.options & compulsory == compulsory
                && (self.options & exclusive).count_ones() <= 1
            {
                return Ok(());
            }
        }
        let row = COMMAND_OPTIONS[cmd];
        let command = CMD_NAMES[cmd];
        let mut last: Option<usize> = None;
        for (j, &rule) in row.iter().enumerate() {
            if !self.has(j) {
                if rule == b'+' {
                    return Err(CmdError::MissingOption { option: OPT_NAMES[j], command });
                }
            } else {
                if rule == b'x' {
                    return Err(CmdError::IllegalOption { option: OPT_NAMES[j], command });
                }
                if rule == b'1' {
                    match last {
                        None => last = Some(j),
                        Some(l) => {
                            return Err(CmdError::ConflictingOptions {
                                option: OPT_NAMES[j],
                                other: OPT_NAMES[l],
                                command,
                            })
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn tunnel_opt_check(&self) -> Result<(), CmdError> {
        // tun_type is 0..=2 here: --tun-type accepts only the three names.
        let t = usize::from(self.dest.tun_type).min(2);
        let tunnel = TUN_NAMES[t];
        let mut last: Option<usize> = None;
        for (j, &k) in TUN_OPTS.iter().enumerate() {
            let rule = TUNNEL_OPTIONS[t][j];
            if !self.has(k) {
                if rule == b'+' {
                    return Err(CmdError::TunnelMissingOption { option: OPT_NAMES[k], tunnel });
                }
            } else {
                if rule == b'x' {
                    return Err(CmdError::TunnelIllegalOption { option: OPT_NAMES[k], tunnel });
                }
                if rule == b'1' {
                    match last {
                        None => last = Some(k),
                        Some(l) => {
                            return Err(CmdError::TunnelConflict {
                                option: OPT_NAMES[k],
                                other: OPT_NAMES[l],
                                tunnel,
                            })
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn option(&mut self, tag: Tag, arg: Option<&str>, bad: Option<&str>) -> Result<(), CmdError> {
        let a = arg.unwrap_or("");
        match tag {
            Tag::Tcp | Tag::Udp | Tag::Sctp => {
                self.set_option(optc::SERVICE)?;
                self.svc.protocol = match tag {
                    Tag::Tcp => IPPROTO_TCP,
                    Tag::Udp => IPPROTO_UDP,
                    _ => IPPROTO_SCTP,
                };
                let mut svc = std::mem::take(&mut self.svc);
                let r = self.parse_service(a, &mut svc);
                self.svc = svc;
                if r & SERVICE_ADDR == 0 {
                    return Err(CmdError::IllegalVirtualServer);
                }
            }
            Tag::Fwmark => {
                self.set_option(optc::SERVICE)?;
                self.svc.af = AF_INET;
                self.svc.protocol = IPPROTO_TCP;
                self.svc.fwmark = parse_fwmark(a)?;
            }
            Tag::Scheduler => {
                self.set_option(optc::SCHEDULER)?;
                let mut s = a.to_owned();
                truncate_bytes(&mut s, 15);
                self.svc.sched = s;
            }
            Tag::Persistent => {
                self.set_option(optc::PERSISTENT)?;
                self.svc.flags |= SVC_F_PERSISTENT;
                self.svc.timeout = parse_timeout(arg, 1)?;
            }
            Tag::Netmask => {
                self.set_option(optc::NETMASK)?;
                if self.svc.af != AF_INET6 {
                    let m = inet_aton(a).or_else(|| self.parser.resolver.host_addr(a));
                    match m {
                        Some(m) => self.svc.netmask = u32::from(m),
                        None => return Err(CmdError::IllegalPersistentMask),
                    }
                } else {
                    self.svc.netmask = atoi(a) as u32;
                    if !(1..=128).contains(&self.svc.netmask) {
                        return Err(CmdError::IllegalIpv6Netmask);
                    }
                }
            }
            Tag::RealServer => {
                self.set_option(optc::SERVER)?;
                // What parse_service reads and writes of the service (its names are not).
                let mut t = CSvc {
                    protocol: self.svc.protocol,
                    af: self.svc.af,
                    addr: self.svc.addr,
                    port: self.svc.port,
                    fwmark: self.svc.fwmark,
                    flags: self.svc.flags,
                    timeout: self.svc.timeout,
                    netmask: self.svc.netmask,
                    ..CSvc::default()
                };
                let r = self.parse_service(a, &mut t);
                self.dest.af = t.af;
                self.dest.addr = t.addr;
                self.dest.port = t.port;
                if r & SERVICE_ADDR == 0 {
                    return Err(CmdError::IllegalRealServer);
                }
                if r == SERVICE_ADDR {
                    self.dest.port = self.svc.port;
                }
            }
            Tag::Ipip | Tag::Gatewaying | Tag::Masq => {
                self.set_option(optc::FORWARD)?;
                self.dest.conn_flags = match tag {
                    Tag::Ipip => CONN_F_TUNNEL,
                    Tag::Gatewaying => CONN_F_DROUTE,
                    _ => CONN_F_MASQ,
                };
            }
            Tag::Weight => {
                self.set_option(optc::WEIGHT)?;
                // Debian's limit (see CmdError::IllegalWeight).
                self.dest.weight = string_to_number(a, 0, i32::MAX as i64).ok_or(CmdError::IllegalWeight)?;
            }
            Tag::UThreshold => {
                self.set_option(optc::UTHRESHOLD)?;
                self.dest.u_threshold =
                    string_to_number(a, 0, i64::from(i32::MAX)).ok_or(CmdError::IllegalUThreshold)? as u32;
            }
            Tag::LThreshold => {
                self.set_option(optc::LTHRESHOLD)?;
                self.dest.l_threshold =
                    string_to_number(a, 0, i64::from(i32::MAX)).ok_or(CmdError::IllegalLThreshold)? as u32;
            }
            Tag::Connection => self.set_option(optc::CONNECTION)?,
            Tag::Numeric => {
                self.set_option(optc::NUMERIC)?;
                self.format.numeric = true;
            }
            Tag::McastInterface => {
                self.set_option(optc::MCAST)?;
                let mut s = a.to_owned();
                truncate_bytes(&mut s, 15);
                self.daemon.ifn = s;
            }
            Tag::SyncId => {
                self.set_option(optc::SYNCID)?;
                self.daemon.syncid = string_to_number(a, 0, 255).ok_or(CmdError::IllegalSyncId)? as u32;
            }
            Tag::Timeout => self.set_option(optc::TIMEOUT)?,
            Tag::Daemon => self.set_option(optc::DAEMON)?,
            Tag::Stats => {
                self.set_option(optc::STATS)?;
                self.format.stats = true;
            }
            Tag::Rate => {
                self.set_option(optc::RATE)?;
                self.format.rate = true;
            }
            Tag::Thresholds => {
                self.set_option(optc::THRESHOLDS)?;
                self.format.thresholds = true;
            }
            Tag::PersistentConn => {
                self.set_option(optc::PERSISTENTCONN)?;
                self.format.persistent_conn = true;
            }
            Tag::NoSort => {
                self.set_option(optc::NOSORT)?;
                self.format.nosort = true;
            }
            Tag::Sort => {}
            Tag::Exact => {
                self.set_option(optc::EXACT)?;
                self.format.exact = true;
            }
            Tag::Ipv6 => {
                if self.svc.fwmark != 0 {
                    self.svc.af = AF_INET6;
                    self.svc.netmask = 128;
                } else {
                    return Err(CmdError::Ipv6BeforeFwmark);
                }
            }
            Tag::Ops => {
                self.set_option(optc::ONEPACKET)?;
                self.svc.flags |= SVC_F_ONEPACKET;
            }
            Tag::Pe => {
                self.set_option(optc::PE)?;
                let mut s = a.to_owned();
                truncate_bytes(&mut s, 16);
                self.svc.pe = s;
            }
            Tag::SchedFlags => {
                self.set_option(optc::SCHED_FLAGS)?;
                let mut s = a.to_owned();
                truncate_bytes(&mut s, 127);
                self.sched_flags_arg = s;
            }
            Tag::McastGroup => {
                self.set_option(optc::MCAST_GROUP)?;
                if a.contains(':') {
                    match inet_pton6(a.as_bytes()) {
                        Some(g) if g.octets()[0] == 0xff => self.daemon.group = Some(IpAddr::V6(g)),
                        _ => return Err(CmdError::InvalidMcastGroup6(a.to_owned())),
                    }
                } else {
                    match inet_pton4(a.as_bytes()) {
                        Some(g) if (g[0] & 0xf0) == 0xe0 => self.daemon.group = Some(IpAddr::V4(g.into())),
                        _ => return Err(CmdError::InvalidMcastGroup4(a.to_owned())),
                    }
                }
            }
            Tag::McastPort => {
                self.set_option(optc::MCAST_PORT)?;
                self.daemon.port = string_to_number(a, 1, 65535).ok_or(CmdError::IllegalMcastPort)? as u16;
            }
            Tag::McastTtl => {
                self.set_option(optc::MCAST_TTL)?;
                self.daemon.ttl = string_to_number(a, 1, 255).ok_or(CmdError::IllegalMcastTtl)? as u8;
            }
            Tag::SyncMaxlen => {
                self.set_option(optc::SYNC_MAXLEN)?;
                self.daemon.maxlen =
                    string_to_number(a, 1, 65535 - 20 - 8).ok_or(CmdError::IllegalSyncMaxlen)? as u16;
            }
            Tag::TunInfo => {
                self.set_option(optc::TUN_INFO)?;
                self.format.tun_info = true;
            }
            Tag::TunType => {
                self.set_option(optc::TUN_TYPE)?;
                self.dest.tun_type = match a {
                    "ipip" => 0,
                    "gue" => 1,
                    "gre" => 2,
                    _ => return Err(CmdError::IllegalTunnelType),
                };
            }
            Tag::TunPort => {
                self.set_option(optc::TUN_PORT)?;
                self.dest.tun_port = string_to_number(a, 1, 65535).ok_or(CmdError::IllegalTunnelPort)? as u16;
            }
            Tag::TunNocsum => self.set_option(optc::TUN_NOCSUM)?,
            Tag::TunCsum => {
                self.set_option(optc::TUN_CSUM)?;
                self.dest.tun_flags |= 1;
            }
            Tag::TunRemcsum => {
                self.set_option(optc::TUN_REMCSUM)?;
                self.dest.tun_flags |= 2;
            }
            _ => return Err(CmdError::InvalidOption(bad.map(str::to_owned))),
        }
        Ok(())
    }

    /// ipvsadm's `parse_service`: an address (IPv4 or names via the resolver, or IPv6 bare or
    /// in brackets) and an optional port; returns `SERVICE_ADDR | SERVICE_PORT` bits.
    fn parse_service(&self, buf: &str, svc: &mut CSvc) -> u8 {
        if let Some((a, port)) = canonical_v4_port(buf.as_bytes()) {
            // What the general path below gives for these (`inet_pton6` refuses them, and
            // `inet_aton` and `string_to_number` read plain decimals as they are), without it.
            svc.addr = [0; 16];
            svc.addr[..4].copy_from_slice(&a);
            svc.af = AF_INET;
            svc.port = port;
            return SERVICE_ADDR | SERVICE_PORT;
        }
        if buf.bytes().all(|b| b.is_ascii_digit()) {
            return 0;
        }
        let mut host = buf;
        let mut port: Option<&str> = None;
        if let Some(rest) = buf.strip_prefix('[') {
            let Some(close) = rest.find(']') else { return 0 };
            let after = &rest[close + 1..];
            if !after.starts_with(':') {
                return 0;
            }
            host = &rest[..close];
            port = Some(&after[1..]);
        }
        if let Some(a6) = inet_pton6(host.as_bytes()) {
            svc.addr = a6.octets();
            svc.af = AF_INET6;
            svc.netmask = 128;
        } else {
            // The port is after the last ':' of what is left (for "[1.2.3.4]:80" nothing is
            // left after the bracket is cut, so the port is lost, as in ipvsadm).
            port = None;
            if let Some(i) = host.rfind(':') {
                port = Some(&host[i + 1..]);
                host = &host[..i];
            }
            let a4 = inet_aton(host).or_else(|| self.parser.resolver.host_addr(host));
            match a4 {
                Some(a) => {
                    svc.addr = [0; 16];
                    svc.addr[..4].copy_from_slice(&a.octets());
                    svc.af = AF_INET;
                }
                None => return 0,
            }
        }
        let mut result = SERVICE_ADDR;
        if let Some(p) = port {
            result |= SERVICE_PORT;
            if let Some(n) = string_to_number(p, 0, 65535) {
                svc.port = n as u16;
            } else if let Some(n) = self.service_to_port(p, svc.protocol) {
                svc.port = n;
            } else {
                return 0;
            }
        }
        result
    }

    fn service_to_port(&self, name: &str, protocol: u16) -> Option<u16> {
        match protocol {
            IPPROTO_TCP | IPPROTO_UDP | IPPROTO_SCTP => {
                self.parser.resolver.service_port(name, Protocol::from_raw(protocol))
            }
            _ => None,
        }
    }
}

/// `a.b.c.d:port` in plain decimal, as `ipvsadm -S -n` prints an IPv4 address and port: each
/// byte `0` or 1 to 3 digits without a leading zero, at most 255; the port likewise, at most
/// 65535. `None` for anything else.
fn canonical_v4_port(b: &[u8]) -> Option<([u8; 4], u16)> {
    /// A plain decimal of at most `digits` digits, without a leading zero, at most `max`; and
    /// the rest of `b`.
    fn number(b: &[u8], digits: usize, max: u32) -> Option<(u32, &[u8])> {
        let n = b.iter().take(digits + 1).take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > digits || (n > 1 && b[0] == b'0') {
            return None;
        }
        let v = b[..n].iter().fold(0u32, |v, c| v * 10 + u32::from(c - b'0'));
        (v <= max).then(|| (v, &b[n..]))
    }
    let mut a = [0u8; 4];
    let mut rest = b;
    for (k, byte) in a.iter_mut().enumerate() {
        let (v, r) = number(rest, 3, 255)?;
        *byte = v as u8;
        let sep = if k == 3 { b':' } else { b'.' };
        rest = r.strip_prefix(&[sep])?;
    }
    let (port, r) = number(rest, 5, 65535)?;
    r.is_empty().then_some((a, port as u16))
}

fn parse_timeout(buf: Option<&str>, min: i64) -> Result<u32, CmdError> {
    match buf {
        None => Ok(Service::DEFAULT_TIMEOUT),
        Some(b) => string_to_number(b, min, MAX_TIMEOUT)
            .map(|v| v as u32)
            .ok_or_else(|| CmdError::InvalidTimeout(b.to_owned())),
    }
}

fn parse_fwmark(buf: &str) -> Result<u32, CmdError> {
    let r = strtol10(buf.as_bytes());
    // strtol's result is stored in an unsigned long: negative values become huge.
    let l = r.value as u64;
    if r.end != buf.len() || r.end == 0 || r.overflow || l == 0 || l > u64::from(u32::MAX) {
        return Err(CmdError::InvalidFwmark(buf.to_owned()));
    }
    Ok(l as u32)
}

fn parse_sched_flags(sched: &str, arg: &str) -> Result<u32, CmdError> {
    let sched = if sched.is_empty() { "wlc" } else { sched };
    let mut flags = 0;
    let mut any = false;
    for flag in arg.split(',').filter(|f| !f.is_empty()) {
        any = true;
        let (bit, needs) = match flag {
            "flag-1" => (SVC_F_SCHED1, None),
            "flag-2" => (SVC_F_SCHED2, None),
            "flag-3" => (SVC_F_SCHED3, None),
            "sh-fallback" => (SVC_F_SCHED1, Some("sh")),
            "sh-port" => (SVC_F_SCHED2, Some("sh")),
            "mh-fallback" => (SVC_F_SCHED1, Some("mh")),
            "mh-port" => (SVC_F_SCHED2, Some("mh")),
            _ => return Err(CmdError::InvalidSchedFlag(flag.to_owned())),
        };
        flags |= bit;
        if let Some(n) = needs {
            if sched != n {
                return Err(CmdError::IncompatibleSchedFlag(flag.to_owned()));
            }
        }
    }
    if !any {
        return Err(CmdError::EmptySchedFlags);
    }
    Ok(flags)
}

/// ipvsadm's `-v` output (with its newline). The IPVS version is the one ipvsadm was built
/// against (1.2.1), not the kernel's.
pub fn version() -> String {
    "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n".to_owned()
}

/// ipvsadm's `-h` output (with the version line first), naming the program `program`.
pub fn usage(program: &str) -> String {
    // Our own help text: the commands and options are ipvsadm's, the wording is ours.
    let p = program;
    let mut s = version();
    s.push_str(&format!(
        "Usage:
  {p} -A|-E SERVICE [-s SCHED] [-p [SECONDS]] [-M MASK] [--pe ENGINE] [-b FLAGS] [-o]
  {p} -D SERVICE
  {p} -a|-e SERVICE -r ADDR[:PORT] [-g|-i|-m] [-w WEIGHT] [-x UPPER] [-y LOWER] [TUNNEL]
  {p} -d SERVICE -r ADDR[:PORT]
  {p} -L|-l [SERVICE] [-n] [--stats|--rate|--thresholds|--persistent-conn|--tun-info] [--exact] [--nosort]
  {p} -L -c | -L --timeout | -L --daemon
  {p} -Z [SERVICE]      {p} -C      {p} -S [-n]      {p} -R
  {p} --set TCP TCPFIN UDP
  {p} --start-daemon master|backup [--mcast-interface IF] [--syncid ID] [--sync-maxlen N]
        [--mcast-group ADDR] [--mcast-port PORT] [--mcast-ttl TTL]
  {p} --stop-daemon master|backup
  {p} -h

SERVICE is one of
  -t|--tcp-service ADDR:PORT   -u|--udp-service ADDR:PORT   --sctp-service ADDR:PORT
  -f|--fwmark-service MARK [-6]   (IPv6 addresses go in brackets: [2001:db8::1]:80)

Schedulers: rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh (default wlc).
Scheduler flags (-b): sh-fallback,sh-port for sh; mh-fallback,mh-port for mh; flag-1..flag-3.
Forwarding: -g direct routing (default), -i tunnelling, -m masquerading (NAT).
TUNNEL: --tun-type ipip|gue|gre [--tun-port PORT] [--tun-nocsum|--tun-csum|--tun-remcsum].
-p without SECONDS means 360; -M takes a dotted mask (IPv4) or a prefix length (IPv6).
Long forms: --add-service --edit-service --delete-service --clear --restore --save
  --add-server --edit-server --delete-server --list --zero --help, --scheduler --persistent
  --netmask --real-server --gatewaying --ipip --masquerading --weight --u-threshold
  --l-threshold --numeric --connection --ops --sched-flags.
"
    ));
    s
}
