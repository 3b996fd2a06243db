"""DescribeInstanceTypes on the wire (typed: models/instance_types.py): the seeded types, with
the two facts a repair-host pool sizes itself by (issue 13): ``CpuCoreCount`` and ``DiskQuantity``."""
from ..params import Params
from . import api

class InstanceTypeResponses:

    @api
    def DescribeInstanceTypes(self, p: Params) -> dict:
        """``InstanceTypes.N`` filters (up to 10); every seeded type without it."""
        rows = self.backend.describe_instance_types(p.list("InstanceTypes", limit=10))
        return {"InstanceTypes": {"InstanceType": [
            {"InstanceTypeId": row.name, "CpuCoreCount": row.vcpus, "DiskQuantity": row.disk_quantity} for row in rows]}}
