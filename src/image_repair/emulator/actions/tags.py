"""TagResources and ListTagResources on the wire (typed methods: models/tags.py)."""
from ..errors import missing
from ..params import Params
from . import api, paginate


class TagResponses:

    @api
    def TagResources(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        resource_type = p.str("ResourceType", required=True)
        ids = p.list("ResourceId", required=True, limit=50)
        tags = p.tags()
        if not tags:
            raise missing("Tag.N")
        self.backend.tag_resources(resource_type, ids, dict(tags))
        return {}

    @api
    def ListTagResources(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        resource_type = p.str("ResourceType", required=True)
        rows = self.backend.list_tag_resources(resource_type, p.list("ResourceId", limit=50), p.tags())
        page, envelope = paginate([{"ResourceId": resource_id, "ResourceType": resource_type, "TagKey": key,
                                    "TagValue": value} for resource_id, key, value in rows],
                                  p, default_size=50, max_size=50, next_token=True)
        return {"NextToken": envelope.get("NextToken", ""), "TagResources": {"TagResource": page}}
