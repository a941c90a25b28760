//! Every number of the IPVS generic-netlink interface.
//!
//! Values come from the kernel's uapi header `include/uapi/linux/ip_vs.h`
//! (checked against Linux 6.1), from `<sys/socket.h>` for the address
//! families, and from `include/uapi/linux/netlink.h` and `genetlink.h` for
//! the netlink numbers a user of the codec needs (message types, `NLM_F_*`
//! flags, extended-ack attributes), so that nothing here has to be imported
//! from `netlink-packet-core`. Names follow the kernel's, minus the `IPVS_` / `IP_VS_` prefix
//! where the module path already says it.

// ---------------------------------------------------------------------------
// Family
// ---------------------------------------------------------------------------

/// Generic-netlink family name (`IPVS_GENL_NAME`).
pub const IPVS_GENL_NAME: &str = "IPVS";
/// Generic-netlink family version (`IPVS_GENL_VERSION`). Replies carry it in
/// the genl header; the kernel does not check it in requests.
pub const IPVS_GENL_VERSION: u8 = 1;

/// `AF_INET`.
pub const AF_INET: u16 = 2;
/// `AF_INET6`.
pub const AF_INET6: u16 = 10;

// ---------------------------------------------------------------------------
// Commands (`IPVS_CMD_*`)
// ---------------------------------------------------------------------------

/// `IPVS_CMD_UNSPEC`: not a command; the kernel answers `EOPNOTSUPP`.
pub const IPVS_CMD_UNSPEC: u8 = 0;
/// `IPVS_CMD_NEW_SERVICE`: add a service. Also the reply command of
/// `GET_SERVICE` (doit and dump).
pub const IPVS_CMD_NEW_SERVICE: u8 = 1;
/// `IPVS_CMD_SET_SERVICE`: edit a service.
pub const IPVS_CMD_SET_SERVICE: u8 = 2;
/// `IPVS_CMD_DEL_SERVICE`: delete a service.
pub const IPVS_CMD_DEL_SERVICE: u8 = 3;
/// `IPVS_CMD_GET_SERVICE`: get one service (doit) or dump all (dumpit).
pub const IPVS_CMD_GET_SERVICE: u8 = 4;
/// `IPVS_CMD_NEW_DEST`: add a destination. Also the reply command of the
/// `GET_DEST` dump.
pub const IPVS_CMD_NEW_DEST: u8 = 5;
/// `IPVS_CMD_SET_DEST`: edit a destination.
pub const IPVS_CMD_SET_DEST: u8 = 6;
/// `IPVS_CMD_DEL_DEST`: delete a destination.
pub const IPVS_CMD_DEL_DEST: u8 = 7;
/// `IPVS_CMD_GET_DEST`: dump the destinations of one service (dump only).
pub const IPVS_CMD_GET_DEST: u8 = 8;
/// `IPVS_CMD_NEW_DAEMON`: start a sync daemon. Also the reply command of the
/// `GET_DAEMON` dump.
pub const IPVS_CMD_NEW_DAEMON: u8 = 9;
/// `IPVS_CMD_DEL_DAEMON`: stop a sync daemon.
pub const IPVS_CMD_DEL_DAEMON: u8 = 10;
/// `IPVS_CMD_GET_DAEMON`: dump the running sync daemons (dump only).
pub const IPVS_CMD_GET_DAEMON: u8 = 11;
/// `IPVS_CMD_SET_CONFIG` (libipvs: `IPVS_CMD_SET_TIMEOUT`): set timeouts.
/// Also the reply command of `GET_CONFIG`.
pub const IPVS_CMD_SET_CONFIG: u8 = 12;
/// `IPVS_CMD_GET_CONFIG` (libipvs: `IPVS_CMD_GET_TIMEOUT`): get timeouts.
pub const IPVS_CMD_GET_CONFIG: u8 = 13;
/// `IPVS_CMD_SET_INFO`: never sent; only the reply command of `GET_INFO`.
pub const IPVS_CMD_SET_INFO: u8 = 14;
/// `IPVS_CMD_GET_INFO`: get the IPVS version and connection table size.
pub const IPVS_CMD_GET_INFO: u8 = 15;
/// `IPVS_CMD_ZERO`: zero counters (of one service, or of everything).
pub const IPVS_CMD_ZERO: u8 = 16;
/// `IPVS_CMD_FLUSH`: delete every service of the network namespace.
pub const IPVS_CMD_FLUSH: u8 = 17;

// ---------------------------------------------------------------------------
// Top-level attributes (`IPVS_CMD_ATTR_*`)
// ---------------------------------------------------------------------------

/// `IPVS_CMD_ATTR_SERVICE`: nested `IPVS_SVC_ATTR_*`.
pub const IPVS_CMD_ATTR_SERVICE: u16 = 1;
/// `IPVS_CMD_ATTR_DEST`: nested `IPVS_DEST_ATTR_*`.
pub const IPVS_CMD_ATTR_DEST: u16 = 2;
/// `IPVS_CMD_ATTR_DAEMON`: nested `IPVS_DAEMON_ATTR_*`.
pub const IPVS_CMD_ATTR_DAEMON: u16 = 3;
/// `IPVS_CMD_ATTR_TIMEOUT_TCP`: u32 seconds, host order.
pub const IPVS_CMD_ATTR_TIMEOUT_TCP: u16 = 4;
/// `IPVS_CMD_ATTR_TIMEOUT_TCP_FIN`: u32 seconds, host order.
pub const IPVS_CMD_ATTR_TIMEOUT_TCP_FIN: u16 = 5;
/// `IPVS_CMD_ATTR_TIMEOUT_UDP`: u32 seconds, host order.
pub const IPVS_CMD_ATTR_TIMEOUT_UDP: u16 = 6;

// ---------------------------------------------------------------------------
// GET_INFO reply attributes (`IPVS_INFO_ATTR_*`). They share numbers 1 and 2
// with IPVS_CMD_ATTR_SERVICE/DEST; only the reply command (SET_INFO) tells
// them apart.
// ---------------------------------------------------------------------------

/// `IPVS_INFO_ATTR_VERSION`: u32, `(major << 16) | (minor << 8) | patch`.
pub const IPVS_INFO_ATTR_VERSION: u16 = 1;
/// `IPVS_INFO_ATTR_CONN_TAB_SIZE`: u32, size of the connection hash table.
pub const IPVS_INFO_ATTR_CONN_TAB_SIZE: u16 = 2;

// ---------------------------------------------------------------------------
// Service attributes (`IPVS_SVC_ATTR_*`)
// ---------------------------------------------------------------------------

/// `IPVS_SVC_ATTR_AF`: u16 host order.
pub const IPVS_SVC_ATTR_AF: u16 = 1;
/// `IPVS_SVC_ATTR_PROTOCOL`: u16 host order.
pub const IPVS_SVC_ATTR_PROTOCOL: u16 = 2;
/// `IPVS_SVC_ATTR_ADDR`: up to 16 raw address bytes.
pub const IPVS_SVC_ATTR_ADDR: u16 = 3;
/// `IPVS_SVC_ATTR_PORT`: u16 **network** order.
pub const IPVS_SVC_ATTR_PORT: u16 = 4;
/// `IPVS_SVC_ATTR_FWMARK`: u32 host order.
pub const IPVS_SVC_ATTR_FWMARK: u16 = 5;
/// `IPVS_SVC_ATTR_SCHED_NAME`: NUL-terminated string, at most 15 characters.
pub const IPVS_SVC_ATTR_SCHED_NAME: u16 = 6;
/// `IPVS_SVC_ATTR_FLAGS`: `struct ip_vs_flags { u32 flags; u32 mask; }`.
pub const IPVS_SVC_ATTR_FLAGS: u16 = 7;
/// `IPVS_SVC_ATTR_TIMEOUT`: u32 seconds, host order.
pub const IPVS_SVC_ATTR_TIMEOUT: u16 = 8;
/// `IPVS_SVC_ATTR_NETMASK`: 4 raw bytes (see [`RawNetmask`](super::RawNetmask)).
pub const IPVS_SVC_ATTR_NETMASK: u16 = 9;
/// `IPVS_SVC_ATTR_STATS`: nested stats, 32-bit layout.
pub const IPVS_SVC_ATTR_STATS: u16 = 10;
/// `IPVS_SVC_ATTR_PE_NAME`: NUL-terminated string, at most 16 characters.
pub const IPVS_SVC_ATTR_PE_NAME: u16 = 11;
/// `IPVS_SVC_ATTR_STATS64`: nested stats, 64-bit layout (since Linux 4.1).
pub const IPVS_SVC_ATTR_STATS64: u16 = 12;

// ---------------------------------------------------------------------------
// Destination attributes (`IPVS_DEST_ATTR_*`)
// ---------------------------------------------------------------------------

/// `IPVS_DEST_ATTR_ADDR`: up to 16 raw address bytes.
pub const IPVS_DEST_ATTR_ADDR: u16 = 1;
/// `IPVS_DEST_ATTR_PORT`: u16 **network** order.
pub const IPVS_DEST_ATTR_PORT: u16 = 2;
/// `IPVS_DEST_ATTR_FWD_METHOD`: u32 host order (`IP_VS_CONN_F_FWD_MASK` bits).
pub const IPVS_DEST_ATTR_FWD_METHOD: u16 = 3;
/// `IPVS_DEST_ATTR_WEIGHT`: u32 host order, an `int` in the kernel.
pub const IPVS_DEST_ATTR_WEIGHT: u16 = 4;
/// `IPVS_DEST_ATTR_U_THRESH`: u32 host order.
pub const IPVS_DEST_ATTR_U_THRESH: u16 = 5;
/// `IPVS_DEST_ATTR_L_THRESH`: u32 host order.
pub const IPVS_DEST_ATTR_L_THRESH: u16 = 6;
/// `IPVS_DEST_ATTR_ACTIVE_CONNS`: u32 host order, replies only.
pub const IPVS_DEST_ATTR_ACTIVE_CONNS: u16 = 7;
/// `IPVS_DEST_ATTR_INACT_CONNS`: u32 host order, replies only.
pub const IPVS_DEST_ATTR_INACT_CONNS: u16 = 8;
/// `IPVS_DEST_ATTR_PERSIST_CONNS`: u32 host order, replies only.
pub const IPVS_DEST_ATTR_PERSIST_CONNS: u16 = 9;
/// `IPVS_DEST_ATTR_STATS`: nested stats, 32-bit layout.
pub const IPVS_DEST_ATTR_STATS: u16 = 10;
/// `IPVS_DEST_ATTR_ADDR_FAMILY`: u16 host order (since Linux 3.18).
pub const IPVS_DEST_ATTR_ADDR_FAMILY: u16 = 11;
/// `IPVS_DEST_ATTR_STATS64`: nested stats, 64-bit layout (since Linux 4.1).
pub const IPVS_DEST_ATTR_STATS64: u16 = 12;
/// `IPVS_DEST_ATTR_TUN_TYPE`: u8 (since Linux 5.2).
pub const IPVS_DEST_ATTR_TUN_TYPE: u16 = 13;
/// `IPVS_DEST_ATTR_TUN_PORT`: u16 **network** order (since Linux 5.2).
pub const IPVS_DEST_ATTR_TUN_PORT: u16 = 14;
/// `IPVS_DEST_ATTR_TUN_FLAGS`: u16 host order (since Linux 5.3).
pub const IPVS_DEST_ATTR_TUN_FLAGS: u16 = 15;

// ---------------------------------------------------------------------------
// Sync daemon attributes (`IPVS_DAEMON_ATTR_*`)
// ---------------------------------------------------------------------------

/// `IPVS_DAEMON_ATTR_STATE`: u32 host order (`IP_VS_STATE_*`).
pub const IPVS_DAEMON_ATTR_STATE: u16 = 1;
/// `IPVS_DAEMON_ATTR_MCAST_IFN`: NUL-terminated interface name (≤ 15 chars).
pub const IPVS_DAEMON_ATTR_MCAST_IFN: u16 = 2;
/// `IPVS_DAEMON_ATTR_SYNC_ID`: u32 host order.
pub const IPVS_DAEMON_ATTR_SYNC_ID: u16 = 3;
/// `IPVS_DAEMON_ATTR_SYNC_MAXLEN`: u16 host order (since Linux 4.3).
pub const IPVS_DAEMON_ATTR_SYNC_MAXLEN: u16 = 4;
/// `IPVS_DAEMON_ATTR_MCAST_GROUP`: IPv4 address, 4 bytes network order
/// (since Linux 4.3).
pub const IPVS_DAEMON_ATTR_MCAST_GROUP: u16 = 5;
/// `IPVS_DAEMON_ATTR_MCAST_GROUP6`: IPv6 address, 16 bytes (since Linux 4.3).
pub const IPVS_DAEMON_ATTR_MCAST_GROUP6: u16 = 6;
/// `IPVS_DAEMON_ATTR_MCAST_PORT`: u16 **host** order, unlike every other
/// port of the interface (since Linux 4.3).
pub const IPVS_DAEMON_ATTR_MCAST_PORT: u16 = 7;
/// `IPVS_DAEMON_ATTR_MCAST_TTL`: u8 (since Linux 4.3).
pub const IPVS_DAEMON_ATTR_MCAST_TTL: u16 = 8;

// ---------------------------------------------------------------------------
// Statistics attributes (`IPVS_STATS_ATTR_*`)
// ---------------------------------------------------------------------------

/// `IPVS_STATS_ATTR_CONNS`: u32 in STATS, u64 in STATS64.
pub const IPVS_STATS_ATTR_CONNS: u16 = 1;
/// `IPVS_STATS_ATTR_INPKTS`: u32 in STATS, u64 in STATS64.
pub const IPVS_STATS_ATTR_INPKTS: u16 = 2;
/// `IPVS_STATS_ATTR_OUTPKTS`: u32 in STATS, u64 in STATS64.
pub const IPVS_STATS_ATTR_OUTPKTS: u16 = 3;
/// `IPVS_STATS_ATTR_INBYTES`: u64 in both layouts.
pub const IPVS_STATS_ATTR_INBYTES: u16 = 4;
/// `IPVS_STATS_ATTR_OUTBYTES`: u64 in both layouts.
pub const IPVS_STATS_ATTR_OUTBYTES: u16 = 5;
/// `IPVS_STATS_ATTR_CPS`: u32 in STATS, u64 in STATS64.
pub const IPVS_STATS_ATTR_CPS: u16 = 6;
/// `IPVS_STATS_ATTR_INPPS`: u32 in STATS, u64 in STATS64.
pub const IPVS_STATS_ATTR_INPPS: u16 = 7;
/// `IPVS_STATS_ATTR_OUTPPS`: u32 in STATS, u64 in STATS64.
pub const IPVS_STATS_ATTR_OUTPPS: u16 = 8;
/// `IPVS_STATS_ATTR_INBPS`: u32 in STATS, u64 in STATS64.
pub const IPVS_STATS_ATTR_INBPS: u16 = 9;
/// `IPVS_STATS_ATTR_OUTBPS`: u32 in STATS, u64 in STATS64.
pub const IPVS_STATS_ATTR_OUTBPS: u16 = 10;
/// `IPVS_STATS_ATTR_PAD`: zero-length alignment padding (since Linux 4.7).
pub const IPVS_STATS_ATTR_PAD: u16 = 11;

// ---------------------------------------------------------------------------
// Service flags (`IP_VS_SVC_F_*`)
// ---------------------------------------------------------------------------

/// `IP_VS_SVC_F_PERSISTENT`: persistent service.
pub const IP_VS_SVC_F_PERSISTENT: u32 = 0x0001;
/// `IP_VS_SVC_F_HASHED`: internal "in the hash table" bit; every existing
/// service reports it. Mask it out when comparing.
pub const IP_VS_SVC_F_HASHED: u32 = 0x0002;
/// `IP_VS_SVC_F_ONEPACKET`: one-packet scheduling (UDP only).
pub const IP_VS_SVC_F_ONEPACKET: u32 = 0x0004;
/// `IP_VS_SVC_F_SCHED1`: scheduler flag 1 (sh/mh: fallback).
pub const IP_VS_SVC_F_SCHED1: u32 = 0x0008;
/// `IP_VS_SVC_F_SCHED2`: scheduler flag 2 (sh/mh: port).
pub const IP_VS_SVC_F_SCHED2: u32 = 0x0010;
/// `IP_VS_SVC_F_SCHED3`: scheduler flag 3 (unused in tree).
pub const IP_VS_SVC_F_SCHED3: u32 = 0x0020;
/// `IP_VS_SVC_F_SCHED_SH_FALLBACK` = `SCHED1`.
pub const IP_VS_SVC_F_SCHED_SH_FALLBACK: u32 = IP_VS_SVC_F_SCHED1;
/// `IP_VS_SVC_F_SCHED_SH_PORT` = `SCHED2`.
pub const IP_VS_SVC_F_SCHED_SH_PORT: u32 = IP_VS_SVC_F_SCHED2;
/// mh-fallback = `SCHED1` (defined by `ip_vs_mh.c`, not by the 6.1 uapi).
pub const IP_VS_SVC_F_SCHED_MH_FALLBACK: u32 = IP_VS_SVC_F_SCHED1;
/// mh-port = `SCHED2` (defined by `ip_vs_mh.c`, not by the 6.1 uapi).
pub const IP_VS_SVC_F_SCHED_MH_PORT: u32 = IP_VS_SVC_F_SCHED2;

// ---------------------------------------------------------------------------
// Forwarding methods (`IP_VS_CONN_F_*` forwarding bits)
// ---------------------------------------------------------------------------

/// `IP_VS_CONN_F_FWD_MASK`: the kernel keeps only these bits of FWD_METHOD.
pub const IP_VS_CONN_F_FWD_MASK: u32 = 0x0007;
/// `IP_VS_CONN_F_MASQ`: NAT.
pub const IP_VS_CONN_F_MASQ: u32 = 0x0000;
/// `IP_VS_CONN_F_LOCALNODE`: local node.
pub const IP_VS_CONN_F_LOCALNODE: u32 = 0x0001;
/// `IP_VS_CONN_F_TUNNEL`: IP tunnelling (IPIP/GUE/GRE by tunnel type).
pub const IP_VS_CONN_F_TUNNEL: u32 = 0x0002;
/// `IP_VS_CONN_F_DROUTE`: direct routing.
pub const IP_VS_CONN_F_DROUTE: u32 = 0x0003;
/// `IP_VS_CONN_F_BYPASS`: cache bypass (internal).
pub const IP_VS_CONN_F_BYPASS: u32 = 0x0004;

// ---------------------------------------------------------------------------
// Tunnels (since Linux 5.2; GRE and flags since 5.3)
// ---------------------------------------------------------------------------

/// `IP_VS_CONN_F_TUNNEL_TYPE_IPIP`.
pub const IP_VS_CONN_F_TUNNEL_TYPE_IPIP: u8 = 0;
/// `IP_VS_CONN_F_TUNNEL_TYPE_GUE`.
pub const IP_VS_CONN_F_TUNNEL_TYPE_GUE: u8 = 1;
/// `IP_VS_CONN_F_TUNNEL_TYPE_GRE`.
pub const IP_VS_CONN_F_TUNNEL_TYPE_GRE: u8 = 2;
/// `IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM`.
pub const IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM: u16 = 0;
/// `IP_VS_TUNNEL_ENCAP_FLAG_CSUM`.
pub const IP_VS_TUNNEL_ENCAP_FLAG_CSUM: u16 = 1;
/// `IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM`.
pub const IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM: u16 = 2;

// ---------------------------------------------------------------------------
// Sync daemon states
// ---------------------------------------------------------------------------

/// `IP_VS_STATE_NONE`.
pub const IP_VS_STATE_NONE: u32 = 0;
/// `IP_VS_STATE_MASTER`.
pub const IP_VS_STATE_MASTER: u32 = 1;
/// `IP_VS_STATE_BACKUP`.
pub const IP_VS_STATE_BACKUP: u32 = 2;

// ---------------------------------------------------------------------------
// Length limits (uapi `ip_vs.h`, sizes including the NUL)
// ---------------------------------------------------------------------------

/// `IP_VS_SCHEDNAME_MAXLEN`: scheduler name buffer, NUL included (so at most
/// 15 characters are accepted).
pub const IP_VS_SCHEDNAME_MAXLEN: usize = 16;
/// `IP_VS_PENAME_MAXLEN`: persistence-engine name buffer. The netlink policy
/// accepts 16 characters (it omits the usual `- 1`).
pub const IP_VS_PENAME_MAXLEN: usize = 16;
/// `IP_VS_IFNAME_MAXLEN`: interface name buffer, NUL included.
pub const IP_VS_IFNAME_MAXLEN: usize = 16;

// ---------------------------------------------------------------------------
// Netlink (`include/uapi/linux/netlink.h`, `genetlink.h`)
// ---------------------------------------------------------------------------

/// `NLMSG_NOOP`: nothing; skipped.
pub const NLMSG_NOOP: u16 = 1;
/// `NLMSG_ERROR`: an acknowledgement (error 0) or an error (negative errno).
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: the end of a dump; carries the dump's status.
pub const NLMSG_DONE: u16 = 3;
/// `NLMSG_OVERRUN`: data lost (never sent by Linux).
pub const NLMSG_OVERRUN: u16 = 4;
/// `GENL_ID_CTRL`: the generic-netlink controller's family id (`nlctrl`).
pub const GENL_ID_CTRL: u16 = 0x10;

/// `NLM_F_REQUEST`: the message is a request (always set by the encoders).
pub const NLM_F_REQUEST: u16 = 0x01;
/// `NLM_F_MULTI`: part of a multipart reply (a dump), ended by `NLMSG_DONE`.
pub const NLM_F_MULTI: u16 = 0x02;
/// `NLM_F_ACK`: ask for an acknowledgement.
pub const NLM_F_ACK: u16 = 0x04;
/// `NLM_F_ECHO`: echo this request.
pub const NLM_F_ECHO: u16 = 0x08;
/// `NLM_F_DUMP_INTR`: the dump was inconsistent because the data changed.
pub const NLM_F_DUMP_INTR: u16 = 0x10;
/// `NLM_F_DUMP_FILTERED`: the dump was filtered as requested.
pub const NLM_F_DUMP_FILTERED: u16 = 0x20;
/// `NLM_F_ROOT` (GET requests): return the whole table.
pub const NLM_F_ROOT: u16 = 0x100;
/// `NLM_F_MATCH` (GET requests): return every match.
pub const NLM_F_MATCH: u16 = 0x200;
/// `NLM_F_DUMP` = `NLM_F_ROOT | NLM_F_MATCH`: ask for a dump.
pub const NLM_F_DUMP: u16 = NLM_F_ROOT | NLM_F_MATCH;
/// `NLM_F_CAPPED` (`NLMSG_ERROR`): only the request's header is echoed, not
/// the whole request (always for an acknowledgement; for an error when the
/// socket has `NETLINK_CAP_ACK`).
pub const NLM_F_CAPPED: u16 = 0x100;
/// `NLM_F_ACK_TLVS` (`NLMSG_ERROR`, `NLMSG_DONE`): extended-ack attributes
/// (`NLMSGERR_ATTR_*`) follow.
pub const NLM_F_ACK_TLVS: u16 = 0x200;

/// `NLMSGERR_ATTR_MSG`: the extended-ack text, a NUL-terminated string.
pub const NLMSGERR_ATTR_MSG: u16 = 1;
/// `NLMSGERR_ATTR_OFFS`: u32, offset of the offending attribute in the
/// request.
pub const NLMSGERR_ATTR_OFFS: u16 = 2;

/// `NLA_F_NESTED`: attribute type flag for a nest.
pub const NLA_F_NESTED: u16 = 0x8000;
/// `NLA_F_NET_BYTEORDER`: attribute type flag for a network-order value.
pub const NLA_F_NET_BYTEORDER: u16 = 0x4000;
/// `NLA_TYPE_MASK`: the attribute number, without the two flag bits.
pub const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);
