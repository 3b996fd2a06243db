"""Account-wide ECS listings for the sweep and the janitor.

Over the same ``clients.ecs.EcsPort`` plumbing (its ``_call``: the real SDK, retries off, errors
classified), the calls that look at many resources at once:

* ``own_linux_image_pages``: DescribeImages of the account's own Linux images, Available, 100 a
  page. DescribeImages pages by PageNumber/PageSize only (the SDK's DescribeImagesRequest has no
  NextToken/MaxResults) and PageSize is at most 100: N images cost ceil(N / 100) calls, the minimum.
* ``tagged_resources``: instances, disks, snapshots and images carrying a tag key (any value),
  with their creation time and status, by the Describe* calls' own ``Tag.N.Key`` filter (one pass
  per resource type, 100 a page) instead of ListTagResources plus one Describe per resource.
"""
from typing import Dict, Iterator, List

from ..clients.ecs import sdk_models

PAGE_SIZE = 100            # DescribeImages/Instances/Disks/Snapshots: PageSize 1-100


def own_linux_image_pages(ecs, page_size: int = PAGE_SIZE) -> Iterator[List[dict]]:
    """Yield the account's Available Linux custom images a page at a time (API shapes).

    The last page is known from TotalCount, so no extra call confirms an empty page. Pages are by
    number: an image created or deleted during the listing may shift one across a page boundary
    (seen twice, or missed until the next sweep); the sweep is idempotent, so that is harmless."""
    m = sdk_models()
    number = 1
    while True:
        body = ecs._call("DescribeImages", m.DescribeImagesRequest(
            region_id=ecs.region, image_owner_alias="self", ostype="linux", status="Available",
            page_size=page_size, page_number=number))
        page = body.get("Images", {}).get("Image", [])
        if page:
            yield page
        total = int(body.get("TotalCount") or 0)
        if not page or number * page_size >= total:
            return
        number += 1


# resource type -> (action, request model, tag model, response list path, id field)
_DESCRIBE = {
    "instance": ("DescribeInstances", "DescribeInstancesRequest", "DescribeInstancesRequestTag",
                 ("Instances", "Instance"), "InstanceId"),
    "disk": ("DescribeDisks", "DescribeDisksRequest", "DescribeDisksRequestTag", ("Disks", "Disk"), "DiskId"),
    "snapshot": ("DescribeSnapshots", "DescribeSnapshotsRequest", "DescribeSnapshotsRequestTag",
                 ("Snapshots", "Snapshot"), "SnapshotId"),
    "image": ("DescribeImages", "DescribeImagesRequest", "DescribeImagesRequestTag", ("Images", "Image"), "ImageId"),
}


def tagged_resources(ecs, key: str, kinds=("instance", "disk", "snapshot", "image")) -> Dict[str, List[dict]]:
    """{resource type: [API shapes]} of every live resource carrying tag ``key`` (any value)."""
    m = sdk_models()
    found: Dict[str, List[dict]] = {}
    for kind in kinds:
        action, request_name, tag_name, (outer, inner), _ = _DESCRIBE[kind]
        extra = {}
        if kind == "image":
            # every status (a failed execution's image may be Creating or CreateFailed), own images only
            extra = {"image_owner_alias": "self", "show_expired": True,
                     "status": "Creating,Waiting,Available,UnAvailable,CreateFailed,Deprecated"}
        rows, number = [], 1
        while True:
            request = getattr(m, request_name)(region_id=ecs.region, page_size=PAGE_SIZE, page_number=number,
                                               tag=[getattr(m, tag_name)(key=key)], **extra)
            body = ecs._call(action, request)
            page = body.get(outer, {}).get(inner, [])
            rows.extend(page)
            if not page or number * PAGE_SIZE >= int(body.get("TotalCount") or 0):
                break
            number += 1
        found[kind] = rows
    return found


def tags_of(resource: dict) -> Dict[str, str]:
    """The ``Tags.Tag[]`` of a Describe* shape as a dict."""
    return {t.get("TagKey"): t.get("TagValue", "") for t in (resource.get("Tags") or {}).get("Tag", [])
            if t.get("TagKey")}


def resource_id(kind: str, resource: dict) -> str:
    return resource[_DESCRIBE[kind][4]]

