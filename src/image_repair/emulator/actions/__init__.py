"""ECS actions, one method per action, grouped by resource family. A method named exactly like
the action and marked ``@api`` is what the dispatcher finds by name."""
from typing import Callable, List, Optional, Tuple

from ..errors import invalid
from ..params import Params


def api(method: Callable) -> Callable:
    method.is_ecs_action = True
    return method


def paginate(items: List, params: Params, default_size: int = 10, max_size: int = 100,
             next_token: bool = False) -> Tuple[List, dict]:
    """PageNumber/PageSize pagination (and NextToken/MaxResults where the API has it).
    Returns the page and the envelope fields: TotalCount, PageNumber, PageSize[, NextToken]."""
    token = params.str("NextToken") if next_token else None
    if next_token and (token is not None or params.str("MaxResults") is not None):
        size = params.int("MaxResults", default=default_size, low=1, high=max_size)
        try:
            start = int(token) if token else 0
        except ValueError:
            raise invalid("NextToken")
        page = items[start:start + size]
        envelope = {"TotalCount": len(items), "NextToken": str(start + size) if start + size < len(items) else ""}
        return page, envelope
    number = params.int("PageNumber", default=1, low=1, high=10 ** 9)
    size = params.int("PageSize", default=default_size, low=1, high=max_size)
    start = (number - 1) * size
    envelope = {"TotalCount": len(items), "PageNumber": number, "PageSize": size}
    if next_token:
        envelope["NextToken"] = ""
    return items[start:start + size], envelope


def tag_filter(tags: dict, wanted: List[Tuple[str, str]]) -> bool:
    """Tag.N filters: every given key must match (an empty value matches any value)."""
    return all(key in tags and (not value or tags[key] == value) for key, value in wanted)


def id_filter(resource_id: str, wanted: Optional[List[str]]) -> bool:
    return wanted is None or resource_id in wanted
