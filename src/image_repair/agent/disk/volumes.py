"""The guest disk's volumes: partitions and LVM logical volumes, each with a host device.

Partitions are probed in place (blkid at an offset) and get an offset loop device only when they
hold something (a filesystem or swap); LVM physical volumes are read by :mod:`.lvm` and their
LVs mapped without activating the VG.
"""
from .. import log
from ..errors import AgentError
from . import lvm
from .mounts import probe
from .partitions import MBR_EXTENDED_TYPES

LVM_MEMBER = "LVM2_member"


class Volume(object):
    """One filesystem (or swap) of the guest disk, as mapped on the host."""

    def __init__(self, device, fstype, uuid=None, label=None, partition=None, partuuid=None,
                 partlabel=None, lvm_name=None):
        self.device = device        # host block device (/dev/loop4, /dev/mapper/imgrepair-...)
        self.fstype = fstype
        self.uuid = uuid
        self.label = label
        self.partition = partition  # Partition, or None (whole disk, LV)
        self.partuuid = partuuid
        self.partlabel = partlabel
        self.lvm = lvm_name         # "vg/lv" or None

    @property
    def number(self):
        return self.partition.number if self.partition else None

    def where(self):
        """Where it is, for messages and the layout summary."""
        if self.lvm:
            return "LV %s" % self.lvm
        if self.partition:
            return "partition %d" % self.partition.number
        return "the whole disk"


def _from_probe(device, info, partition=None, lvm_name=None):
    return Volume(device, info.get("TYPE"), info.get("UUID"), info.get("LABEL"), partition,
                  partition.partuuid if partition else None, partition.name if partition else None, lvm_name)


def discover(stack, backing, table, disk_device, read_only, use_device_mapper=None, partition_nodes=None):
    """Map the volumes of the disk ``backing`` (raw file or block device) whose partition table is
    ``table``. ``partition_nodes`` ({(start, size): "/dev/vdb1"}) are the kernel's own partition
    devices, used where they match the table. Returns (volumes, problems): problems are LVs that
    could not be mapped, with why."""
    volumes = []
    problems = []
    if table.kind == "none":
        info = probe(disk_device)
        if info.get("TYPE") == LVM_MEMBER:
            return _map_lvm(stack, backing, disk_device, [0], read_only, use_device_mapper)
        if info.get("TYPE"):
            volumes.append(_from_probe(disk_device, info))
        return volumes, problems
    pvs = []
    for partition in table.partitions:
        if partition.type in ["0x%02x" % t for t in MBR_EXTENDED_TYPES] or not partition.size:
            continue
        info = probe(backing, partition.start, partition.size)
        if not info.get("TYPE"):
            continue
        if info["TYPE"] == LVM_MEMBER:
            # no device for a PV: udev would hand it to the host's LVM to autoactivate
            pvs.append(partition.start)
            continue
        device = (partition_nodes or {}).get((partition.start, partition.size))
        if device is None:
            device = stack.attach_loop(backing, partition.start, partition.size, read_only)
        volumes.append(_from_probe(device, info, partition))
    if pvs:
        lv_volumes, problems = _map_lvm(stack, backing, disk_device, pvs, read_only, use_device_mapper)
        volumes.extend(lv_volumes)
    return volumes, problems


def _map_lvm(stack, backing, disk_device, pv_offsets, read_only, use_device_mapper):
    """Map every visible LV of the VGs whose PVs start at ``pv_offsets`` (bytes) on the disk.

    A VG is identified by the PV UUIDs read from this disk, never by name, so a host VG of the
    same name is irrelevant. LVs are mapped straight from the disk: a dm table on
    ``disk_device``, or an offset loop device on ``backing``."""
    if use_device_mapper is None:
        use_device_mapper = lvm.has_device_mapper()
    offset_of = {}  # PV uuid -> byte offset of the PV on the disk
    groups = {}     # vg name -> newest VolumeGroup seen on this disk
    for offset in pv_offsets:
        found = lvm.read_pv(backing, offset)
        if found is None:
            continue
        pv, vgs = found
        offset_of[pv.uuid] = offset
        for vg in vgs:
            if vg.name not in groups or (vg.seqno or 0) > (groups[vg.name].seqno or 0):
                groups[vg.name] = vg
    volumes, problems = [], []
    for vg in groups.values():
        here = dict((name, offset_of[pv["id"]]) for name, pv in vg.pvs.items() if pv["id"] in offset_of)
        for lv in vg.lvs:
            if not lv.visible:
                continue
            try:
                device = _map_lv(stack, backing, disk_device, lv, here, read_only, use_device_mapper)
            except AgentError as error:
                log.warn("LV %s not mapped: %s", lv.full_name, error)
                problems.append("%s: %s" % (lv.full_name, error))
                continue
            info = probe(device)
            if info.get("TYPE"):
                volumes.append(_from_probe(device, info, lvm_name=lv.full_name))
    return volumes, problems


def _map_lv(stack, backing, disk_device, lv, here, read_only, use_device_mapper):
    """Host device of ``lv``; ``here`` maps its VG's PV names to their byte offsets on the disk."""
    if use_device_mapper:
        locations = dict((name, (disk_device, offset // lvm.SECTOR)) for name, offset in here.items())
        return lvm.create_dm_mapping(stack, lv, locations, read_only)
    pv_name, offset, size = lvm.linear_range(lv)
    if pv_name not in here:
        raise lvm.LvmError("its physical volume %s is not on this disk" % pv_name)
    return stack.attach_loop(backing, here[pv_name] + offset, size, read_only)
