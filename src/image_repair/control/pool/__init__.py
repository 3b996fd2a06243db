"""The warm pool of repair hosts (issue 13, docs/pool.md): hosts in seats, disk slots leased to
executions, every race settled by the store's conditional writes.

* models.py: settings, instance-type facts, capacity, answers and errors;
* choice.py: the decisions, pure functions of a snapshot (which slot, which seat, which host is
  idle, which lease is stale);
* leases.py: acquire, renew, release, expire slot leases over the store port;
* hosts.py: launch finished or failed, drain, idle release;
* status.py: what ``image-repair pool status`` shows.

A domain package: it reaches the store through its port and imports no SDK.
"""
