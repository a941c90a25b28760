"""Full, fast, safe control of the Linux kernel's IPVS load balancer."""

from ipvs._ipvs import SCHEDULERS, __version__

__all__ = ["SCHEDULERS", "__version__"]
