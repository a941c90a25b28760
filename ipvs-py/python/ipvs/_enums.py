"""Named values for the arguments that take ipvsadm's spellings.

Every member is a ``str`` (or an ``int`` for the flags), so it can be passed wherever the
spelling is accepted: ``Destination("192.168.1.10", 80, ForwardMethod.MASQ)`` is
``Destination("192.168.1.10", 80, "masq")``. The values are the extension module's (a host test
checks them against it).
"""

from __future__ import annotations

import enum

__all__ = ["ForwardMethod", "Protocol", "Scheduler", "ServiceFlags", "SyncRole", "TunnelFlags", "TunnelType"]


class Protocol(str, enum.Enum):
    """The protocol of an address-keyed service."""

    TCP = "tcp"
    UDP = "udp"
    SCTP = "sctp"


class ForwardMethod(str, enum.Enum):
    """How packets reach a real server (``Destination.forward``)."""

    MASQ = "masq"
    """NAT (``-m``)."""
    ROUTE = "route"
    """Direct routing (``-g``), ipvsadm's default."""
    TUNNEL = "tunnel"
    """IP tunnelling (``-i``)."""
    LOCAL = "local"
    """The real server is this host."""
    BYPASS = "bypass"
    """Cache bypass (the kernel's own)."""


class TunnelType(str, enum.Enum):
    """The encapsulation of a tunnelling real server (``--tun-type``)."""

    IPIP = "ipip"
    GUE = "gue"
    GRE = "gre"


class SyncRole(str, enum.Enum):
    """The role of a connection-sync daemon."""

    MASTER = "master"
    BACKUP = "backup"


class Scheduler(str, enum.Enum):
    """The kernel's schedulers (any other name is accepted too: kernels add schedulers)."""

    RR = "rr"
    WRR = "wrr"
    LC = "lc"
    WLC = "wlc"
    LBLC = "lblc"
    LBLCR = "lblcr"
    DH = "dh"
    SH = "sh"
    SED = "sed"
    NQ = "nq"
    FO = "fo"
    OVF = "ovf"
    MH = "mh"
    TWOS = "twos"
    NONE = "none"
    """No scheduler bound: the service schedules no new connections."""


class ServiceFlags(enum.IntFlag):
    """Service flag bits (``Service.flags``)."""

    PERSISTENT = 0x0001
    HASHED = 0x0002
    ONEPACKET = 0x0004
    SCHED1 = 0x0008
    SCHED2 = 0x0010
    SCHED3 = 0x0020
    SH_FALLBACK = 0x0008
    SH_PORT = 0x0010
    MH_FALLBACK = 0x0008
    MH_PORT = 0x0010


class TunnelFlags(enum.IntFlag):
    """Tunnel checksum flags (``Destination.tunnel_flags``)."""

    CSUM = 1
    REMCSUM = 2
