"""The repair host's AutoReleaseTime: the safety net that releases it should every clean-up fail.

Set when the host is launched, from the launch's own time (not the execution's creation: an
execution resumed hours later would otherwise send a time already past, which RunInstances refuses
with InvalidAutoReleaseTime.Malformed), and pushed forward while the execution still needs the host
(ModifyInstanceAutoReleaseTime), so a long repair is never cut short and a dead execution's host
goes at most HOST_LIFETIME_S after its last sign of life. RunInstances wants UTC
``yyyy-MM-ddTHH:mm:ssZ``, at least 30 minutes ahead and at most 3 years (docs/cloud-contracts.md).
"""
import calendar
import time
from typing import Optional

from .common import Ports

HOST_LIFETIME_S = 6 * 3600        # longer than any single wait loop of the flow with the host alive
EXTEND_BELOW_S = 2 * 3600         # push it forward once less than this is left
MIN_AHEAD_S = 35 * 60             # RunInstances refuses less than 30 minutes ahead (5 minutes of margin)
KEEPALIVE = "launch_repair_instance.keepalive"


def release_time(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch_s)))


def parse_release_time(text: str) -> Optional[float]:
    try:
        return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))
    except (TypeError, ValueError):
        return None


def still_valid(planned: str, now_s: float) -> bool:
    """Can a (retried) RunInstances still send this time?"""
    when = parse_release_time(planned)
    return when is not None and when - now_s >= MIN_AHEAD_S


def keep_alive(ports: Ports, execution, instance_id: str, current: str) -> str:
    """Push the host's AutoReleaseTime forward when less than EXTEND_BELOW_S is left; -> the time in
    force. Recorded on the execution so the next look starts from it (ModifyInstanceAutoReleaseTime
    is idempotent: the same time sent twice is harmless)."""
    recorded = execution.steps.get(KEEPALIVE)
    if recorded is not None:
        current = recorded.result.get("autoReleaseTime") or current
    now = ports.clock()
    when = parse_release_time(current)
    if when is not None and when - now >= EXTEND_BELOW_S:
        return current
    extended = release_time(now + HOST_LIFETIME_S)
    ports.ecs.set_auto_release_time(instance_id, extended)
    ports.store.record_step_result(execution.execution_id, KEEPALIVE, {"autoReleaseTime": extended})
    ports.say("repair host %s: AutoReleaseTime moved to %s" % (instance_id, extended))
    return extended
