"""The ECS API on the wire (moto's responses): one method per action, named exactly like the
action and marked ``@api``, grouped by resource family; ``dispatch.EcsResponses`` composes them
and finds an action's method by its name.

A wire method reads the call's ``Params`` (presence, types, enumerations: MissingParameter and
InvalidParameter), calls one typed backend method (models/), and renders the documented response
shape. The API's own rules (NotFound, statuses, limits, mismatches, DryRun) are the typed
method's, so a test calling it directly meets the same errors (docs/emulator.md)."""
from typing import Callable, List, Tuple

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
