"""Values from outside (command-line arguments, function bodies), read with bounds.

* ``shorten(value)``: how every error message quotes a bad value: a short, one-line, printable
  prefix, so a 5 MB id makes a one-line message of a hundred characters, not a 5 MB one.
* ``load_json(data, what, ...)``: JSON text or bytes, refused with one clear line when it is too
  large, not UTF-8, nested too deep (checked before parsing, so ``json`` never recurses out of
  stack) or not JSON at all. ``load_json_object`` also wants an object.

Standard library only: Function Compute handlers import this on their cold start.
"""
import json
from typing import Any, Union

SHORT = 60                      # characters of a bad value an error message quotes
MAX_JSON_BYTES = 64 * 1024      # a start request is well under 2 KB; a --params object likewise
MAX_JSON_DEPTH = 16             # the deepest legitimate request: {"policy": {"items": [...]}} is 3


def shorten(value: Any, limit: int = SHORT) -> str:
    """``repr`` of the first ``limit`` characters of ``value`` (newlines and control characters
    escaped, so it stays one line), with ``...`` and the full length when it was cut."""
    text = value if isinstance(value, str) else (
        value.decode("utf-8", "backslashreplace") if isinstance(value, (bytes, bytearray)) else str(value))
    if len(text) <= limit:
        return repr(text)
    return "%r... (%d characters)" % (text[:limit], len(text))


def json_depth(text: str, stop_above: int) -> int:
    """The deepest nesting of ``[``/``{`` outside strings (stops counting past ``stop_above``)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop_above:
                    return deepest
        elif char in "]}":
            depth -= 1
    return deepest


def load_json(data: Union[str, bytes, bytearray], what: str, max_bytes: int = MAX_JSON_BYTES,
              max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON from outside; ValueError with one line naming ``what`` on any problem."""
    if isinstance(data, (bytes, bytearray)):
        if len(data) > max_bytes:
            raise ValueError("%s is %d bytes, more than the %d allowed" % (what, len(data), max_bytes))
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError("%s is not UTF-8 text (byte 0x%02x at offset %d)"
                             % (what, data[error.start], error.start))
    else:
        text = data
        if len(text) > max_bytes:   # characters: at least as many bytes
            raise ValueError("%s is %d characters, more than the %d allowed" % (what, len(text), max_bytes))
    if json_depth(text, max_depth) > max_depth:
        raise ValueError("%s is nested deeper than %d levels" % (what, max_depth))
    try:
        return json.loads(text)
    except ValueError as error:     # JSONDecodeError: its message names a position, never the text
        raise ValueError("%s is not JSON: %s" % (what, error))


def load_json_object(data: Union[str, bytes, bytearray], what: str, max_bytes: int = MAX_JSON_BYTES,
                     max_depth: int = MAX_JSON_DEPTH) -> dict:
    value = load_json(data, what, max_bytes, max_depth)
    if not isinstance(value, dict):
        raise ValueError("%s must be a JSON object, not %s" % (what, json_type(value)))
    return value


def json_type(value: Any) -> str:
    for kind, name in ((dict, "an object"), (list, "an array"), (str, "a string"), (bool, "a boolean"),
                       (int, "a number"), (float, "a number")):
        if isinstance(value, kind):
            return name
    return "null"
