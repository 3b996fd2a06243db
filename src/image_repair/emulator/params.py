"""Typed reading of an action's flat wire parameters (``Tag.1.Key``, ``InstanceId.2``,
JSON arrays such as ``InstanceIds='["i-1"]'``, Base64), with the API's MissingParameter and
InvalidParameter errors."""
import base64
import json
import re
from typing import Dict, List, Optional, Tuple

from .errors import invalid, missing

_INDEXED = re.compile(r"^([A-Za-z0-9]+)\.(\d+)(?:\.(.+))?$")


class Params:
    """The business parameters of one call (common wire parameters already removed)."""

    def __init__(self, flat: Dict[str, str]):
        self.flat = dict(flat)

    def fingerprint(self) -> Tuple[Tuple[str, str], ...]:
        """What a ClientToken is bound to: every parameter but the token itself."""
        return tuple(sorted((k, v) for k, v in self.flat.items() if k != "ClientToken"))

    def str(self, name: str, required: bool = False, default: Optional[str] = None,
            choices: Optional[List[str]] = None) -> Optional[str]:
        value = self.flat.get(name)
        if value is None or value == "":
            if required:
                raise missing(name)
            return default
        if choices is not None and value not in choices:
            raise invalid(name, "Valid values: %s." % ", ".join(choices))
        return value

    def int(self, name: str, required: bool = False, default: Optional[int] = None,
            low: Optional[int] = None, high: Optional[int] = None) -> Optional[int]:
        raw = self.str(name, required)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise invalid(name, "It must be an integer.")
        if (low is not None and value < low) or (high is not None and value > high):
            raise invalid(name, "It must be between %s and %s." % (low, high))
        return value

    def bool(self, name: str, default: bool = False) -> bool:
        raw = self.str(name)
        if raw is None:
            return default
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise invalid(name, "It must be true or false.")

    def indexed(self, name: str) -> Dict[int, Dict[str, str]]:
        """``Name.N`` -> {N: {"": value}}; ``Name.N.Field`` -> {N: {"Field": value}}."""
        out: Dict[int, Dict[str, str]] = {}
        for key, value in self.flat.items():
            match = _INDEXED.match(key)
            if match and match.group(1) == name:
                out.setdefault(int(match.group(2)), {})[match.group(3) or ""] = value
        return dict(sorted(out.items()))

    def list(self, name: str, required: bool = False, limit: Optional[int] = None) -> List[str]:
        """A repeat list ``Name.1``, ``Name.2``...; a plain ``Name`` is a one-item list."""
        values = [entry[""] for entry in self.indexed(name).values() if entry.get("")]
        if not values and self.flat.get(name):
            values = [self.flat[name]]
        if required and not values:
            raise missing(name + ".N" if name not in self.flat else name)
        if limit is not None and len(values) > limit:
            raise invalid(name, "At most %d values." % limit)
        return values

    def objects(self, name: str) -> List[Dict[str, str]]:
        """Repeat-list objects ``Name.N.Field`` (also ``Name.N.Sub.Field``), in index order."""
        return [fields for fields in self.indexed(name).values()]

    def _json(self, name: str, what: str):
        """The parameter decoded from JSON (None when absent); ``what`` names the expected kind."""
        raw = self.str(name)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise invalid(name, "It must be a JSON %s." % what)

    def json_list(self, name: str) -> Optional[List[str]]:
        """A JSON array parameter (``InstanceIds='["i-1","i-2"]'``)."""
        value = self._json(name, "array")
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            raise invalid(name, "It must be a JSON array of strings.")
        return value

    def json_object(self, name: str) -> Optional[dict]:
        value = self._json(name, "object")
        if value is not None and not isinstance(value, dict):
            raise invalid(name, "It must be a JSON object.")
        return value

    def base64(self, name: str, required: bool = False) -> Optional[bytes]:
        """A Base64 parameter's bytes (InvalidParameter when it is not valid Base64)."""
        raw = self.str(name, required)
        if raw is None:
            return None
        try:
            return base64.b64decode(raw, validate=True)
        except ValueError:
            raise invalid(name, "It is not valid Base64.")

    def tags(self, name: str = "Tag") -> List[Tuple[str, str]]:
        """``Tag.N.Key``/``Tag.N.Value`` pairs, in index order (entries without a key skipped).
        The API's tag rules are the typed methods' (models.check_tags)."""
        return [(entry["Key"], entry.get("Value", "")) for entry in self.objects(name) if entry.get("Key")]


def object_int(entry: Dict[str, str], field: str, name: str) -> Optional[int]:
    """An integer field of one ``Params.objects`` entry (None when absent or empty); ``name``
    is the wire name reported when it is not an integer (``DataDisk.2.Size``)."""
    if not entry.get(field):
        return None
    try:
        return int(entry[field])
    except ValueError:
        raise invalid(name, "It must be an integer.")
