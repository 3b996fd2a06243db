"""Images: describe, create (from snapshots), modify, delete; the image check is scheduled when
an image created with DetectionStrategy=Standard becomes Available (EcsBackend._settle_image)."""
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from ..errors import error, invalid, missing
from ..resources import DiskMapping, Image
from . import check_tags, lookup, operation, tag_dict, tag_filter

# CreateImage's Platform values (DescribeImages may report others, e.g. "Red Hat").
CREATE_PLATFORMS = ["Aliyun", "Anolis", "CentOS", "Ubuntu", "SUSE", "Debian", "OpenSUSE",
                    "RedHat", "Kylin", "UOS", "Fedora", "CentOS Stream", "AlmaLinux",
                    "Rocky Linux", "Customized Linux", "Others Linux", "Gentoo", "FreeBSD",
                    "CoreOS", "Windows Server 2012", "Windows Server 2016", "Windows Server 2019",
                    "Windows Server 2022"]
ARCHITECTURES = ["i386", "x86_64", "arm64"]
# Assumption (unverified): without Status, a query by ImageId returns the image in any status
# (pollers see Creating), a query without ImageId only Available ones.
ANY_STATUS = {"Creating", "Available", "UnAvailable", "CreateFailed", "Deprecated"}


@dataclass
class MappingRequest:
    """One CreateImage DiskDeviceMapping: a snapshot, or a size (GiB) for an empty disk."""
    snapshot_id: Optional[str] = None
    size: Optional[int] = None
    disk_type: Optional[str] = None  # system | data; by default the first is the system disk
    device: Optional[str] = None


class ImageBackend:

    def image(self, image_id: str) -> Image:
        return lookup(self.images, image_id, "InvalidImageId.NotFound")

    @operation
    def describe_images(self, image_ids: Sequence[str] = (), statuses: Optional[Set[str]] = None,
                        owner: Optional[str] = None, name: Optional[str] = None,
                        architecture: Optional[str] = None, snapshot_id: Optional[str] = None,
                        os_type: Optional[str] = None, tags: Iterable[Tuple[str, str]] = (),
                        dry_run: bool = False) -> List[Image]:
        """Images matching every filter given, in one pass, cheapest tests first. ``statuses``
        defaults to any status with ``image_ids``, else Available only (ANY_STATUS)."""
        wanted_tags = check_tags(tags)
        if statuses is None:
            statuses = ANY_STATUS if image_ids else {"Available"}
        candidates = [self.images[i] for i in image_ids if i in self.images] if image_ids else self.images.values()
        images: List[Image] = []
        for image in candidates:
            if ((owner and image.owner != owner) or (os_type and image.os_type != os_type)
                    or (name and image.name != name) or (architecture and image.architecture != architecture)):
                continue
            status = "Deprecated" if image.deprecated and image.status == "Available" else image.status
            if (status not in statuses
                    or (snapshot_id and snapshot_id not in [m.snapshot_id for m in image.mappings])
                    or (wanted_tags and not tag_filter(image.tags, wanted_tags))):
                continue
            images.append(image)
        if dry_run:
            raise error("DryRunOperation")
        return images

    @operation
    def create_image(self, snapshot_id: Optional[str] = None, mappings: Sequence[MappingRequest] = (),
                     name: Optional[str] = None, platform: str = "Others Linux", architecture: str = "x86_64",
                     boot_mode: str = "BIOS", nvme_support: str = "unsupported",
                     detection_strategy: Optional[str] = None, description: str = "", family: str = "",
                     tags: Optional[Dict[str, str]] = None, dry_run: bool = False) -> Image:
        """A custom image from an accomplished snapshot (its system disk), or from ``mappings``
        (one system disk, first; data disks kept). Creating, then Available on the clock; with
        ``detection_strategy="Standard"`` the image check follows."""
        disks = self._image_mappings(snapshot_id, mappings)
        if platform not in CREATE_PLATFORMS:
            raise error("InvalidPlatform.Malformed", "Platform %r." % platform)
        if architecture not in ARCHITECTURES:
            raise error("InvalidArchitecture.Malformed")
        if name and any(i.name == name and i.owner == "self" for i in self.images.values()):
            raise error("InvalidImageName.Duplicated")
        tags = tag_dict(tags)
        if dry_run:
            raise error("DryRunOperation")
        image_id = self.new_id("m-")
        size = sum(m.size for m in disks)
        image = Image(id=image_id, name=name or image_id, owner="self", platform=platform,
                      os_name=description or platform, architecture=architecture,
                      boot_mode=boot_mode, size=disks[0].size,
                      progress=self.new_progress("image.create", [self.latency.image_seconds(size)], image_id),
                      created=self.clock.now(), mappings=disks, detection_strategy=detection_strategy,
                      description=description, family=family, nvme_support=nvme_support, tags=tags)
        self.images[image_id] = image
        self._settle_image(image, self.clock.now())
        return image

    def _image_mappings(self, snapshot_id: Optional[str], requests: Sequence[MappingRequest]) -> List[DiskMapping]:
        if not requests:
            if snapshot_id is None:
                raise missing("SnapshotId")
            requests = [MappingRequest(snapshot_id=snapshot_id, disk_type="system")]
        mappings = []
        for index, request in enumerate(requests):
            disk_type = request.disk_type or ("system" if index == 0 else "data")
            size = request.size
            if request.snapshot_id:
                snap = self.snapshot(request.snapshot_id)
                if snap.status != "accomplished":
                    raise error("InvalidSnapshotId.NotReady")
                size = max(size or 0, snap.size)
            elif size is None:
                raise missing("DiskDeviceMapping.%d.Size" % (index + 1))
            device = request.device or "/dev/xvd%s" % "abcdefghijklmnopqrstuvwxyz"[index]
            mappings.append(DiskMapping(disk_type, size, request.snapshot_id, device))
        if [m.type for m in mappings].count("system") != 1 or mappings[0].type != "system":
            raise invalid("DiskDeviceMapping", "Exactly one system disk, first.")
        return mappings

    @operation
    def modify_image_attribute(self, image_id: str, name: Optional[str] = None,
                               description: Optional[str] = None, family: Optional[str] = None,
                               nvme_support: Optional[str] = None, boot_mode: Optional[str] = None,
                               deprecated: Optional[bool] = None, dry_run: bool = False) -> Image:
        """Change what is given (None: unchanged) on a custom image."""
        image = self.image(image_id)
        if image.owner != "self":
            raise error("InvalidImageId.NotFound")
        if dry_run:
            raise error("DryRunOperation")
        image.name = name or image.name
        image.description = description or image.description
        image.family = family or image.family
        image.nvme_support = nvme_support or image.nvme_support
        image.boot_mode = boot_mode or image.boot_mode
        if deprecated is not None:
            image.deprecated = deprecated
        return image

    @operation
    def delete_image(self, image_id: str, dry_run: bool = False) -> None:
        image = self.image(image_id)
        if image.owner != "self":
            raise error("IncorrectImageStatus", "Only custom images can be deleted.")
        if dry_run:
            raise error("DryRunOperation")
        del self.images[image.id]
