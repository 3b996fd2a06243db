"""TagResources and ListTagResources over instances, disks, snapshots and images."""
from ..errors import error
from ..params import Params
from . import api, paginate

RESOURCE_TYPES = {"instance": "instances", "disk": "disks", "snapshot": "snapshots", "image": "images"}


class TagActions:

    def _tag_store(self, p: Params) -> dict:
        kind = p.str("ResourceType", required=True)
        if kind not in RESOURCE_TYPES:
            raise error("InvalidResourceType.NotFound")
        return getattr(self, RESOURCE_TYPES[kind])

    @api
    def TagResources(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        store = self._tag_store(p)
        ids = p.list("ResourceId", required=True, limit=50)
        tags = p.tags()
        if not tags:
            raise error("MissingParameter", "Tag.N")
        for resource_id in ids:
            if resource_id not in store:
                raise error("InvalidResourceId.NotFound")
        for resource_id in ids:
            merged = dict(store[resource_id].tags, **dict(tags))
            if len(merged) > 20:
                raise error("InvalidTagCount")
        for resource_id in ids:
            store[resource_id].tags.update(dict(tags))
        return {}

    @api
    def ListTagResources(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        kind = p.str("ResourceType", required=True)
        store = self._tag_store(p)
        ids = p.list("ResourceId", limit=50)
        wanted = p.tags()
        rows = []
        for resource_id, res in store.items():
            if ids and resource_id not in ids:
                continue
            if wanted and not all(k in res.tags and (not v or res.tags[k] == v) for k, v in wanted):
                continue
            rows.extend({"ResourceId": resource_id, "ResourceType": kind, "TagKey": k, "TagValue": v}
                        for k, v in res.tags.items())
        page, envelope = paginate(rows, p, default_size=50, max_size=50, next_token=True)
        return {"NextToken": envelope.get("NextToken", ""), "TagResources": {"TagResource": page}}
