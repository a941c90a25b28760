"""Full, fast, safe control of the Linux kernel's IPVS load balancer.

``import ipvs`` gives the whole library: the model's value classes, the kernel client
(:class:`Client`, :class:`AsyncClient`), the in-memory reference table (:class:`MemoryTable`),
ipvsadm's rules and listings (:class:`RuleSet`, :func:`save`, :func:`list_all`), declarative
planning (:func:`plan`, :func:`plan_for`) and the scheduler simulator (:class:`Simulator`).
Everything is implemented once, in Rust; this package wraps it.

>>> import ipvs
>>> vip = ipvs.ServiceKey.tcp("10.1.2.3", 80)
>>> table = ipvs.MemoryTable()          # or ipvs.Client() for the kernel's table
>>> table.add_service(ipvs.Service(vip, "wrr"))
>>> table.add_destination(vip, ipvs.Destination("192.168.1.10", 80, "masq", 1))
>>> print(table.save(), end="")
-A -t 10.1.2.3:80 -s wrr
-a -t 10.1.2.3:80 -r 192.168.1.10:80 -m -w 1
"""

from ipvs import errors
from ipvs._enums import ForwardMethod, Protocol, Scheduler, ServiceFlags, SyncRole, TunnelFlags, TunnelType
from ipvs._ipvs import (
    SCHEDULERS,
    ApplyReport,
    Backend,
    Client,
    Connection,
    Destination,
    DestinationStatus,
    Info,
    MemoryTable,
    Operation,
    Outcome,
    Plan,
    RuleSet,
    Service,
    ServiceIterator,
    ServiceKey,
    ServiceStatus,
    Simulator,
    Stats,
    SyncDaemon,
    Timeouts,
    __version__,
    list_all,
    list_connections,
    list_daemons,
    list_service,
    list_timeout,
    parse_connections,
    parse_endpoint,
    plan,
    plan_for,
    save,
    sort_table,
)
from ipvs._async import AsyncClient
from ipvs.errors import (
    AddressFamilyNotSupportedError,
    DecodeError,
    DumpInterruptedError,
    ExistsError,
    InvalidError,
    IpvsError,
    IpvsTimeoutError,
    KernelError,
    ModuleMissingError,
    NotFoundError,
    NotSentError,
    NotSupportedError,
    PermissionDeniedError,
    RulesError,
    SchedulerNotFoundError,
    SystemCallError,
    ValidationError,
)

__all__ = [
    "SCHEDULERS",
    "__version__",
    # value classes
    "ServiceKey",
    "Service",
    "Destination",
    "Stats",
    "ServiceStatus",
    "DestinationStatus",
    "Timeouts",
    "SyncDaemon",
    "Info",
    "Connection",
    "Operation",
    # names
    "ForwardMethod",
    "Protocol",
    "Scheduler",
    "ServiceFlags",
    "SyncRole",
    "TunnelFlags",
    "TunnelType",
    # tables
    "Backend",
    "Client",
    "AsyncClient",
    "MemoryTable",
    "ServiceIterator",
    # rules text and listings
    "RuleSet",
    "save",
    "list_all",
    "list_service",
    "list_timeout",
    "list_daemons",
    "list_connections",
    "parse_connections",
    "parse_endpoint",
    "sort_table",
    # planning
    "plan",
    "plan_for",
    "Plan",
    "ApplyReport",
    # simulation
    "Simulator",
    "Outcome",
    # errors
    "errors",
    "IpvsError",
    "ValidationError",
    "RulesError",
    "KernelError",
    "ExistsError",
    "NotFoundError",
    "SchedulerNotFoundError",
    "PermissionDeniedError",
    "ModuleMissingError",
    "InvalidError",
    "AddressFamilyNotSupportedError",
    "NotSupportedError",
    "IpvsTimeoutError",
    "NotSentError",
    "DumpInterruptedError",
    "DecodeError",
    "SystemCallError",
]
