"""The flat row every backend stores, and its key: what base.py and pool_rows.py share."""
import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class StoredRow:
    """One row as the backends store it; ``status``, ``owner``, ``expires_at_ms`` and ``version``
    are columns because conditional writes test them; the record itself is JSON in ``data``."""
    pk: str
    kind: str
    key: str
    status: str
    owner: str
    expires_at_ms: int
    version: int
    data: str
    updated_at_ms: int


def record_key(kind: str, natural_key: str) -> str:
    """Row key: the kind prefix and a hash of the natural key (fixed length, any characters)."""
    digest = hashlib.sha256(natural_key.encode("utf-8")).hexdigest()[:40]
    return "%s#%s" % (kind, digest)
