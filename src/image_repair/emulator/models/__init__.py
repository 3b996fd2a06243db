"""The emulated ECS region's typed operations (moto's models): one mixin per resource family,
composed into ``EcsBackend``. Python values in, resource objects (resources.py) out, the API's
own rules raised as ``ApiError`` with their real codes; nothing here knows the wire format (the
wire functions in actions/ parse parameters and render shapes around these methods).

Tests and the disk-backed mode call them directly::

    [instance] = backend.run_instances(image_id=..., instance_type="ecs.g7.large",
                                       vswitch_id=..., security_group_ids=[...])

Each public method is an ``@operation``: it holds the backend's lock and, when it is the
outermost operation, first brings every status up to the clock (``settle``), as a call on the
wire does."""
import functools
from typing import Callable, Dict, Iterable, List, Optional, Tuple, TypeVar

from ..errors import error

F = TypeVar("F", bound=Callable)
T = TypeVar("T")


def operation(method: F) -> F:
    """A typed backend method: run under the backend's lock, on a settled state."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with self.operation():
            return method(self, *args, **kwargs)
    return run  # type: ignore[return-value]


def lookup(store: Dict[str, T], key: str, code: str) -> T:
    """``store[key]``, or the API's not-found error ``code``."""
    found = store.get(key)
    if found is None:
        raise error(code)
    return found


def check_tags(tags: Iterable[Tuple[str, str]]) -> List[Tuple[str, str]]:
    """The API's tag rules (RunInstances, CreateImage, TagResources...): at most 20 tags, keys
    neither ``aliyun*`` nor ``acs:`` nor over 128 characters. Returns the pairs."""
    pairs = list(tags)
    for key, _ in pairs:
        if key.startswith("aliyun") or key.startswith("acs:") or len(key) > 128:
            raise error("InvalidTagKey.Malformed", "Key %r." % key)
    if len(pairs) > 20:
        raise error("InvalidTagCount")
    return pairs


def tag_dict(tags: Optional[Dict[str, str]]) -> Dict[str, str]:
    """Tags a resource is created with, checked against the API's rules."""
    return dict(check_tags((tags or {}).items()))


def tag_filter(tags: Dict[str, str], wanted: Iterable[Tuple[str, str]]) -> bool:
    """Tag.N filters: every given key must match (an empty value matches any value)."""
    return all(key in tags and (not value or tags[key] == value) for key, value in wanted)


def id_filter(resource_id: str, wanted: Optional[Iterable[str]]) -> bool:
    return wanted is None or resource_id in wanted
