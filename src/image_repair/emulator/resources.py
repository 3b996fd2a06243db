"""The emulator's resource models. Statuses live in a ``Progress`` (clock.py) so that every
change is a scheduled step; wire shapes are rendered by the action modules."""
import time
import uuid
import random
import string
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from ..agent.progress import parse_line as parse_progress_line
from .clock import Progress

_ALNUM = string.ascii_lowercase + string.digits

# What follows the type prefix ("i-", "d-", "s-", "m-", ...) of an ECS resource ID names the
# region the resource lives in: the same three characters for every resource type there. Only
# regions whose code is shown by Alibaba's own documentation or SDK examples are listed (sources:
# docs/cloud-contracts.md, "The emulator as the gateway"); any other region gets an ID of the same length
# with no region code, so nothing can come to rely on a made-up one.
ECS_REGION_CODES = {
    "cn-hangzhou": "bp1",
    "cn-beijing": "2ze",
    "cn-shanghai": "uf6",
    "ap-southeast-1": "t4n",
}
# Cloud Assistant names its command and invocation IDs ("c-", "t-") after the region's city
# instead (RunCommand and DescribeInvocations examples: c-hz0jdfwcsr****, t-hz0jdfwd9f****).
CLOUD_ASSISTANT_PREFIXES = ("c-", "t-")
CLOUD_ASSISTANT_REGION_CODES = {"cn-hangzhou": "hz0"}
ECS_ID_LENGTH = 20  # characters after the type prefix, e.g. i-bp1 + 17
CLOUD_ASSISTANT_ID_LENGTH = 14  # e.g. t-hz0 + 11


def new_id(prefix: str, rng: random.Random, region: str = "cn-hangzhou") -> str:
    """A new resource ID shaped like the region's real ones: ``prefix`` (``"i-"``, ``"d-"``...),
    the region's code where it is documented, then random lowercase alphanumerics."""
    if prefix in CLOUD_ASSISTANT_PREFIXES:
        code, length = CLOUD_ASSISTANT_REGION_CODES.get(region, ""), CLOUD_ASSISTANT_ID_LENGTH
    else:
        code, length = ECS_REGION_CODES.get(region, ""), ECS_ID_LENGTH
    return prefix + code + "".join(rng.choice(_ALNUM) for _ in range(length - len(code)))


def request_id() -> str:
    return str(uuid.uuid4()).upper()


def iso(epoch: float) -> str:
    """ECS timestamps: UTC, minute or second precision, ``Z`` suffix."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def tag_shape(tags: Dict[str, str]) -> dict:
    return {"Tag": [{"TagKey": k, "TagValue": v} for k, v in tags.items()]}


@dataclass
class CheckItem:
    """One DetectionOptions item: Name, Value, and RiskLevel/RiskCode only when at risk."""
    name: str
    value: str
    risk_level: Optional[str] = None
    risk_code: Optional[str] = None

    def shape(self) -> dict:
        out = {"Name": self.name, "Value": self.value}
        if self.risk_level:
            out["RiskLevel"] = self.risk_level
        if self.risk_code:
            out["RiskCode"] = self.risk_code
        return out


@dataclass
class DiskMapping:
    type: str  # system | data
    size: int  # GiB
    snapshot_id: Optional[str]
    device: str


@dataclass
class Image:
    id: str
    name: str
    owner: str  # system | self | others | marketplace
    platform: str
    os_name: str
    architecture: str
    boot_mode: str
    size: int
    progress: Progress
    created: float
    mappings: List[DiskMapping] = field(default_factory=list)
    check: Progress = field(default_factory=lambda: Progress("", 0.0))
    check_items: List[CheckItem] = field(default_factory=list)
    detection_strategy: Optional[str] = None
    description: str = ""
    family: str = ""
    nvme_support: str = "unsupported"
    cloud_assistant: bool = True
    tags: Dict[str, str] = field(default_factory=dict)
    deprecated: bool = False
    os_type: str = "linux"  # linux | windows
    encrypted: bool = False  # its snapshots are encrypted

    @property
    def status(self) -> str:
        return self.progress.status


@dataclass
class Disk:
    id: str
    name: str
    type: str  # system | data
    category: str
    size: int
    zone: str
    progress: Progress
    created: float
    instance_id: Optional[str] = None
    device: str = ""
    source_snapshot_id: Optional[str] = None
    image_id: Optional[str] = None
    delete_with_instance: bool = True
    tags: Dict[str, str] = field(default_factory=dict)
    backing_file: Optional[str] = None  # disk-backed mode
    description: str = ""
    detached: Optional[float] = None  # when it last became Available off an instance (DetachedTime)
    # GiB of data written (a disk made from a snapshot: the snapshot's); None: the whole size.
    data_gib: Optional[float] = None
    # Ever attached to an instance: a disk made by CreateDisk is not until AttachDisk (CreateSnapshot
    # refuses a disk that never was); the disks RunInstances makes are.
    attached_once: bool = True
    attached: Optional[float] = None  # when AttachDisk last put it on an instance (None: at creation)

    @property
    def status(self) -> str:
        return self.progress.status

    def written_gib(self) -> float:
        """What a first (full) snapshot of this disk copies: ECS copies the data written, not the
        disk's size (CreateSnapshot: "varies depending on actual volume to be copied")."""
        return float(self.size if self.data_gib is None else min(self.data_gib, self.size))

    @property
    def serial(self) -> str:
        # What the guest sees in /sys/block/vdX/serial: the disk ID without its "d-" prefix.
        return self.id[2:]


@dataclass
class Snapshot:
    id: str
    name: str
    disk_id: Optional[str]
    disk_type: str  # System | Data
    size: int
    progress: Progress
    created: float
    retention_days: Optional[int] = None
    description: str = ""
    tags: Dict[str, str] = field(default_factory=dict)
    backing_file: Optional[str] = None
    data_gib: Optional[float] = None  # GiB of data it holds (None: its whole size)

    @property
    def status(self) -> str:
        return self.progress.status


@dataclass
class Instance:
    id: str
    name: str
    image_id: str
    instance_type: str
    zone: str
    vswitch_id: str
    vpc_id: str
    security_group_ids: List[str]
    private_ip: str
    progress: Progress
    created: float
    charge_type: str = "PostPaid"
    auto_release_time: Optional[str] = None
    cloud_assistant: bool = True
    tags: Dict[str, str] = field(default_factory=dict)
    files: Dict[str, bytes] = field(default_factory=dict)  # SendFile deliveries

    @property
    def status(self) -> str:
        return self.progress.status


@dataclass
class Command:
    id: str  # c-... or the public command's name
    name: str
    type: str
    content: str  # plain text
    public: bool = False
    parameter_names: List[str] = field(default_factory=list)
    enable_parameter: bool = False
    timeout: int = 60
    # Seeded behaviour: what the command "does" when run without disk backing.
    exit_code: int = 0
    output: str = ""
    seconds: Optional[float] = None


@dataclass
class InvocationRecord:
    """One instance's execution of an invocation."""
    instance_id: str
    progress: Progress
    exit_code: Optional[int] = None
    output: str = ""
    error_code: str = ""
    error_info: str = ""
    final_status: str = "Success"  # what "Finished" means for this record: Success|Failed|Timeout
    start: Optional[float] = None
    finish: Optional[float] = None

    @property
    def invocation_status(self) -> str:
        status = self.progress.status
        return self.final_status if status == "Finished" else status

    def visible(self, now: float) -> Tuple[str, Optional[int], str, str]:
        """(output, exit code, error code, error info) as the API shows them at ``now``: all of
        it once Finished; while Running, the output streamed so far (running_output), no exit
        code and no error yet; before that, nothing."""
        status = self.progress.status
        if status == "Finished":
            return self.output, self.exit_code, self.error_code, self.error_info
        if status == "Running" and self.start is not None:
            return running_output(self.output, now - self.start), None, "", ""
        return "", None, "", ""


def running_output(output: str, running_s: float) -> str:
    """The part of a command's output that exists ``running_s`` seconds into its run. The
    emulator knows a command's whole output when it starts; the agent's progress lines
    (agent/progress.py) carry their own time into the run, so the lines up to the last progress
    line already due are shown, and nothing after it (the report comes last). An output without
    progress lines shows nothing until the command finishes: whether Cloud Assistant returns a
    running command's output so far is not documented, and the repair wait does not depend on it."""
    lines = output.splitlines(True)
    shown = 0
    for index, line in enumerate(lines):
        progress = parse_progress_line(line)
        if progress is None:
            continue
        if progress["elapsed"] > running_s:
            break
        shown = index + 1
    return "".join(lines[:shown])


@dataclass
class Invocation:
    id: str
    command_id: str
    command_name: str
    command_type: str
    content: str
    parameters: dict
    timeout: int
    created: float
    records: List[InvocationRecord] = field(default_factory=list)
    kind: str = "command"  # command | file
    tags: Dict[str, str] = field(default_factory=dict)

    def status(self) -> str:
        """The overall InvocationStatus over the instances' records."""
        statuses = {r.invocation_status for r in self.records}
        for pending in ("Running", "Pending"):
            if pending in statuses:
                return pending
        if statuses == {"Success"}:
            return "Success"
        if "Success" in statuses:
            return "PartialFailed"
        return "Failed"


@dataclass
class Account:
    """An AccessKey the gateway verifies signatures with, and the account it belongs to."""
    access_key_id: str
    access_key_secret: str
    account_id: str


@dataclass
class Network:
    """The seeded network the account owns: zones, VPCs' vSwitches, security groups, types."""
    zones: List[str]
    vswitches: Dict[str, dict]  # id -> {"zone":..., "vpc":..., "cidr":...}
    security_groups: Dict[str, dict]  # id -> {"vpc":...}
    instance_types: List[str]
    # DescribeInstanceTypes' DiskQuantity by type: the most disks (system disk included) one
    # instance holds; a type not listed holds DEFAULT_DISK_QUANTITY.
    disk_quantity: Dict[str, int] = field(default_factory=dict)

    def disks_per_instance(self, instance_type: str) -> int:
        return self.disk_quantity.get(instance_type, DEFAULT_DISK_QUANTITY)


# DescribeInstanceTypes' DiskQuantity example (17: a system disk and 16 data disks), the figure of
# most instance types (RunInstances: "InstanceDiskNumber.LimitExceed ... exceeds 16" data disks).
DEFAULT_DISK_QUANTITY = 17
