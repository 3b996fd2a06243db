"""DescribeInstanceTypes on the wire: the seeded types, with the two facts a repair-host pool
sizes itself by (issue 13): ``CpuCoreCount`` and ``DiskQuantity``.

vCPUs follow ECS's documented naming of instance type sizes (the "Instance type naming" page of
the ECS docs: ``large`` 2 vCPUs, ``xlarge`` 4, ``<n>xlarge`` 4n; ``small`` 1, ``medium`` 1 is
not used by current families); a type whose size the rule cannot read is refused by the seed."""
import re

from ..params import Params
from . import api

SIZE_VCPUS = {"small": 1, "large": 2, "xlarge": 4}
SIZED = re.compile(r"^ecs\.[a-z0-9-]+\.(?:(\d+)xlarge|(small|large|xlarge))$")


def vcpus(instance_type: str) -> int:
    """The vCPUs an instance type's name says it has (ValueError when it says nothing)."""
    match = SIZED.match(instance_type)
    if match is None:
        raise ValueError("instance type %r: no size the naming rule reads (large, xlarge, <n>xlarge)" % instance_type)
    return 4 * int(match.group(1)) if match.group(1) else SIZE_VCPUS[match.group(2)]


class InstanceTypeResponses:

    @api
    def DescribeInstanceTypes(self, p: Params) -> dict:
        """``InstanceTypes.N`` filters (up to 10); every seeded type without it."""
        wanted = p.list("InstanceTypes", limit=10)
        network = self.backend.network
        names = [t for t in network.instance_types if not wanted or t in wanted]
        rows = [{"InstanceTypeId": name, "CpuCoreCount": vcpus(name),
                 "DiskQuantity": network.disks_per_instance(name)} for name in names]
        return {"InstanceTypes": {"InstanceType": rows}}
