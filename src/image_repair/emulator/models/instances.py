"""Instances: run (with their disks), describe, reboot, delete, automatic release."""
import calendar
import time
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from ..errors import error, missing
from ..resources import Disk, Image, Instance
from . import check_tags, id_filter, lookup, operation, tag_dict, tag_filter

CATEGORIES = ["cloud", "cloud_efficiency", "cloud_ssd", "cloud_essd", "cloud_auto", "cloud_essd_entry"]


@dataclass
class DataDiskRequest:
    """One RunInstances DataDisk: from a snapshot (at least its size) or empty of ``size`` GiB."""
    snapshot_id: Optional[str] = None
    size: Optional[int] = None
    category: str = "cloud_efficiency"
    name: str = ""
    delete_with_instance: bool = True


@dataclass
class _DiskSpec:
    type: str
    size: int
    snapshot_id: Optional[str]
    category: str
    name: str
    delete_with_instance: bool


class InstanceBackend:

    def instance(self, instance_id: str, code: str = "InvalidInstanceId.NotFound") -> Instance:
        return lookup(self.instances, instance_id, code)

    @operation
    def run_instances(self, image_id: str, instance_type: str, vswitch_id: str,
                      security_group_ids: Sequence[str], zone_id: Optional[str] = None, amount: int = 1,
                      instance_name: Optional[str] = None, system_disk_category: str = "cloud_essd",
                      system_disk_size: Optional[int] = None, system_disk_name: str = "",
                      data_disks: Sequence[DataDiskRequest] = (), auto_release_time: Optional[str] = None,
                      charge_type: str = "PostPaid", tags: Optional[Dict[str, str]] = None,
                      dry_run: bool = False) -> List[Instance]:
        """``amount`` instances, each with a system disk from the image and the data disks asked
        for; every disk is tagged like its instance. Pending, Starting, then Running on the clock.
        ``auto_release_time`` is the API's UTC text (``yyyy-MM-ddTHH:mm:ssZ``)."""
        image = self.image(image_id)
        if image.status != "Available":
            raise error("InvalidImageId.NotFound", "The image is not Available.")
        if instance_type not in self.network.instance_types:
            raise error("InvalidInstanceType.ValueNotSupported")
        vswitch = self.network.vswitches.get(vswitch_id)
        if vswitch is None:
            raise error("InvalidVSwitchId.NotFound")
        zone = zone_id or vswitch["zone"]
        if zone not in self.network.zones:
            raise error("InvalidZoneId.NotFound")
        if zone != vswitch["zone"]:
            raise error("InvalidParameter.Mismatch", "Specified virtual switch is not in the specified zone.")
        for group in security_group_ids:
            if group not in self.network.security_groups:
                raise error("InvalidSecurityGroupId.NotFound")
            if self.network.security_groups[group]["vpc"] not in ("", vswitch["vpc"]):
                raise error("InvalidParameter.Mismatch",
                            "Specified security group and virtual switch are not in the same VPC.")
        if system_disk_category not in CATEGORIES:
            raise error("InvalidSystemDiskCategory.ValueNotSupported")
        system_size = max(image.size, 20) if system_disk_size is None else system_disk_size
        if system_size < image.size:
            raise error("InvalidSystemDiskSize.LessThanImageSize")
        specs = [_DiskSpec("system", system_size, None, system_disk_category, system_disk_name, True)]
        specs += [self._data_disk_spec(index, request) for index, request in enumerate(data_disks, start=1)]
        if len(specs) > self.network.disks_per_instance(instance_type):
            raise error("InstanceDiskNumber.LimitExceed")
        if auto_release_time is not None:
            self._check_release_time(auto_release_time)
        tags = tag_dict(tags)
        if dry_run:
            raise error("DryRunOperation")
        return [self._launch(image, instance_type, vswitch_id, vswitch["vpc"], zone, list(security_group_ids),
                             instance_name, auto_release_time, charge_type, tags, specs)
                for _ in range(amount)]

    def _data_written(self, spec: "_DiskSpec", image) -> Optional[float]:
        """The GiB a new disk holds: its snapshot's (the image's system snapshot for the system
        disk); None when no snapshot says (then its whole size counts)."""
        snapshot_id = spec.snapshot_id
        if spec.type == "system":
            snapshot_id = next((m.snapshot_id for m in image.mappings if m.type == "system"), None)
        snapshot = self.snapshots.get(snapshot_id) if snapshot_id else None
        return snapshot.data_gib if snapshot is not None else None

    def _data_disk_spec(self, index: int, request: DataDiskRequest) -> _DiskSpec:
        size = request.size
        if request.snapshot_id:
            snap = self.snapshots.get(request.snapshot_id)
            if snap is None:
                raise error("InvalidDataDiskSnapshotId.NotFound")
            if snap.status != "accomplished":
                raise error("InvalidSnapshotId.NotReady")
            size = max(size or 0, snap.size)
        if size is None:
            raise missing("DataDisk.%d.Size" % index)
        if request.category not in CATEGORIES:
            raise error("InvalidDataDiskCategory.ValueNotSupported")
        return _DiskSpec("data", size, request.snapshot_id, request.category, request.name,
                         request.delete_with_instance)

    def _launch(self, image: Image, instance_type: str, vswitch_id: str, vpc_id: str, zone: str,
                groups: List[str], name: Optional[str], release: Optional[str], charge_type: str,
                tags: Dict[str, str], specs: List[_DiskSpec]) -> Instance:
        lat = self.latency
        inst_id = self.new_id("i-")
        count = len(self.instances) + 10
        inst = Instance(id=inst_id, name=name or inst_id, image_id=image.id,
                        instance_type=instance_type, zone=zone, vswitch_id=vswitch_id,
                        vpc_id=vpc_id, security_group_ids=groups,
                        private_ip="172.16.%d.%d" % (count // 250, count % 250 + 2),
                        progress=self.new_progress("instance.create", [lat.instance_pending, lat.instance_starting],
                                                   inst_id),
                        created=self.clock.now(), charge_type=charge_type,
                        auto_release_time=release, cloud_assistant=image.cloud_assistant, tags=dict(tags))
        self.instances[inst_id] = inst
        for index, spec in enumerate(specs):
            disk_id = self.new_id("d-")
            self.disks[disk_id] = Disk(
                id=disk_id, name=spec.name, type=spec.type, category=spec.category,
                size=spec.size, zone=zone, created=self.clock.now(),
                progress=self.new_progress("disk.create", [lat.instance_pending], disk_id),
                instance_id=inst_id, device="/dev/xvd%s" % "abcdefghijklmnopq"[index],
                source_snapshot_id=spec.snapshot_id,
                data_gib=self._data_written(spec, image),
                image_id=image.id if spec.type == "system" else None,
                delete_with_instance=spec.delete_with_instance, tags=dict(tags))
            if self.local is not None:
                self.local.disk_created(self.disks[disk_id])
        return inst

    @operation
    def modify_instance_auto_release_time(self, instance_id: str, auto_release_time: Optional[str]) -> Instance:
        """Set (or, with None, cancel) an instance's automatic release."""
        inst = self.instance(instance_id)
        if auto_release_time:
            self._check_release_time(auto_release_time)
        inst.auto_release_time = auto_release_time or None
        return inst

    def _check_release_time(self, value: str) -> None:
        when = _release_epoch(value)
        if when is None:
            raise error("InvalidAutoReleaseTime.Malformed")
        if when < self.client_now() + 30 * 60:
            raise error("InvalidAutoReleaseTime.Malformed", "It is less than 30 minutes ahead.")

    @operation
    def describe_instances(self, instance_ids: Optional[Iterable[str]] = None, status: Optional[str] = None,
                           name: Optional[str] = None, zone_id: Optional[str] = None,
                           vswitch_id: Optional[str] = None, image_id: Optional[str] = None,
                           tags: Iterable[Tuple[str, str]] = (), dry_run: bool = False) -> List[Instance]:
        wanted_tags = check_tags(tags)
        found = [inst for inst in self.instances.values()
                 if id_filter(inst.id, instance_ids) and (not status or inst.status == status)
                 and (not name or inst.name == name) and (not zone_id or inst.zone == zone_id)
                 and (not vswitch_id or inst.vswitch_id == vswitch_id)
                 and (not image_id or inst.image_id == image_id) and tag_filter(inst.tags, wanted_tags)]
        if dry_run:
            raise error("DryRunOperation")
        return found

    @operation
    def reboot_instance(self, instance_id: str, dry_run: bool = False) -> Instance:
        inst = self.instance(instance_id)
        if inst.status != "Running":
            raise error("IncorrectInstanceStatus")
        if dry_run:
            raise error("DryRunOperation")
        lat = self.latency
        self.schedule(inst.progress, inst.id, "instance.reboot", [lat.instance_stopping, lat.instance_reboot_starting])
        return inst

    @operation
    def delete_instance(self, instance_id: str, force: bool = False, dry_run: bool = False) -> None:
        """Release an instance and its DeleteWithInstance disks; the others are detached
        (Detaching, then Available: the DeleteInstance API reference's "retained as pay-as-you-go
        disks")."""
        inst = self.instance(instance_id)
        # The ~60 s protection window after creation applies whatever Force says.
        # An instance still Pending (e.g. stuck there) is initializing too.
        if (self.clock.now() < inst.created + self.latency.delete_protection
                or inst.status == "Pending"):
            raise error("IncorrectInstanceStatus.Initializing")
        if inst.status != "Stopped" and not force:
            raise error("IncorrectInstanceStatus", "Stop the instance or set Force=true.")
        if dry_run:
            raise error("DryRunOperation")
        self._remove_instance(inst)

    def client_now(self) -> float:
        """"Now" in the frame clients compute AutoReleaseTime in: the emulator's own clock when only
        tests move it (they share it), the wall clock when it runs by itself (a client of a served
        emulator cannot see a fast clock, which runs ahead of the wall clock)."""
        return self.clock.now() if self.clock.speed == 0 else time.time()

    def release_expired_instances(self) -> None:
        """ECS releases an instance at its AutoReleaseTime (the repair host's last safety net)."""
        now = self.client_now()
        for inst in list(self.instances.values()):
            when = _release_epoch(inst.auto_release_time)
            if when is not None and when <= now:
                self._remove_instance(inst)

    def _remove_instance(self, inst: Instance) -> None:
        del self.instances[inst.id]
        for disk in [d for d in self.disks.values() if d.instance_id == inst.id]:
            if disk.delete_with_instance:
                del self.disks[disk.id]
                if self.local is not None:
                    self.local.disk_deleted(disk)
            else:               # kept: Detaching, then Available (settle_disk) with no instance
                self.detach_later(disk)


def _release_epoch(value: Optional[str]) -> Optional[float]:
    if not value:
        return None
    for layout in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%MZ"):
        try:
            return float(calendar.timegm(time.strptime(value, layout)))
        except ValueError:
            continue
    return None
