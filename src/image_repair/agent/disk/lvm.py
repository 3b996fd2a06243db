"""LVM2 read straight from a physical volume, and LVs mapped without activating any VG.

Activating the guest's volume group on the repair host would clash with a host VG of the same
name (every "centos"/"rhel" image has one), so the agent never runs vgchange: it reads the PV's
label and text metadata itself and maps each LV by a private device-mapper table (hosts with
device-mapper) or, without device-mapper, by an offset loop device for single-segment linear LVs.
"""
import os
import re
import struct

from .. import runner
from ..errors import AgentError, BadInput

SECTOR = 512
LABEL_ID = b"LABELONE"
LABEL_TYPE = b"LVM2 001"
MDA_MAGIC = b" LVM2 x[5A%r0N*>"
MDA_HEADER_SIZE = 512


class LvmError(BadInput):
    """Unreadable or unsupported LVM metadata."""


class PhysicalVolume(object):
    def __init__(self, uuid, device_size, data_areas, metadata_areas):
        self.uuid = uuid                      # 32 characters, no dashes
        self.device_size = device_size
        self.data_areas = data_areas          # [(offset, size)] in bytes
        self.metadata_areas = metadata_areas  # [(offset, size)] in bytes


class Segment(object):
    def __init__(self, start_extent, extent_count, seg_type, stripes, stripe_size=0):
        self.start_extent = start_extent    # first LV extent of this segment
        self.extent_count = extent_count
        self.type = seg_type                # "striped" (linear = 1 stripe), "thin", "raid1"...
        self.stripes = stripes              # [(pv name in the metadata, first extent on that PV)]
        self.stripe_size = stripe_size      # sectors, for stripe_count > 1


class LogicalVolume(object):
    def __init__(self, vg, name, segments, visible):
        self.vg = vg
        self.name = name
        self.segments = segments
        self.visible = visible

    @property
    def full_name(self):
        return "%s/%s" % (self.vg.name, self.name)

    def is_single_linear(self):
        return (len(self.segments) == 1 and self.segments[0].type == "striped"
                and len(self.segments[0].stripes) == 1)


class VolumeGroup(object):
    def __init__(self, name, extent_size, pvs, lvs, seqno):
        self.name = name
        self.extent_size = extent_size  # sectors
        self.pvs = pvs                  # {metadata name "pv0": {"id": uuid without dashes, "pe_start": sectors}}
        self.lvs = lvs                  # [LogicalVolume]
        self.seqno = seqno

    def lv(self, name):
        for lv in self.lvs:
            if lv.name == name:
                return lv
        return None


# -- on-disk structures ------------------------------------------------------------------------
def _read_at(path, offset, length):
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read(length)


def _disk_locations(data, offset):
    """A zero-terminated list of (offset, size) pairs in the PV header."""
    areas = []
    while offset + 16 <= len(data):
        area_offset, area_size = struct.unpack("<QQ", data[offset:offset + 16])
        offset += 16
        if area_offset == 0:
            break
        areas.append((area_offset, area_size))
    return areas, offset


def read_pv_label(path, base=0):
    """The PV header of the PV at byte ``base`` of ``path``, or None when there is no LVM2 label
    in its first four sectors."""
    head = _read_at(path, base, 4 * SECTOR)
    for sector in range(4):
        label = head[sector * SECTOR:(sector + 1) * SECTOR]
        if label[:8] != LABEL_ID:
            continue
        if label[24:32] != LABEL_TYPE:
            raise LvmError("%s: LVM label of unsupported type %r" % (path, label[24:32]))
        content_offset = struct.unpack("<I", label[20:24])[0]
        pv = label[content_offset:]
        uuid = pv[:32].decode("ascii", "replace")
        device_size = struct.unpack("<Q", pv[32:40])[0]
        data_areas, next_offset = _disk_locations(pv, 40)
        metadata_areas, _ = _disk_locations(pv, next_offset)
        return PhysicalVolume(uuid, device_size, data_areas, metadata_areas)
    return None


def read_metadata_text(path, pv, base=0):
    """The current text metadata of ``pv`` (from its first metadata area holding any)."""
    for mda_offset, mda_size in pv.metadata_areas:
        header = _read_at(path, base + mda_offset, MDA_HEADER_SIZE)
        if header[4:20] != MDA_MAGIC:
            raise LvmError("%s: bad LVM metadata area header at byte %d" % (path, mda_offset))
        text_offset, text_size = struct.unpack("<QQ", header[40:56])
        if not text_size:
            continue
        if text_offset + text_size <= mda_size:
            raw = _read_at(path, base + mda_offset + text_offset, text_size)
        else:
            # The metadata area is a ring buffer after its header: the text wraps to its start.
            first = mda_size - text_offset
            raw = (_read_at(path, base + mda_offset + text_offset, first)
                   + _read_at(path, base + mda_offset + MDA_HEADER_SIZE, text_size - first))
        return raw.rstrip(b"\0").decode("utf-8", "replace")
    raise LvmError("%s: the LVM physical volume has no metadata" % path)


# -- the text format ---------------------------------------------------------------------------
_TOKEN = re.compile(r'\s+|#[^\n]*|"(?:[^"\\]|\\.)*"|[{}\[\]=,]|[^\s{}\[\]=,"#]+')


def _tokens(text):
    position = 0
    for match in _TOKEN.finditer(text):
        if match.start() != position:  # only an unterminated string matches no alternative
            raise LvmError("unterminated string in LVM metadata near %r" % text[position:position + 40])
        position = match.end()
        token = match.group(0)
        if token[0].isspace() or token[0] == "#":
            continue
        yield token
    if position != len(text):
        raise LvmError("unterminated string in LVM metadata near %r" % text[position:position + 40])


def _value(token):
    if token.startswith('"'):
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    if re.match(r"^-?\d+$", token):
        return int(token)
    if re.match(r"^-?\d+\.\d+$", token):
        return float(token)
    return token


def parse_metadata(text):
    """Parse LVM2's text metadata (sections ``name { ... }``, ``key = value`` with strings,
    numbers and ``[lists]``) into nested dicts."""
    tokens = list(_tokens(text))
    position = [0]

    def take():
        if position[0] >= len(tokens):
            raise LvmError("LVM metadata ends unexpectedly")
        token = tokens[position[0]]
        position[0] += 1
        return token

    def section(closing):
        result = {}
        while position[0] < len(tokens):
            key = take()
            if key == "}":
                if closing:
                    return result
                raise LvmError("unbalanced '}' in LVM metadata")
            nxt = take()
            if nxt == "{":
                result[key] = section(True)
            elif nxt == "=":
                value = take()
                if value == "[":
                    items = []
                    while True:
                        item = take()
                        if item == "]":
                            break
                        if item != ",":
                            items.append(_value(item))
                    result[key] = items
                else:
                    result[key] = _value(value)
            else:
                raise LvmError("unexpected %r after %r in LVM metadata" % (nxt, key))
        if closing:
            raise LvmError("LVM metadata ends inside a section")
        return result

    return section(False)


def volume_groups(metadata):
    """The VGs in parsed metadata (normally one)."""
    groups = []
    for name, body in sorted(metadata.items()):
        if not isinstance(body, dict) or "extent_size" not in body:
            continue
        pvs = {}
        for pv_name, pv in body.get("physical_volumes", {}).items():
            pvs[pv_name] = {"id": str(pv.get("id", "")).replace("-", ""), "pe_start": int(pv.get("pe_start", 0))}
        vg = VolumeGroup(name, int(body["extent_size"]), pvs, [], body.get("seqno"))
        for lv_name, lv in sorted(body.get("logical_volumes", {}).items()):
            segments = []
            for index in range(1, int(lv.get("segment_count", 0)) + 1):
                seg = lv.get("segment%d" % index, {})
                raw = seg.get("stripes", [])
                stripes = [(raw[i], int(raw[i + 1])) for i in range(0, len(raw) - 1, 2)]
                segments.append(Segment(int(seg.get("start_extent", 0)), int(seg.get("extent_count", 0)),
                                        seg.get("type", "?"), stripes, int(seg.get("stripe_size", 0))))
            vg.lvs.append(LogicalVolume(vg, lv_name, segments, "VISIBLE" in lv.get("status", [])))
        groups.append(vg)
    return groups


def read_pv(path, base=0):
    """(PhysicalVolume, [VolumeGroup]) of the PV at byte ``base`` of ``path``, or None."""
    pv = read_pv_label(path, base)
    if pv is None:
        return None
    return pv, volume_groups(parse_metadata(read_metadata_text(path, pv, base)))


# -- mapping LVs -------------------------------------------------------------------------------
def has_device_mapper():
    if not os.path.exists("/dev/mapper/control") or not runner.which("dmsetup"):
        return False
    status, _ = runner.run(["dmsetup", "version"], check=False)
    return status == 0


def dm_name(vg, lv):
    """A private, unique device-mapper name: never the host's vg-lv name."""
    return re.sub(r"[^A-Za-z0-9_+.-]", "_", "imgrepair-%s-%s-%d" % (vg, lv, os.getpid()))


def dm_table(lv, pv_locations):
    """The device-mapper table of ``lv``. ``pv_locations`` maps metadata PV names ("pv0") to
    (host device, sector where that PV starts on it): the table points at the whole disk, so no
    device is ever made for the PV itself (udev would offer it to the host's LVM to activate).
    Raises LvmError for segment types (thin, raid, cache...) the agent does not map."""
    lines = []
    extent = lv.vg.extent_size
    for segment in lv.segments:
        if segment.type != "striped" or not segment.stripes:
            raise LvmError("%s: segment type %r is not supported" % (lv.full_name, segment.type))
        targets = []
        for pv_name, pv_extent in segment.stripes:
            if pv_name not in pv_locations:
                raise LvmError("%s: physical volume %s of this LV is not on the disk" % (lv.full_name, pv_name))
            device, pv_start = pv_locations[pv_name]
            targets.append("%s %d" % (device, pv_start + lv.vg.pvs[pv_name]["pe_start"] + pv_extent * extent))
        start, length = segment.start_extent * extent, segment.extent_count * extent
        if len(targets) == 1:
            lines.append("%d %d linear %s" % (start, length, targets[0]))
        else:
            lines.append("%d %d striped %d %d %s" % (start, length, len(targets), segment.stripe_size,
                                                     " ".join(targets)))
    return "\n".join(lines) + "\n"


def linear_range(lv):
    """(pv name, byte offset in the PV, byte size) of a single-segment linear LV, for an offset loop
    device on hosts without device-mapper; LvmError for anything else."""
    if not lv.is_single_linear():
        raise LvmError("%s needs device-mapper (%d segments, type %s) and this host has none; only "
                       "single-segment linear LVs can be mapped by a loop device here"
                       % (lv.full_name, len(lv.segments), lv.segments[0].type if lv.segments else "none"))
    segment = lv.segments[0]
    pv_name, pv_extent = segment.stripes[0]
    if pv_name not in lv.vg.pvs:
        raise LvmError("%s: unknown physical volume %s" % (lv.full_name, pv_name))
    extent = lv.vg.extent_size
    offset = (lv.vg.pvs[pv_name]["pe_start"] + pv_extent * extent) * SECTOR
    return pv_name, offset, segment.extent_count * extent * SECTOR


def create_dm_mapping(stack, lv, pv_locations, read_only):
    """Create the private dm device of ``lv`` and register its removal; returns /dev/mapper/NAME."""
    name = dm_name(lv.vg.name, lv.name)
    argv = ["dmsetup", "create", name] + (["--readonly"] if read_only else [])
    runner.run(argv, input_text=dm_table(lv, pv_locations))
    stack.push("dm mapping %s" % name, lambda: runner.run(["dmsetup", "remove", "--retry", name]))
    runner.run(["dmsetup", "mknodes", name], check=False)  # without udev, dmsetup makes the node
    path = "/dev/mapper/" + name
    if not os.path.exists(path):
        raise AgentError("device-mapper created %s but %s did not appear" % (name, path))
    return path
