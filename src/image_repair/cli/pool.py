"""``image-repair pool status``: the warm pool of repair hosts as the store holds it (docs/pool.md):
every host in its seat, its slots and their leases, and how long it has been idle."""
import json
import sys
from typing import List, Optional

from ..control.pool.status import HostView, PoolStatus, pool_status
from .cloud_target import open_command_store
from .repair import store_name


def run_pool_status(args) -> int:
    store = open_command_store(args.settings)
    try:
        status = pool_status(store)
    finally:
        store.close()
    if args.zone:
        status = PoolStatus(hosts=[host for host in status.hosts if host.zone == args.zone],
                            orphaned_leases=[lease for lease in status.orphaned_leases if lease.zone == args.zone])
    if args.json:
        sys.stdout.write(json.dumps(status.model_dump(mode="json"), indent=2) + "\n")
        return 0
    if not status.hosts:
        sys.stderr.write("image-repair pool status: no pool hosts%s in the store %s (a pooled repair launches one "
                         "when it needs it; IMAGE_REPAIR_STORE chooses the store)\n"
                         % (" in zone %s" % args.zone if args.zone else "", store_name(args.settings)))
        return 0
    sys.stdout.write("\n".join(status_lines(status)) + "\n")
    return 0


def status_lines(status: PoolStatus) -> List[str]:
    lines = ["%-4s  %-19s  %-22s  %-14s  %-16s  %-9s  %-5s  %s"
             % ("seat", "host", "instance", "zone", "type", "state", "slots", "idle")]
    for host in status.hosts:
        live = [lease for lease in host.leases if lease.expires_in_s > 0]
        lines.append("%-4d  %-19s  %-22s  %-14s  %-16s  %-9s  %-5s  %s"
                     % (host.seat, host.host_id, host.instance_id or "-", host.zone, host.instance_type,
                        host.state.value, "%d/%d" % (len(live), host.capacity), seconds(host.idle_s)))
        note = host_note(host)
        if note:
            lines.append("      " + note)
        for lease in host.leases:
            when = ("expires in %s" % seconds(lease.expires_in_s) if lease.expires_in_s > 0
                    else "expired %s ago (free)" % seconds(-lease.expires_in_s))
            lines.append("      slot %-2d  %s  %s" % (lease.slot, lease.owner, when))
    for lease in status.orphaned_leases:
        lines.append("orphaned lease: slot %d of host %s (no longer in seat %d), %s"
                     % (lease.slot, lease.host_id, lease.seat, lease.owner))
    return lines


def host_note(host: HostView) -> Optional[str]:
    """What the state column cannot say: why a host drains, a launch past its deadline."""
    if host.launch_overdue:
        return "launch overdue: its seat is free again (an instance it left behind: docs/pool.md, Launches)"
    if host.drain_reason:
        return "draining: %s" % host.drain_reason
    return None


def seconds(value: Optional[float]) -> str:
    if value is None:
        return "-"
    value = int(round(value))
    if value < 120:
        return "%ds" % value
    if value < 7200:
        return "%dm%02ds" % divmod(value, 60)
    return "%dh%02dm" % (value // 3600, value % 3600 // 60)
