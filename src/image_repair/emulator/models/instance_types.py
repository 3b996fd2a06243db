"""DescribeInstanceTypes, typed: the seeded instance types with their vCPUs and DiskQuantity.

vCPUs follow ECS's naming of instance type sizes (the ECS docs' instance family pages: ``large``
2 vCPUs, ``xlarge`` 4, ``<n>xlarge`` 4n, ``small`` 1); DiskQuantity is the seed's figure per
type (resources.Network.disk_quantity, default 17)."""
import re
from dataclasses import dataclass
from typing import List, Optional

from . import operation

SIZE_VCPUS = {"small": 1, "large": 2, "xlarge": 4}
SIZED = re.compile(r"^ecs\.[a-z0-9-]+\.(?:(\d+)xlarge|(small|large|xlarge))$")


def vcpus(instance_type: str) -> int:
    """The vCPUs an instance type's name says it has (ValueError when it says nothing)."""
    match = SIZED.match(instance_type)
    if match is None:
        raise ValueError("instance type %r: no size the naming rule reads (large, xlarge, <n>xlarge)" % instance_type)
    return 4 * int(match.group(1)) if match.group(1) else SIZE_VCPUS[match.group(2)]


@dataclass
class InstanceType:
    name: str
    vcpus: int
    disk_quantity: int


class InstanceTypeBackend:

    @operation
    def describe_instance_types(self, instance_types: Optional[List[str]] = None) -> List[InstanceType]:
        """The seeded types (those named, when ``instance_types`` is given; an unknown name is
        simply not listed, as the API filters)."""
        names = [t for t in self.network.instance_types if not instance_types or t in instance_types]
        return [InstanceType(name, vcpus(name), self.network.disks_per_instance(name)) for name in names]
