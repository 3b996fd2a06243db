"""DescribeImages (with DetectionOptions), CreateImage, ModifyImageAttribute, DeleteImage."""
from typing import List, Optional

from ...agent.items.checknames import spelt
from ..errors import error, invalid, missing
from ..params import Params
from ..resources import DiskMapping, Image, iso, tag_shape
from . import api, paginate, tag_filter

# CreateImage's Platform values (DescribeImages may report others, e.g. "Red Hat").
CREATE_PLATFORMS = ["Aliyun", "Anolis", "CentOS", "Ubuntu", "SUSE", "Debian", "OpenSUSE",
                    "RedHat", "Kylin", "UOS", "Fedora", "CentOS Stream", "AlmaLinux",
                    "Rocky Linux", "Customized Linux", "Others Linux", "Gentoo", "FreeBSD",
                    "CoreOS", "Windows Server 2012", "Windows Server 2016", "Windows Server 2019",
                    "Windows Server 2022"]
ARCHITECTURES = ["i386", "x86_64", "arm64"]


def image_shape(image: Image, now: float, spelling: str = "prefixed") -> dict:
    """DescribeImages' Image; check item names in ``spelling`` (the seed's ``check_item_names``:
    the two spellings Alibaba's sources disagree on, agent/items/checknames.py)."""
    progress = "100%" if image.status != "Creating" else "%d%%" % int(99 * image.progress.fraction(now))
    shape = {
        "ImageId": image.id, "ImageName": image.name, "Status": image.status,
        "Progress": progress, "Architecture": image.architecture, "Platform": image.platform,
        "OSName": image.os_name, "OSNameEn": image.os_name, "OSType": image.os_type,
        "BootMode": image.boot_mode, "Size": image.size, "ImageOwnerAlias": image.owner,
        "IsPublic": image.owner in ("system", "marketplace"), "IsSelfShared": "",
        "IsSupportCloudinit": True, "IsSupportIoOptimized": True, "IsCopied": False,
        "IsSubscribed": False, "CreationTime": iso(image.created), "Description": image.description,
        "ImageFamily": image.family, "ImageVersion": "", "Usage": "none", "ImageOwnerId": 0,
        "LoginAsNonRootSupported": False, "ProductCode": "", "ResourceGroupId": "",
        "Features": {"NvmeSupport": image.nvme_support},
        "DiskDeviceMappings": {"DiskDeviceMapping": [
            {"Type": m.type, "Size": str(m.size), "SnapshotId": m.snapshot_id or "",
             "Device": m.device, "Format": "", "Progress": progress, "RemainTime": 0,
             "Encrypted": "true" if image.encrypted else "false", "ImportOSSBucket": "", "ImportOSSObject": ""}
            for m in image.mappings]},
        "Tags": tag_shape(image.tags),
    }
    if image.check.status:
        items = image.check_items if image.check.status == "Finished" else []
        shape["DetectionOptions"] = {"Status": image.check.status,
                                     "Items": {"Item": [dict(item.shape(), Name=spelt(item.name, spelling))
                                                        for item in items]}}
    else:
        shape["DetectionOptions"] = {}
    return shape


class ImageActions:

    def image(self, image_id: str) -> Image:
        image = self.images.get(image_id)
        if image is None:
            raise error("InvalidImageId.NotFound")
        return image

    @api
    def DescribeImages(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        ids = [i for i in (p.str("ImageId") or "").split(",") if i]
        # Assumption (unverified): without Status, a query by ImageId returns the image in any
        # status (pollers see Creating), a query without ImageId only Available ones.
        default_status = "Creating,Available,UnAvailable,CreateFailed,Deprecated" if ids else "Available"
        statuses = set((p.str("Status") or default_status).split(","))
        owner = p.str("ImageOwnerAlias", choices=["system", "self", "others", "marketplace"])
        name, arch, snapshot = p.str("ImageName"), p.str("Architecture"), p.str("SnapshotId")
        os_type = p.str("OSType", choices=["linux", "windows"])
        wanted_tags = p.tags()
        # A listing's first page filters every image once; its next pages reuse those matches;
        # each call shapes only its own page.
        images = self._continued_listing(p)
        if images is None:
            images = self._matching_images(ids, statuses, owner, name, arch, snapshot, os_type, wanted_tags)
            self._remember_listing(p, images)
        if p.bool("DryRun"):
            raise error("DryRunOperation")
        page, envelope = paginate(images, p, default_size=10, max_size=100)
        now = self.clock.now()
        return dict(envelope, RegionId=self.region,
                    Images={"Image": [image_shape(image, now, self.check_item_spelling) for image in page]})

    # --- listing -----------------------------------------------------------------------------------
    def _matching_images(self, ids, statuses, owner, name, arch, snapshot, os_type, wanted_tags) -> List[Image]:
        """One pass over the images, cheapest tests first."""
        candidates = [self.images[i] for i in ids if i in self.images] if ids else self.images.values()
        images: List[Image] = []
        for image in candidates:
            if ((owner and image.owner != owner) or (os_type and image.os_type != os_type)
                    or (name and image.name != name) or (arch and image.architecture != arch)):
                continue
            status = "Deprecated" if image.deprecated and image.status == "Available" else image.status
            if (status not in statuses
                    or (snapshot and snapshot not in [m.snapshot_id for m in image.mappings])
                    or (wanted_tags and not tag_filter(image.tags, wanted_tags))):
                continue
            images.append(image)
        return images

    @staticmethod
    def _listing_key(p: Params) -> tuple:
        return tuple(sorted((k, v) for k, v in p.flat.items() if k not in ("PageNumber", "PageSize")))

    def _remember_listing(self, p: Params, images: List[Image]) -> None:
        """Keep the matches for the next page of the same query, when nothing can change them on
        its own (no image or image check with a step ahead on the clock)."""
        settled = not any(i.progress.steps or i.check.steps for i in self.images.values())
        self._listing = ((self._listing_key(p), p.int("PageNumber", default=1), self.calls[-1] if self.calls else None,
                          len(self.images), images) if settled else None)

    def _continued_listing(self, p: Params) -> Optional[List[Image]]:
        """The matches of the previous call when this one asks for its next page, with no other call
        in between: paging N images costs one pass over them, not one pass per page (a sweep over
        10,000 images). Anything else (another call, another query, images added) recomputes.
        A test that changes the backend's images directly between two pages sees the old matches."""
        listing = getattr(self, "_listing", None)
        if listing is None or len(self.calls) < 2:
            return None
        key, number, record, count, images = listing
        if (key != self._listing_key(p) or p.int("PageNumber", default=1) != number + 1
                or self.calls[-2] is not record or count != len(self.images)):
            return None
        self._listing = (key, number + 1, self.calls[-1], count, images)
        return images

    @api
    def CreateImage(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        if p.str("InstanceId"):
            # Loud on purpose: the emulator does not snapshot a whole instance.
            raise invalid("InstanceId", "The emulator creates images from snapshots only.")
        mappings = self._image_mappings(p)
        platform = p.str("Platform", default="Others Linux")
        if platform not in CREATE_PLATFORMS:
            raise error("InvalidPlatform.Malformed", "Platform %r." % platform)
        arch = p.str("Architecture", default="x86_64")
        if arch not in ARCHITECTURES:
            raise error("InvalidArchitecture.Malformed")
        name = p.str("ImageName")
        if name and any(i.name == name and i.owner == "self" for i in self.images.values()):
            raise error("InvalidImageName.Duplicated")
        strategy = p.str("DetectionStrategy", choices=["Standard"])
        boot_mode = p.str("BootMode", default="BIOS", choices=["BIOS", "UEFI", "UEFI-Preferred"])
        nvme = p.str("Features.NvmeSupport", default="unsupported", choices=["supported", "unsupported", "auto"])
        tags = dict(p.tags())
        if p.bool("DryRun"):
            raise error("DryRunOperation")
        image_id = self.new_id("m-")
        system = mappings[0]
        size = sum(m.size for m in mappings)
        image = Image(id=image_id, name=name or image_id, owner="self", platform=platform,
                      os_name=p.str("Description") or platform, architecture=arch,
                      boot_mode=boot_mode, size=system.size,
                      progress=self.new_progress("image.create", [self.latency.image_seconds(size)]),
                      created=self.clock.now(), mappings=mappings, detection_strategy=strategy,
                      description=p.str("Description", default=""), family=p.str("ImageFamily", default=""),
                      nvme_support=nvme, tags=tags)
        self.images[image_id] = image
        self._settle_image(image, self.clock.now())
        return {"ImageId": image_id}

    def _image_mappings(self, p: Params) -> List[DiskMapping]:
        entries = p.objects("DiskDeviceMapping")
        if not entries:
            snapshot_id = p.str("SnapshotId")
            if snapshot_id is None:
                raise missing("SnapshotId")
            entries = [{"SnapshotId": snapshot_id, "DiskType": "system"}]
        mappings = []
        for index, entry in enumerate(entries):
            disk_type = entry.get("DiskType", "system" if index == 0 else "data")
            snapshot_id = entry.get("SnapshotId")
            size = int(entry["Size"]) if entry.get("Size") else None
            if snapshot_id:
                snap = self.snapshot(snapshot_id)
                if snap.status != "accomplished":
                    raise error("InvalidSnapshotId.NotReady")
                size = max(size or 0, snap.size)
            elif size is None:
                raise missing("DiskDeviceMapping.%d.Size" % (index + 1))
            device = entry.get("Device") or "/dev/xvd%s" % "abcdefghijklmnopqrstuvwxyz"[index]
            mappings.append(DiskMapping(disk_type, size, snapshot_id, device))
        if [m.type for m in mappings].count("system") != 1 or mappings[0].type != "system":
            raise invalid("DiskDeviceMapping", "Exactly one system disk, first.")
        return mappings

    @api
    def ModifyImageAttribute(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        image = self.image(p.str("ImageId", required=True))
        if image.owner != "self":
            raise error("InvalidImageId.NotFound")
        nvme = p.str("Features.NvmeSupport", choices=["supported", "unsupported"])
        boot_mode = p.str("BootMode", choices=["BIOS", "UEFI", "UEFI-Preferred"])
        status = p.str("Status", choices=["Deprecated", "Available"])
        if p.bool("DryRun"):
            raise error("DryRunOperation")
        image.name = p.str("ImageName", default=image.name)
        image.description = p.str("Description", default=image.description)
        image.family = p.str("ImageFamily", default=image.family)
        image.nvme_support = nvme or image.nvme_support
        image.boot_mode = boot_mode or image.boot_mode
        if status is not None:
            image.deprecated = status == "Deprecated"
        return {}

    @api
    def DeleteImage(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        image = self.image(p.str("ImageId", required=True))
        if image.owner != "self":
            raise error("IncorrectImageStatus", "Only custom images can be deleted.")
        if p.bool("DryRun"):
            raise error("DryRunOperation")
        del self.images[image.id]
        return {}
