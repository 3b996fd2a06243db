"""CreateDisk and AttachDisk on the wire (typed methods: models/disks.py; DetachDisk and
DeleteDisk: actions/storage.py)."""
from ..errors import invalid
from ..params import Params
from . import api


class DiskResponses:

    @api
    def CreateDisk(self, p: Params) -> dict:
        """ClientToken idempotency is the dispatcher's (dispatch.TOKEN_ACTIONS)."""
        p.str("RegionId", required=True)
        disk = self.backend.create_disk(
            zone_id=p.str("ZoneId"), snapshot_id=p.str("SnapshotId"), size=p.int("Size", low=1, high=65536),
            category=p.str("DiskCategory", default="cloud"), name=p.str("DiskName", default=""),
            description=p.str("Description", default=""), performance_level=p.str("PerformanceLevel"),
            instance_id=p.str("InstanceId"), tags=dict(p.tags()))     # no DryRun in CreateDisk
        return {"DiskId": disk.id}     # OrderId: only for a subscription disk (not emulated)

    @api
    def AttachDisk(self, p: Params) -> dict:
        """As a data disk (``Bootable``, attaching a system disk back to its instance, is not
        emulated: refused loudly)."""
        if p.bool("Bootable"):
            raise invalid("Bootable", "The emulator does not model attaching a system disk.")
        self.backend.attach_disk(p.str("InstanceId", required=True), p.str("DiskId", required=True),
                                 delete_with_instance=p.bool("DeleteWithInstance", default=False))
        return {}
