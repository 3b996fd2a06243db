"""DescribeImages (with DetectionOptions), CreateImage, ModifyImageAttribute, DeleteImage on the
wire (typed methods: models/images.py)."""
from typing import List, Optional

from ...agent.items.checknames import spelt
from ..errors import invalid
from ..models.images import MappingRequest
from ..params import Params, object_int
from ..resources import Image, iso, tag_shape
from . import api, paginate


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


class ImageResponses:

    @api
    def DescribeImages(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        ids = [i for i in (p.str("ImageId") or "").split(",") if i]
        status = p.str("Status")
        owner = p.str("ImageOwnerAlias", choices=["system", "self", "others", "marketplace"])
        os_type = p.str("OSType", choices=["linux", "windows"])
        dry_run = p.bool("DryRun")
        # A listing's first page filters every image once; its next pages reuse those matches;
        # each call shapes only its own page.
        images = None if dry_run else self._continued_listing(p)
        if images is None:
            images = self.backend.describe_images(
                image_ids=ids, statuses=set(status.split(",")) if status else None, owner=owner,
                name=p.str("ImageName"), architecture=p.str("Architecture"), snapshot_id=p.str("SnapshotId"),
                os_type=os_type, tags=p.tags(), dry_run=dry_run)
            self._remember_listing(p, images)
        page, envelope = paginate(images, p, default_size=10, max_size=100)
        now = self.backend.clock.now()
        spelling = self.backend.check_item_spelling
        return dict(envelope, RegionId=self.backend.region,
                    Images={"Image": [image_shape(image, now, spelling) for image in page]})

    # --- paging memory -----------------------------------------------------------------------------
    @staticmethod
    def _listing_key(p: Params) -> tuple:
        return tuple(sorted((k, v) for k, v in p.flat.items() if k not in ("PageNumber", "PageSize")))

    def _remember_listing(self, p: Params, images: List[Image]) -> None:
        """Keep the matches for the next page of the same query, when nothing can change them on
        its own (no image or image check with a step ahead on the clock)."""
        backend = self.backend
        settled = not any(i.progress.steps or i.check.steps for i in backend.images.values())
        self.listing = ((self._listing_key(p), p.int("PageNumber", default=1),
                         backend.calls[-1] if backend.calls else None, len(backend.images), images)
                        if settled else None)

    def _continued_listing(self, p: Params) -> Optional[List[Image]]:
        """The matches of the previous call when this one asks for its next page, with no other call
        in between: paging N images costs one pass over them, not one pass per page (a sweep over
        10,000 images). Anything else (another call, another query, images added) recomputes.
        A test that changes the backend's images directly between two pages sees the old matches."""
        calls = self.backend.calls
        if self.listing is None or len(calls) < 2:
            return None
        key, number, record, count, images = self.listing
        if (key != self._listing_key(p) or p.int("PageNumber", default=1) != number + 1
                or calls[-2] is not record or count != len(self.backend.images)):
            return None
        self.listing = (key, number + 1, calls[-1], count, images)
        return images

    @api
    def CreateImage(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        if p.str("InstanceId"):
            # Loud on purpose: the emulator does not snapshot a whole instance.
            raise invalid("InstanceId", "The emulator creates images from snapshots only.")
        mappings = [MappingRequest(snapshot_id=entry.get("SnapshotId") or None,
                                   size=object_int(entry, "Size", "DiskDeviceMapping.%d.Size" % index),
                                   disk_type=entry.get("DiskType") or None, device=entry.get("Device") or None)
                    for index, entry in enumerate(p.objects("DiskDeviceMapping"), start=1)]
        image = self.backend.create_image(
            snapshot_id=p.str("SnapshotId"), mappings=mappings, name=p.str("ImageName"),
            platform=p.str("Platform", default="Others Linux"), architecture=p.str("Architecture", default="x86_64"),
            detection_strategy=p.str("DetectionStrategy", choices=["Standard"]),
            boot_mode=p.str("BootMode", default="BIOS", choices=["BIOS", "UEFI", "UEFI-Preferred"]),
            nvme_support=p.str("Features.NvmeSupport", default="unsupported",
                               choices=["supported", "unsupported", "auto"]),
            description=p.str("Description", default=""), family=p.str("ImageFamily", default=""),
            tags=dict(p.tags()), dry_run=p.bool("DryRun"))
        return {"ImageId": image.id}

    @api
    def ModifyImageAttribute(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        status = p.str("Status", choices=["Deprecated", "Available"])
        self.backend.modify_image_attribute(
            p.str("ImageId", required=True), name=p.str("ImageName"), description=p.str("Description"),
            family=p.str("ImageFamily"),
            nvme_support=p.str("Features.NvmeSupport", choices=["supported", "unsupported"]),
            boot_mode=p.str("BootMode", choices=["BIOS", "UEFI", "UEFI-Preferred"]),
            deprecated=None if status is None else status == "Deprecated", dry_run=p.bool("DryRun"))
        return {}

    @api
    def DeleteImage(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        self.backend.delete_image(p.str("ImageId", required=True), dry_run=p.bool("DryRun"))
        return {}

