"""Tags on instances, disks, snapshots and images: TagResources and ListTagResources."""
from typing import Dict, Iterable, List, Sequence, Tuple

from ..errors import error
from . import check_tags, operation, tag_filter

RESOURCE_TYPES = {"instance": "instances", "disk": "disks", "snapshot": "snapshots", "image": "images"}


class TagBackend:

    def _tag_store(self, resource_type: str) -> dict:
        if resource_type not in RESOURCE_TYPES:
            raise error("InvalidResourceType.NotFound")
        return getattr(self, RESOURCE_TYPES[resource_type])

    @operation
    def tag_resources(self, resource_type: str, resource_ids: Sequence[str], tags: Dict[str, str]) -> None:
        """Add (or overwrite) tags on every resource, all or none: each must exist and keep at
        most 20 tags."""
        store = self._tag_store(resource_type)
        tags = dict(check_tags(tags.items()))
        for resource_id in resource_ids:
            if resource_id not in store:
                raise error("InvalidResourceId.NotFound")
        for resource_id in resource_ids:
            if len(dict(store[resource_id].tags, **tags)) > 20:
                raise error("InvalidTagCount")
        for resource_id in resource_ids:
            store[resource_id].tags.update(tags)

    @operation
    def list_tag_resources(self, resource_type: str, resource_ids: Sequence[str] = (),
                           tags: Iterable[Tuple[str, str]] = ()) -> List[Tuple[str, str, str]]:
        """(resource ID, tag key, tag value) of every tag of the resources asked for (all of the
        type when none) that carry every tag of ``tags`` (an empty value matches any)."""
        store = self._tag_store(resource_type)
        wanted = check_tags(tags)
        rows = []
        for resource_id, res in store.items():
            if resource_ids and resource_id not in resource_ids:
                continue
            if not tag_filter(res.tags, wanted):
                continue
            rows.extend((resource_id, k, v) for k, v in res.tags.items())
        return rows
